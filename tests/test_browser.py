"""Browser run: Playwright drives Debian's Chromium through every page of a live ``streamlit run``.

Each page is opened by its URL path, left to finish running, checked for an exception or an
error box, and photographed into ``screenshots/<page>.png`` (gitignored). Skipped with the
reason when Chromium (``apt-get install chromium``) or the playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]

pytestmark = pytest.mark.browser


def _url_path(page_file: str) -> str:
    """The URL path ``st.navigation`` gives a file page (its file stem); the first page is the root."""
    return "" if page_file == ALL_PAGES[0] else Path(page_file).stem


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's Chromium with `apt-get install chromium`")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (test extras)")
    workspace = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_workspace, workspace)
    port = _free_port()
    env = {**os.environ, "BRANDLENS_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    log = (tmp_path_factory.mktemp("browser-log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not answer on {url} within 2 minutes; see {log.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _wait_until_settled(page) -> None:
    """Wait for the app to render and the script to finish: no 'Running...' status widget, no stale element."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=240_000)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=240_000)
    # the status widget shows while the script runs; require it absent twice, a moment apart
    deadline = time.monotonic() + 240
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-stale="true"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        page.wait_for_timeout(750)
    page.wait_for_timeout(1000)  # charts draw after the script ends


@pytest.mark.parametrize("page_file", ALL_PAGES)
def test_page_in_the_browser_has_no_error_box(browser, server: str, page_file: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    page = context.new_page()
    try:
        page.goto(f"{server}/{_url_path(page_file)}", wait_until="domcontentloaded", timeout=240_000)
        _wait_until_settled(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{Path(page_file).stem}.png"), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        title = page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text()
        assert title.strip()
    finally:
        context.close()


def test_explain_button_in_the_post_explorer_opens_a_rendered_explanation(browser, server: str) -> None:
    """One click from a post to its SHAP explanation, in the real browser."""
    context = browser.new_context(viewport={"width": 1440, "height": 2400})
    page = context.new_page()
    try:
        page.goto(f"{server}/{_url_path('post_explorer.py')}", wait_until="domcontentloaded", timeout=240_000)
        _wait_until_settled(page)
        page.get_by_role("button", name="Explain").first.click()
        page.wait_for_selector('[data-testid="stMainBlockContainer"] h1:has-text("Explanations")', timeout=240_000)
        page.wait_for_selector('text=model evaluations', timeout=240_000)  # the caption under the probabilities
        _wait_until_settled(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "explanations_post.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.locator('text=Towards negative').count() == 1
        assert page.locator('[data-testid="stMetric"]').count() == 3  # one probability per class
    finally:
        context.close()
