"""Every page answers at its own URL in Chromium, the first page too (it is also the root URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, require_browser, stop, wait_for_title, \
    wait_until_serving

from dashboard.navigation import PAGE_FILES


@pytest.mark.browser
def test_the_first_page_opens_at_its_own_url_and_at_the_root_in_open_mode(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    csv = tmp_path / "posts.csv"
    csv.write_text("text,brand\ngreat app,Acme\nslow delivery,Globex\n")
    workspace = tmp_path / "w.duckdb"
    done = subprocess.run([sys.executable, "-m", "analytics.cli", "ingest", str(csv), "--workspace", str(workspace),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    port = free_port()
    log = tmp_path / "dashboard.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "analytics.cli", "dashboard", "--workspace", str(workspace),
                                   "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    first = Path(PAGE_FILES[0]).stem
    try:
        wait_until_serving(url, server, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            seen = {}
            for path in (first, "", "data"):
                page.goto(f"{url}/{path}", wait_until="domcontentloaded", timeout=120_000)
                seen[path] = (wait_for_title(page), page.locator('[role="dialog"]').count(),
                              page.url.split("?")[0].removeprefix(url))
            browser.close()
    finally:
        stop(server)
    assert seen[first] == ("Overview", 0, f"/{first}")  # no "Page not found" dialog, and the URL stays
    assert seen[""] == ("Overview", 0, "/")
    assert seen["data"] == ("Data", 0, "/data")
