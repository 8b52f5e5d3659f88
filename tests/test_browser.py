"""Browser run: Playwright drives Debian's Chromium through every page of a live ``streamlit run``.

Each page is opened by its URL path, left to finish running, checked for an exception or an
error box, and photographed into ``screenshots/<page>.png`` (gitignored). Skipped with the
reason when Chromium (``apt-get install chromium``) or the playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SCREENSHOTS,
    free_port,
    require_browser,
    shown_value,
    stop,
    wait_until_serving,
    wait_until_settled,
)

from analytics.store.sharing import WorkspaceFile
from dashboard.navigation import PAGES

ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]

pytestmark = pytest.mark.browser


def _url_path(page_file: str) -> str:
    """The URL path ``st.navigation`` gives a file page (its file stem); the first page is the root."""
    return "" if page_file == ALL_PAGES[0] else Path(page_file).stem


@pytest.fixture(scope="module")
def server(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    require_browser()
    workspace = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_workspace, workspace)
    from analytics.brand.topics import build_topics

    build_topics(WorkspaceFile(workspace), sample=400)  # discovered topics (shipped encoder) for the Topics page: 4 + 4 on the demo
    port = free_port()
    env = {**os.environ, "BRANDLENS_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    log_path = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, proc, log_path, timeout=120)
            yield url
        finally:
            stop(proc)


@pytest.fixture(scope="module")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("page_file", ALL_PAGES)
def test_page_in_the_browser_has_no_error_box(browser, server: str, page_file: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    page = context.new_page()
    try:
        page.goto(f"{server}/{_url_path(page_file)}", wait_until="domcontentloaded", timeout=240_000)
        wait_until_settled(page)
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
        wait_until_settled(page)
        page.get_by_role("button", name="Explain").first.click()
        page.wait_for_selector('[data-testid="stMainBlockContainer"] h1:has-text("Explanations")', timeout=240_000)
        page.wait_for_selector('text=model evaluations', timeout=240_000)  # the caption under the probabilities
        wait_until_settled(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "explanations_post.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.locator('text=Towards negative').count() == 1
        assert page.locator('[data-testid="stMetric"]').count() == 3  # one probability per class
    finally:
        context.close()


def test_labelling_three_posts_in_the_browser(browser, server: str) -> None:
    """The labelling view in Chromium: three clicks, three different posts, the counts move."""
    context = browser.new_context(viewport={"width": 1440, "height": 1400})
    page = context.new_page()
    try:
        page.goto(f"{server}/{_url_path('labelling.py')}", wait_until="domcontentloaded", timeout=240_000)
        wait_until_settled(page)
        page.wait_for_selector('button:has-text("Not about the brand")', timeout=240_000)
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Labels from the queue")
        assert "0" in metric.inner_text()
        seen = []
        for name in ("Negative", "Positive", "Neutral"):
            text = page.locator('[data-testid="stText"]').first.inner_text()
            seen.append(text)
            page.get_by_role("button", name=name, exact=True).click()
            page.wait_for_function(
                "t => { const e = document.querySelector('[data-testid=\"stText\"]'); return e && e.innerText !== t; }",
                arg=text, timeout=120_000)
            wait_until_settled(page)
        assert len(set(seen)) == 3
        assert "3" in page.locator('[data-testid="stMetric"]').filter(has_text="Labels from the queue").inner_text()
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "labelling_after_three.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()


def test_topics_page_in_the_browser_shows_discovered_topics(browser, server: str) -> None:
    """Complaint topics discovered on the demo: readable names, when they were built, both kinds offered."""
    context = browser.new_context(viewport={"width": 1440, "height": 2600})
    page = context.new_page()
    try:
        page.goto(f"{server}/{_url_path('topics.py')}", wait_until="domcontentloaded", timeout=240_000)
        wait_until_settled(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "topics_discovered.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        picker = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"]').first
        assert "Complaints (negative posts)" in shown_value(picker)
        assert page.locator('[data-testid="stCaptionContainer"]').filter(has_text="predicts negative").count() == 1
        assert page.locator('[data-testid="stDataFrame"]').count() == 1
        assert page.locator(".js-plotly-plot").count() == 3
        picker.click()
        page.get_by_role("option", name="General (all posts)").click()
        wait_until_settled(page)
        page.screenshot(path=str(SCREENSHOTS / "topics_general.png"), full_page=True)
        assert "General (all posts)" in shown_value(picker)
        built = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Built ")
        assert built.count() == 1 and "predicts negative" not in built.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
