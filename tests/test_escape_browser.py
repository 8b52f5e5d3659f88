"""Escapes checked where they matter: the DOM Chromium renders from Streamlit markdown; and no traceback on a page.

A markdown string can look safe and still become a link: Streamlit's markdown finds GFM's
bare links (``www.…``, ``http://…``, addresses) after the escapes are read, and a browser
drops invisible characters from a host name. So the test renders every hostile value with
:func:`analytics.core.escape.markdown_text` in ``st.markdown``, ``st.caption``, a heading and
an alert box, and reads the rendered page: no ``<a>``, and the text shown is the value.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, require_browser, stop, wait_until_serving
from conftest import HOSTILE_BRANDS, HOSTILE_TEXTS

LINKY = ("www.evil.example", "WWW.Evil.Example/path?q=1", "see www.evil.example now", "http://evil.example",
         "https://evil.example/x", "ana@evil.example", "mailto:ana@evil.example", "xmpp:ana@evil.example",
         "www.evil.example.", "(www.evil.example)", "ftp://evil.example", "\u202eelpmaxe.live.www")
VALUES = (*LINKY, *HOSTILE_BRANDS, *HOSTILE_TEXTS)

_APP = """
import json, sys
import streamlit as st
sys.path.insert(0, {root!r})
from analytics.core.escape import markdown_text
values = json.loads({values!r})
for i, v in enumerate(values):
    st.markdown(f"**Brand:** {{markdown_text(v)}}")
    st.caption(f"Chosen as our brand: {{markdown_text(v)}}")
    st.info(f"Alert for {{markdown_text(v)}}")
st.markdown("DONE-RENDERING")
"""


@pytest.mark.browser
def test_no_link_appears_in_the_rendered_dom_for_any_hostile_value(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    app = tmp_path / "app.py"
    app.write_text(_APP.format(root=str(ROOT), values=json.dumps(VALUES)))
    port = free_port()
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                                   "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                                  stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector("text=DONE-RENDERING", timeout=120_000)
            main = page.locator('[data-testid="stMain"]')
            links = main.evaluate("m => [...m.querySelectorAll('a')].map(a => a.outerHTML)")
            shown = main.inner_text().replace("\u2060", "")
            browser.close()
    finally:
        stop(server)
    assert links == [], links
    lines = {line.strip() for line in shown.splitlines()}
    for value in VALUES:  # shown as the characters themselves (line breaks become spaces)
        flat = " ".join(value.replace("\r", " ").split("\n"))
        assert {f"Brand: {flat}", f"Chosen as our brand: {flat}", f"Alert for {flat}"} <= lines, value


@pytest.mark.browser
def test_an_unexpected_error_on_a_page_shows_no_traceback_or_server_path(tmp_path: Path) -> None:
    """``brandlens dashboard`` serves with ``client.showErrorDetails = none``: a bug shows a plain notice only."""
    require_browser()
    from playwright.sync_api import sync_playwright

    from analytics.cli.dashboard import streamlit_command

    app = tmp_path / "secret_server_path_app.py"
    app.write_text("import json\nimport streamlit as st\nst.title('Before')\n"
                   "json.loads('[' * 100000 + ']' * 100000)\n")
    port = free_port()
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        server = subprocess.Popen(streamlit_command(app, port=port, host="127.0.0.1"), stdout=out,
                                  stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector('[data-testid="stException"], [data-testid="stAlert"]', timeout=120_000)
            shown = page.locator('[data-testid="stMain"]').inner_text()
            browser.close()
    finally:
        stop(server)
    assert "Before" in shown
    for leak in ("Traceback", "RecursionError", "secret_server_path_app", str(tmp_path), "json.loads"):
        assert leak not in shown, (leak, shown)
