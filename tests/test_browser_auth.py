"""Sign-in, roles and user data in Chromium, against a real OpenID provider started here.

``brandlens dashboard --secrets FILE`` serves a workspace whose brand names, aspects and texts
are links, markdown, HTML and formulas (``hostile_workspace``); ``oidc-provider-mock`` on
127.0.0.1 signs in one address per role. Checked: a signed-out visitor sees the sign-in page
and nothing of the workspace on every page; each role's menu lists exactly its pages and a
direct link to another page is refused without its data; someone without a role is asked to
ask an admin; sign-out; as admin, no page has a live link from the data nor opens a dialog;
the post explorer's CSV download is formula-safe; nothing is fetched from another host.
Screenshots: ``screenshots/auth_*.png``.
"""

from __future__ import annotations

import csv
import re
import io
import os
import shutil
import subprocess
import sys
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
    sign_in,
    start_oidc_provider,
    stop,
    wait_for_charts,
    wait_for_title,
    wait_until_serving,
    wait_until_settled,
)
from conftest import HOSTILE_BRANDS

from analytics.core.escape import FORMULA_STARTS
from dashboard.navigation import PAGE_FILES, PAGES

pytestmark = pytest.mark.browser

TITLES = {name: title for pages in PAGES.values() for name, title, _ in pages}
USERS = {"executive": "exec@example.com", "marketing": "mkt@example.com", "ml_lead": "ml@example.com",
         "admin": "admin@example.com"}
NO_ROLE = "nobody@example.com"
EXPECTED_MENU = {
    "executive": [],  # one page: Streamlit draws no menu
    "marketing": ["Overview", "Brand monitor", "Topics", "Alerts", "Post explorer", "Labelling"],
    "ml_lead": ["Overview", "Model evaluation", "Fairness", "Explanations", "Models"],
    "admin": [TITLES[name] for name in PAGE_FILES],
}
DATA_WORDS = ("ClickBrand", "Plain Brand", "Bold", "billing")
"""Words of the workspace's data (brand names, aspects) that a refused visitor must not see."""
BAD_HREF = ("localhost:9", "evil", "javascript:")
SAMPLE = ("overview.py", "brand_monitor.py", "model_evaluation.py", "data.py")
"""One page per audience (every page of every role is checked headlessly in test_access_apptest.py)."""


def _url(server: str, page_file: str) -> str:
    return server + ("/" if page_file == PAGE_FILES[0] else f"/{Path(page_file).stem}")


@pytest.fixture(scope="module")
def server(hostile_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    require_browser()
    tmp = tmp_path_factory.mktemp("auth")
    workspace = tmp / "hostile.duckdb"
    shutil.copy(hostile_workspace, workspace)
    provider, provider_proc = start_oidc_provider([*USERS.values(), NO_ROLE], tmp / "provider.log")
    port = free_port()
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(24).hex()}"\n'
        'client_id = "brandlens"\nclient_secret = "test-only-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n\n'
        "[brandlens.roles]\n" + "".join(f'{role} = ["{user}"]\n' for role, user in USERS.items()))
    secrets.chmod(0o600)
    log_path = tmp / "dashboard.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analytics.cli", "dashboard", "--workspace", str(workspace), "--port", str(port),
             "--secrets", str(secrets)], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, proc, log_path, timeout=120)
        yield url
    finally:
        stop(proc)
        stop(provider_proc)


@pytest.fixture(scope="module")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (its own cookies), recording requests and dialogs."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    ctx.requests, ctx.dialogs = [], []
    ctx.on("request", lambda r: ctx.requests.append((r.url, r.frame.url)))
    ctx.on("page", lambda p: p.on("dialog", lambda d: (ctx.dialogs.append(d.message), d.dismiss())))
    yield ctx
    ctx.close()


def _menu(page) -> list[str]:
    nav = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    return [t.strip().splitlines()[-1] for t in nav.all_inner_texts()]


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _outside(requests: list[tuple[str, str]], server: str) -> list[str]:
    """Requests our pages made to another host (the provider's own sign-in page is not ours)."""
    return [u for u, frame in requests if frame.startswith(server) and urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname != "127.0.0.1"]


def test_signed_out_sees_the_sign_in_page_and_nothing_of_the_workspace(context, server: str) -> None:
    page = context.new_page()
    for page_file in SAMPLE:
        page.goto(_url(server, page_file), wait_until="domcontentloaded", timeout=120_000)
        assert wait_for_title(page) == "Sign in to BrandLens", page_file
        body = page.locator("body").inner_text()
        assert not [w for w in DATA_WORDS if w in body], (page_file, body[:500])
        assert _menu(page) == [] and page.locator('[data-testid="stSelectbox"]').count() == 0
        if page_file == PAGE_FILES[0]:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "auth_sign_in.png"))
    assert _outside(context.requests, server) == []


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_its_pages_and_is_refused_the_others(context, server: str, role: str) -> None:
    page = context.new_page()
    sign_in(page, server, USERS[role])
    assert _menu(page) == EXPECTED_MENU[role]
    assert f"Signed in as" in page.locator('[data-testid="stSidebar"]').inner_text()
    wait_until_settled(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"auth_menu_{role}.png"))
    assert wait_for_title(page) == "Overview"
    refused = [f for f in SAMPLE if TITLES[f] not in EXPECTED_MENU[role] and f != "overview.py"]
    for page_file in refused:
        page.goto(_url(server, page_file), wait_until="domcontentloaded", timeout=120_000)
        assert wait_for_title(page) == TITLES[page_file]
        main = _main_text(page)
        assert "Your role does not open this page" in main, (page_file, main[:400])
        assert not [w for w in DATA_WORDS if w in main], (page_file, main[:400])
        assert page.locator('[data-testid="stMain"] [data-testid="stDataFrame"], '
                            '[data-testid="stMain"] .js-plotly-plot').count() == 0
    if refused:
        page.screenshot(path=str(SCREENSHOTS / f"auth_refused_{role}.png"))
    assert _outside(context.requests, server) == []


def test_no_role_asks_an_admin_and_sign_out_ends_the_session(context, server: str) -> None:
    page = context.new_page()
    sign_in(page, server, NO_ROLE)
    assert wait_for_title(page) == "Ask an admin for access"
    assert NO_ROLE in _main_text(page).replace("\u2060", "") and _menu(page) == []  # word joiner after @
    assert not [w for w in DATA_WORDS if w in page.locator("body").inner_text()]
    page.screenshot(path=str(SCREENSHOTS / "auth_no_role.png"))
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=60_000)  # the provider's logout page
    page.wait_for_url(f"{server}/**", timeout=60_000)
    assert wait_for_title(page) == "Sign in to BrandLens"
    page.goto(_url(server, "data.py"), wait_until="domcontentloaded")
    assert wait_for_title(page) == "Sign in to BrandLens"  # the identity cookie is gone


def test_as_admin_no_page_links_or_runs_the_data_and_the_csv_export_is_safe(context, server: str) -> None:
    page = context.new_page()
    sign_in(page, server, USERS["admin"])
    for page_file in PAGE_FILES:
        page.goto(_url(server, page_file), wait_until="domcontentloaded", timeout=120_000)
        wait_for_title(page)
        wait_for_charts(page)  # charts draw after the script ends
        assert page.locator('[data-testid="stException"]').count() == 0, page_file
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        assert [h for h in hrefs if any(b in h for b in BAD_HREF)] == [], (page_file, hrefs)
        assert page.locator("a", has_text="ClickBrand").count() == 0, page_file
        if page_file == "brand_monitor.py":
            assert page.locator('.js-plotly-plot text', has_text="ClickBrand").count() > 0  # shown, as text
            page.screenshot(path=str(SCREENSHOTS / "auth_hostile_brand_monitor.png"), full_page=True)
    assert context.dialogs == []

    page.goto(_url(server, "post_explorer.py"), wait_until="domcontentloaded")
    wait_until_settled(page)
    assert page.locator('[data-testid="stElementToolbarButton"][aria-label*="Download"]').count() == 0
    page.get_by_role("button", name=re.compile(r"Prepare a CSV of all [\d,]+ matching posts")).click()
    button = page.get_by_role("button", name=re.compile(r"Download all [\d,]+ matching posts \(CSV\)"))
    button.wait_for(timeout=120_000)
    total = int(re.search(r"all ([\d,]+)", button.inner_text()).group(1).replace(",", ""))
    with page.expect_download() as download:
        button.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"), newline="")))
    assert len(rows) == total > 50  # every matching post, not the page of 50 shown
    cells = [v for row in rows for v in row.values() if v]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)], [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert any(c.startswith("'=HYPERLINK(") for c in cells) and any(c.startswith("'+cmd|") for c in cells)
    assert {r["brand"] for r in rows} <= set(HOSTILE_BRANDS) | {"'" + b for b in HOSTILE_BRANDS}
    assert _outside(context.requests, server) == []
