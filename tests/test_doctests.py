"""The examples in the library's docstrings run and give what they show (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import analytics


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(analytics.__path__, "analytics."):
        if info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and ">>> " in open(origin, encoding="utf-8").read():
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_library_has_examples() -> None:
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (run python -m doctest)"
