"""Installable: the wheel carries everything BrandLens needs at run time, and works outside the checkout.

``test_the_wheel_installed_outside_the_checkout_works`` (slow) builds the wheel from a copy
of the source, installs it with ``--no-deps`` into a fresh virtual environment in a
temporary folder, and runs the product from there with the current directory elsewhere:
``brandlens demo-data``, ``brandlens score --model default``, ``brandlens dashboard`` and,
in Chromium, two pages with no exception, no "Deploy" toolbar and no request to a host other
than 127.0.0.1. The fresh environment reaches this environment's third-party packages
through a ``.pth`` file that lists only their folder: lines of a ``.pth`` file are plain
``sys.path`` entries, so the editable install's finder (started by a ``.pth`` file *in*
that folder) stays inactive and the checkout stays invisible (asserted).

The other tests are fast: the package list in ``pyproject.toml`` against the source tree,
:mod:`analytics.resources` in this (editable) install, and the ``dashboard`` command's
errors and Streamlit options.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SCREENSHOTS,
    free_port,
    require_browser,
    stop,
    wait_until_serving,
    wait_until_settled,
)

from analytics import resources
from analytics.cli import main as brandlens
from analytics.cli.dashboard import streamlit_command
from dashboard.navigation import PAGES

SOURCE_ENTRIES = ("pyproject.toml", "README.md", "analytics", "dashboard", "pages", "data")
"""What a build reads: the fixed top-level layout (tests, benchmarks and scripts are not shipped)."""
PAGE_FILES = [name for pages in PAGES.values() for name, _, _ in pages]
SHIPPED_WEIGHTS = {"e5-sentiment": ("adapter_model.safetensors", "adapter_config.json"),  # the default: a LoRA delta
                   "minilm-sentiment": ("top_layers.safetensors",)}  # minilm-v1: its retrained top layers
REQUIRED_IN_WHEEL = (
    *(f"analytics/_data/models/{folder}/{name}"
      for folder, weights in SHIPPED_WEIGHTS.items()
      for name in (*weights, "head.safetensors", "classifier_config.json", "card.json", "MODEL_CARD.md")),
    "analytics/_data/models/vader/mapping.json",
    "analytics/_data/demo/vocabulary.json",
    f"analytics/_data/{resources.PAGE_ICON}",
    "dashboard/app.py",
    *(f"dashboard/app_pages/{name}" for name in PAGE_FILES),
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- fast checks


def test_every_source_package_is_in_the_package_list() -> None:
    """The list is explicit (mapped folders defeat `find`): a new subpackage must not drop out of the wheel.

    data/'s subfolders with importable names are listed as well, as setuptools asks
    (it warns at every build otherwise); their files are shipped either way.
    """
    setuptools = _pyproject()["tool"]["setuptools"]
    mapped = setuptools["package-dir"]
    assert mapped == {resources.DATA_PACKAGE: "data", resources.PAGES_PACKAGE: "pages"}
    in_source = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("analytics", "dashboard")
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    data_folders = {
        ".".join((resources.DATA_PACKAGE, *folder.relative_to(ROOT / "data").parts))
        for folder in (ROOT / "data").rglob("*")
        if folder.is_dir() and folder.name != "__pycache__"
        and all(part.isidentifier() for part in folder.relative_to(ROOT / "data").parts)
    }
    expected = in_source | set(mapped) | data_folders
    declared = set(setuptools["packages"])
    assert sorted(expected - declared) == [], "add these to [tool.setuptools] packages in pyproject.toml"
    assert sorted(declared - expected) == [], "remove these from [tool.setuptools] packages in pyproject.toml"


def test_resources_find_the_shipped_files_in_this_install() -> None:
    assert resources.data_path("models", "vader", "mapping.json").is_file()
    assert resources.data_path("demo", "vocabulary.json").is_file()
    for folder, weights in SHIPPED_WEIGHTS.items():  # the default and minilm-v1
        for name in weights:
            assert (resources.data_path("models", folder) / name).is_file()
    assert resources.page_icon_path().read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert resources.app_path() == ROOT / "dashboard" / "app.py"
    for name in PAGE_FILES:
        assert resources.page_path(name).is_file(), name
    assert resources.pages_dir() == resources.page_path("overview.py").parent
    # in the checkout, the editable install maps the packages back to the source folders
    assert resources.data_path() == ROOT / "data"
    assert resources.page_path("overview.py") == ROOT / "pages" / "overview.py"


def test_dashboard_with_a_workspace_in_a_missing_folder_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new workspace path is created (tests/test_first_day.py); one in a folder that does not exist is refused."""
    missing = tmp_path / "nowhere" / "mine.duckdb"
    assert brandlens(["dashboard", "--workspace", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("brandlens dashboard: error: cannot create workspace ") and "does not exist" in err
    assert not missing.parent.exists()


def test_dashboard_rejects_a_folder_and_a_bad_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert brandlens(["dashboard", "--workspace", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"brandlens dashboard: error: workspace {tmp_path} is not a file\n"
    with pytest.raises(SystemExit) as exc:
        brandlens(["dashboard", "--workspace", str(tmp_path), "--port", "70000"])
    assert exc.value.code == 2
    assert "must be a TCP port from 1 to 65535, got '70000'" in capsys.readouterr().err


def test_dashboard_on_a_busy_port_says_so_before_starting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "ws.duckdb"
    workspace.write_bytes(b"")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert brandlens(["dashboard", "--workspace", str(workspace), "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"brandlens dashboard: error: cannot listen on 127.0.0.1:{port}: Address already in use; pick another --port\n"
    )


def test_dashboard_serves_this_machine_only_with_the_viewer_toolbar() -> None:
    command = streamlit_command(Path("/x/app.py"), port=8600, host="127.0.0.1")
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", "/x/app.py"]
    options = dict(zip(command[5::2], command[6::2]))
    assert options == {
        "--server.headless": "true", "--server.port": "8600", "--server.address": "127.0.0.1",
        "--server.fileWatcherType": "none", "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "viewer", "--client.disableDataExport": "true", "--client.showErrorDetails": "none",
    }
    with_secrets = streamlit_command(Path("/x/app.py"), port=8600, host="127.0.0.1", secrets=Path("/etc/bl.toml"))
    assert dict(zip(with_secrets[5::2], with_secrets[6::2]))["--secrets.files"] == "/etc/bl.toml"


# ----------------------------------------------------------------------------- the wheel


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


def _build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the source tree (an in-tree build would leave build/ and stale files in it)."""
    source = tmp / "source"
    for name in SOURCE_ENTRIES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(src, source / name)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(wheels), str(source)], cwd=tmp, env=os.environ.copy())
    (wheel,) = wheels.glob("brandlens-*.whl")
    return wheel


def _fresh_venv(tmp: Path) -> Path:
    """A virtual environment that sees this one's third-party packages but not its editable BrandLens."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # this interpreter's site-packages folders (and any a .pth of theirs added), never the checkout
    ours = [p for p in dict.fromkeys(sys.path) if p and "site-packages" in Path(p).parts and Path(p).is_dir()]
    (Path(purelib) / "_brandlens_test_deps.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return python


def _outside_requests(requests: list[str]) -> list[str]:
    return [url for url in requests if urlparse(url).scheme in ("http", "https", "ws", "wss")
            and urlparse(url).hostname != "127.0.0.1"]


@pytest.mark.slow
def test_the_wheel_installed_outside_the_checkout_works(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED_IN_WHEEL if name not in names]
    assert missing == [], f"the wheel lacks {missing}"
    shipped = {f"analytics/_data/{p.relative_to(ROOT / 'data').as_posix()}" for p in (ROOT / "data").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped - names == set(), "every file of data/ is shipped"
    assert not [n for n in names if n.endswith(".pyc") or n.startswith(("tests/", "pages/", "data/"))]

    python = _fresh_venv(tmp_path)
    bin_dir = python.parent
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BRANDLENS_WORKSPACE", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    # --ignore-installed: pip sees this environment's editable brandlens through the .pth and must leave it alone
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(wheel)],
         cwd=run_dir, env=env)

    where = json.loads(_run([python, "-c", (
        "import json, sys, analytics, dashboard, analytics.resources as r; "
        "print(json.dumps({'analytics': analytics.__file__, 'dashboard': dashboard.__file__, "
        "'data': str(r.data_path()), 'app': str(r.app_path()), 'path': sys.path}))"
    )], cwd=run_dir, env=env).stdout)
    venv = python.parent.parent
    for key in ("analytics", "dashboard", "data", "app"):
        assert Path(where[key]).is_relative_to(venv), (key, where[key])
    assert not [p for p in where["path"] if p and Path(p).resolve() == ROOT], "the checkout is on sys.path"

    workspace = run_dir / "ws.duckdb"
    demo = json.loads(_run([bin_dir / "brandlens", "demo-data", "--workspace", str(workspace), "--posts", "300",
                            "--days", "30", "--json"], cwd=run_dir, env=env).stdout)
    assert demo["stored"] == 300
    scored = json.loads(_run([bin_dir / "brandlens", "score", "--workspace", str(workspace), "--model", "default",
                              "--json"], cwd=run_dir, env=env).stdout)
    assert (scored["model"], scored["scored"]) == ("default", 300)

    require_browser()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "dashboard.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([bin_dir / "brandlens", "dashboard", "--workspace", str(workspace), "--port", str(port)],
                                  cwd=run_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(url, server, log_path)
            requests: list[str] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                context.on("request", lambda request: requests.append(request.url))
                page = context.new_page()
                for path, title in (("", "Overview"), ("model_evaluation", "Model evaluation")):
                    page.goto(f"{url}/{path}", wait_until="domcontentloaded", timeout=120_000)
                    wait_until_settled(page)
                    exceptions = page.locator('[data-testid="stException"]')
                    assert exceptions.count() == 0, exceptions.first.inner_text()
                    assert page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text().strip() == title
                    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0  # --client.toolbarMode viewer
                    icons = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
                    assert icons and all(icon.startswith(("data:image/svg+xml", url)) for icon in icons), icons
                    SCREENSHOTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(SCREENSHOTS / f"wheel_{path or 'overview'}.png"))
                browser.close()
            assert requests and _outside_requests(requests) == []
            server.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert server.wait(timeout=30) == 0
        finally:
            stop(server)
    output = log_path.read_text()
    assert "Traceback" not in output, output[-3000:]
    assert re.search(rf"BrandLens dashboard on {re.escape(str(workspace))}: {re.escape(url)}", output)
