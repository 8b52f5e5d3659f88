# Two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_WORKSPACE ?= workspaces/demo.duckdb
PORT   ?= 8501

.PHONY: demo test wheel install install-test browser-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned in pyproject.toml; installing it first keeps pip on the small CPU wheel.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,ray]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Built under a temporary name and renamed at the end: an interrupted build is redone, not half-used.
$(DEMO_WORKSPACE): | $(VENV)/.installed
	mkdir -p $(dir $(DEMO_WORKSPACE))
	rm -f $@.tmp $@.tmp.wal
	$(BIN)/brandlens demo-data --workspace $@.tmp --seed 7
	HF_HUB_OFFLINE=1 $(BIN)/brandlens score --workspace $@.tmp --model default
	HF_HUB_OFFLINE=1 $(BIN)/brandlens score --workspace $@.tmp --model vader
	HF_HUB_OFFLINE=1 $(BIN)/brandlens topics --workspace $@.tmp
	mv $@.tmp $@

# Served by the installed package, as a user's `brandlens dashboard` is; on 127.0.0.1 only.
demo: $(VENV)/.installed $(DEMO_WORKSPACE)
	HF_HUB_OFFLINE=1 $(BIN)/brandlens dashboard --workspace $(DEMO_WORKSPACE) --port $(PORT)

# The installable wheel in dist/: code, pages, the default model, VADER's mapping, the demo vocabulary, the icon.
# build/ goes first: setuptools would pack files left there by an earlier build.
wheel: $(BIN)/python
	rm -rf build
	$(BIN)/pip wheel --quiet --no-deps -w dist .

# Two workers (the machines have 2 cores), a test file per worker so its fixtures are built once:
# 7.8-10.1 min for the whole suite on 2 cores (a third worker gained nothing). The longest files are
# sorted first (tests/conftest.py), and --no-loadscope-reorder keeps that order.
test: $(VENV)/.installed-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

clean:
	rm -rf $(VENV) workspaces build dist
