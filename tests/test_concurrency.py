"""The dashboard and CLI jobs share one workspace: neither fails, and pages follow the new data.

- AppTest: a page shows posts another process ingested on its next rerun (caches follow the
  workspace's data version, not a timer).
- Chromium: `brandlens dashboard` serves while `brandlens run` ingests and scores three files
  in another process; every page opened during and after the run renders without an error
  or a lock message, and the Data page's counts add up afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, free_port, require_browser, stop, wait_for_title, \
    wait_until_serving
from streamlit.testing.v1 import AppTest

from analytics import store
from analytics.ingest import ingest_file
from analytics.store.sharing import WorkspaceFile
from dashboard.navigation import PAGES, PAGES_DIR

ROOT = Path(__file__).resolve().parent.parent
ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
PER_FILE = 200  # posts per export: the job (three files ingested and scored) runs for several page loads


def _export(path: Path, brands: list[str], n: int, seed: int, start: dt.datetime) -> Path:
    import random

    rng = random.Random(seed)
    words = ["great", "slow", "love", "broken", "refund", "fast", "support", "app", "delivery", "price"]
    rows = [{"text": f"{' '.join(rng.choices(words, k=8))} file{seed} post{i}", "brand": rng.choice(brands),
             "created_at": (start + dt.timedelta(minutes=13 * i)).isoformat()} for i in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def _workspace_facts(path: Path) -> tuple[list[str], dt.datetime, int]:
    with store.open_workspace(path, read_only=True) as con:
        brands = [r[0] for r in con.execute("SELECT DISTINCT brand FROM posts WHERE brand IS NOT NULL ORDER BY 1").fetchall()]
        newest = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        n = con.execute("SELECT count(*) FROM posts").fetchall()[0][0]
    return brands, newest, n


def test_a_page_shows_posts_another_process_ingested_on_its_next_rerun(
    demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    brands, newest, before = _workspace_facts(path)
    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(path))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=180)
    at.session_state["workspace"] = str(path)
    at.run()
    at.switch_page(str(PAGES_DIR / "data.py")).run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Posts").value == f"{before:,}"
    csv = _export(tmp_path / "more.csv", brands, 120, seed=1, start=newest)
    # another process writes while the dashboard is up (no connection of the dashboard stays open)
    done = subprocess.run([sys.executable, "-m", "analytics.cli", "ingest", str(csv), "--workspace", str(path), "--json"],
                          capture_output=True, text=True, timeout=180, env=ENV)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout)["stored"]
    at.run()
    assert not at.exception and not at.error
    assert next(m for m in at.metric if m.label == "Posts").value == f"{before + stored:,}"


@pytest.mark.browser
def test_the_dashboard_renders_every_page_while_brandlens_run_ingests_and_scores(
    demo_workspace: Path, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    brands, newest, before = _workspace_facts(path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        _export(inbox / f"export-{i}.csv", brands, PER_FILE, seed=10 + i, start=newest + dt.timedelta(hours=i))

    port = free_port()
    log_path = tmp_path / "dashboard.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "analytics.cli", "dashboard", "--workspace", str(path),
                                   "--port", str(port)], env=ENV, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    job = None
    try:
        wait_until_serving(url, server, log_path, timeout=120)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 1600})
            page = context.new_page()

            def check(page_file: str) -> str:
                stem = "" if page_file == ALL_PAGES[0] else Path(page_file).stem
                page.goto(f"{url}/{stem}", wait_until="domcontentloaded", timeout=240_000)
                title = wait_for_title(page)
                body = page.locator('[data-testid="stMain"]').inner_text()
                assert page.locator('[data-testid="stException"]').count() == 0, f"{page_file}: {body[:2000]}"
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"{page_file}: {body[:2000]}"
                for word in ("IOException", "Could not set lock", "Traceback", "Conflicting lock"):
                    assert word not in body, f"{page_file} shows {word!r}"
                return title

            check(ALL_PAGES[0])  # warm: models and caches loaded before the job starts
            job = subprocess.Popen([sys.executable, "-m", "analytics.cli", "run", "--workspace", str(path),
                                    "--inbox", str(inbox), "--once", "--model", "default", "--json"],
                                   env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            during, i = [check(ALL_PAGES[1])], 2  # opened while the job runs (it has not even imported yet)
            while job.poll() is None:
                during.append(check(ALL_PAGES[i % len(ALL_PAGES)]))
                i += 1
            out, err = job.communicate(timeout=60)
            assert job.returncode == 0, err
            summary = json.loads(out)
            assert summary["stored"] == summary["scored"] == 3 * PER_FILE and not summary["errors"]
            for page_file in ("data.py", "overview.py", "alerts.py"):
                check(page_file)
            page.goto(f"{url}/data", wait_until="domcontentloaded")
            wait_for_title(page)
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "concurrency-data-after-run.png"), full_page=True)
            body = page.locator('[data-testid="stMain"]').inner_text()
            assert f"{before + 3 * PER_FILE:,}" in body  # the Posts metric: every row of the three files counted
            assert "Scheduled runs" in body and "No scheduled run yet" not in body  # the run is listed (a grid)
            browser.close()
    finally:
        if job is not None and job.poll() is None:
            stop(job)
        stop(server)
