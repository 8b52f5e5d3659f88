"""A new user's first day, in Chromium, on an export unlike the demo (issue 22).

``brandlens dashboard --workspace NEW.duckdb`` on a path that does not exist yet, then, as a
person clicks: upload a CSV of reviews (12 brands over three years with a gap, no labels),
check the mapping, ingest, score, read every page (no exception, no error box), label 30 random
posts through the queue, adapt, use the adapted model (the open session's sidebar switches at
once), and download both reports (the files arrive and parse). Screenshots go to
``screenshots/first_day_*.png`` (gitignored). Skipped with the reason without Chromium.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    free_port,
    require_browser,
    shown_value,
    stop,
    wait_until_serving,
    wait_until_settled,
)

from dashboard.navigation import PAGES

pytestmark = pytest.mark.browser

ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]
CLICKED_LABELS = 10
"""Random labels given by clicking in the queue; the rest of the issue's 60 are written as the page writes them."""
RANDOM_LABELS = 60

_SAYS = {
    "negative": ["It broke after two days and support never answered.", "Awful quality, a waste of money.",
                 "Terrible, it made everything worse and I returned it."],
    "neutral": ["It arrived on a Tuesday in a plain box.", "I bought it for my father last spring.",
                "The manual comes in three languages."],
    "positive": ["Excellent, it works perfectly and I love it.", "Great value, the best purchase this year.",
                 "Fantastic quality, I recommend it to everyone."],
}


def write_export(path: Path, *, n: int = 90, seed: int = 5) -> dict[str, str]:
    """A review export unlike the demo; returns each text's true sentiment (the user knows it when reading)."""
    rng = random.Random(seed)
    truth: dict[str, str] = {}
    start = dt.date(2021, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["review_id", "brand", "reviewed on", "review"])
        for i in range(n):
            label = ("negative", "neutral", "positive")[i % 3]
            text = f"Review {i}: " + " ".join(rng.sample(_SAYS[label], 2))
            day = start + dt.timedelta(days=rng.choice([rng.randint(0, 300), rng.randint(730, 1090)]))  # a gap
            out.writerow([f"r{i}", f"Product {i % 12:02d}", day.strftime("%d %B %Y"), text])
            truth[text] = label
    return truth


@pytest.fixture(scope="module")
def first_day(tmp_path_factory: pytest.TempPathFactory):
    """A dashboard served on a workspace path that does not exist yet, as a new user starts one."""
    require_browser()
    folder = tmp_path_factory.mktemp("first-day")
    workspace = folder / "mine.duckdb"
    export = folder / "reviews.csv"
    truth = write_export(export)
    port = free_port()
    log_path = folder / "dashboard.log"
    brandlens = Path(sys.executable).with_name("brandlens")
    if not brandlens.exists():
        pytest.skip(f"{brandlens} is absent: install the package (make install-test)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(brandlens), "dashboard", "--workspace", str(workspace), "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, proc, log_path, timeout=120)
            assert workspace.is_file()  # created for the new user
            yield url, export, truth, workspace
        finally:
            stop(proc)


def _label_more(workspace: Path, truth: dict[str, str], n: int) -> None:
    """``n`` more random queue labels, each the post's true sentiment, stored as the Labelling page stores them."""
    from analytics import store
    from analytics.brand.explorer import correct_label
    from analytics.labelling.queue import next_posts
    from analytics.store.sharing import WorkspaceFile

    target = WorkspaceFile(workspace)
    with target.reading() as con:
        batch = next_posts(con, "default", n=n, random_share=1.0, seed=1)
    with target.writing() as con, store.transaction(con):
        for row in batch.itertuples():
            correct_label(con, row.post_id, truth[row.text.strip()], origin="labelling", chosen_by="queue:random")


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"first_day_{name}.png"), full_page=True)


def _no_error(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception on {where}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"error box on {where}: {errors.first.inner_text()}"


def _open(page, url: str, page_file: str) -> None:
    path = "" if page_file == ALL_PAGES[0] else Path(page_file).stem
    page.goto(f"{url}/{path}", wait_until="domcontentloaded", timeout=240_000)
    wait_until_settled(page)


def test_a_new_users_first_day_in_the_browser(first_day, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, export, truth, workspace = first_day
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1600}, accept_downloads=True)
        page = context.new_page()
        try:
            # an empty workspace: the Overview points to the Data page
            _open(page, url, "overview.py")
            _no_error(page, "the empty Overview")
            assert page.get_by_text("upload an export on the Data page", exact=False).count()

            # upload, check the guessed mapping, ingest
            _open(page, url, "data.py")
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(export))
            page.get_by_role("button", name="Ingest").wait_for(timeout=120_000)
            wait_until_settled(page)
            _shot(page, "mapping")
            page.get_by_role("button", name="Ingest").click()
            page.get_by_text("90 stored", exact=False).wait_for(timeout=240_000)
            wait_until_settled(page)
            _no_error(page, "the Data page after ingest")
            assert page.get_by_text("Score them on the Models page").count()

            # score: progress, then the table and the sidebar know the predictions without a reload
            page.get_by_text("Score them on the Models page").click()
            wait_until_settled(page)
            page.get_by_role("button", name="Score the workspace").click()
            page.get_by_text("scored 90 posts", exact=False).wait_for(timeout=300_000)
            wait_until_settled(page)
            _no_error(page, "the Models page after scoring")
            assert page.locator('[data-testid="stSidebar"]').get_by_text("No predictions yet").count() == 0
            _shot(page, "scored")

            # every page reads without an exception or an error box
            for page_file in ALL_PAGES:
                _open(page, url, page_file)
                _no_error(page, page_file)
                _shot(page, Path(page_file).stem)

            # 10 random labels through the queue, each judged by reading the post
            _open(page, url, "labelling.py")
            for _ in range(CLICKED_LABELS):
                text = page.locator('[data-testid="stText"]').first.inner_text()
                label = truth[text.strip()]
                page.get_by_role("button", name=label.capitalize(), exact=True).click()
                page.wait_for_function(
                    "t => { const e = document.querySelector('[data-testid=\"stText\"]');"
                    " return !e || e.innerText !== t; }", arg=text, timeout=120_000)
                wait_until_settled(page)
            metric = page.locator('[data-testid="stMetric"]').filter(has_text="Random (measure the model)")
            assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == str(CLICKED_LABELS)
            _no_error(page, "the Labelling page after 10 labels")
            _shot(page, "labelled")
            # the team labels 50 more the same way (60 in all, as in the issue), here written as the queue
            # page writes them, to keep the suite short: the clicks above already showed the page at work
            _label_more(workspace, truth, RANDOM_LABELS - CLICKED_LABELS)

            # adapt on these few labels: an honest card, then use it; the open session switches
            _open(page, url, "models.py")
            page.get_by_role("button", name="Adapt to this workspace").click()
            page.get_by_role("button", name="Use for this workspace and score with it").wait_for(timeout=480_000)
            wait_until_settled(page)
            _no_error(page, "the Models page after adapting")
            card = page.locator('[data-testid="stExpander"]').filter(has_text="adapted-").first
            assert "not clearly better" in card.inner_text() or "recommended" in card.inner_text()
            _shot(page, "adapted")
            page.get_by_role("button", name="Use for this workspace and score with it").click()
            page.get_by_text("scored 90 posts", exact=False).wait_for(timeout=300_000)
            wait_until_settled(page)
            model_box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Model")
            assert "adapted-" in shown_value(model_box), shown_value(model_box)
            assert "model=adapted-" in page.url  # and a reload keeps it (the address carries the filters)
            page.reload(wait_until="domcontentloaded")
            wait_until_settled(page)
            assert "adapted-" in shown_value(
                page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Model"))

            # both reports for the page's filters: prepared, downloaded, and they parse
            _open(page, url, "overview.py")
            _no_error(page, "the Overview")
            for fmt in ("HTML", "PDF"):
                page.get_by_role("button", name=f"Prepare {fmt} report").click()
                button = page.get_by_role("button", name=f"Download {fmt} report")
                button.wait_for(timeout=300_000)
                with page.expect_download(timeout=120_000) as info:
                    button.click()
                saved = tmp_path / f"report.{fmt.lower()}"
                info.value.save_as(saved)
                data = saved.read_bytes()
                if fmt == "HTML":
                    assert b"<html" in data and b"Headline figures" in data
                else:
                    from pypdf import PdfReader

                    pdf = PdfReader(saved)
                    assert len(pdf.pages) >= 3 and "Net sentiment" in pdf.pages[0].extract_text()
                wait_until_settled(page)
            _shot(page, "overview_reports")
            _no_error(page, "the Overview after the reports")
        finally:
            context.close()
            browser.close()


def test_quick_successive_picks_are_kept_and_a_reload_keeps_the_filters(first_day) -> None:
    """Two competitors removed one right after the other (no wait for the rerun between the clicks) both
    stay removed, and a reload opens on the same choice (the address carries the filters)."""
    from playwright.sync_api import expect, sync_playwright

    url = first_day[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1200}).new_page()
        try:
            _open(page, url, "brand_monitor.py")
            chips = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] [data-tag]')
            # the five largest competitors by default; under load the sidebar's chips were seen to draw after
            # the page had settled once, so wait for them (the state) rather than read at once
            expect(chips).to_have_count(5, timeout=60_000)
            wait_until_settled(page)
            before = [chips.nth(i).get_attribute("aria-label") for i in range(chips.count())]
            for name in before[1:3]:
                chips.filter(has=page.locator(f'[title="{name}"]')).locator("button").click()
            wait_until_settled(page)
            after = [chips.nth(i).get_attribute("aria-label") for i in range(chips.count())]
            assert after == [before[0], *before[3:]]
            page.reload(wait_until="domcontentloaded")
            wait_until_settled(page)
            assert [chips.nth(i).get_attribute("aria-label") for i in range(chips.count())] == after
            _no_error(page, "the Brand monitor after a reload")
        finally:
            browser.close()
