"""Every page for every role, headlessly (AppTest with a signed-in ``st.user``): a page a role does not
open shows its title and a refusal, never its data; signed out, every page is the sign-in page; a
workspace outside the served ones is refused, a non-database file is a message; a correction is
recorded under the signed-in address. The browser run (test_browser_auth.py) checks the real sign-in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import access
from dashboard.navigation import PAGE_FILES, PAGES_DIR

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
SECRETS = {
    "auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40,
             "client_id": "brandlens", "client_secret": "s",
             "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"},
    "brandlens": {"roles": {"executive": ["exec@example.com"], "marketing": ["mkt@example.com"],
                            "ml_lead": ["ml@example.com"], "admin": ["admin@example.com"]}},
}
EMAILS = {"executive": "exec@example.com", "marketing": "mkt@example.com", "ml_lead": "ml@example.com",
          "admin": "admin@example.com"}


@pytest.fixture
def served(hostile_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copy(hostile_workspace, folder / "hostile.duckdb")
    (folder / "notes.duckdb").write_text("not a database\n")
    monkeypatch.delenv("BRANDLENS_WORKSPACE", raising=False)
    monkeypatch.setenv("BRANDLENS_WORKSPACES", str(folder))
    return folder


def _app(user: dict | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets = SECRETS
    at.user = {"is_logged_in": True, **user} if user else {"is_logged_in": False}
    return at


@pytest.mark.parametrize("role", list(EMAILS))
def test_a_page_the_role_does_not_open_is_refused_without_its_data(served: Path, role: str) -> None:
    at = _app({"email": EMAILS[role]})
    at.run()
    for page_file in PAGE_FILES:
        if access.may_open({role}, page_file):
            continue
        at.switch_page(str(PAGES_DIR / page_file)).run()
        assert not at.exception, [e.value for e in at.exception]
        assert [w.value for w in at.warning][:1] == [
            "Your role does not open this page. The pages you may open are listed in the sidebar; "
            "ask an admin if you need this one."], page_file
        assert not at.get("plotly_chart") and not at.dataframe and not at.metric, page_file
        assert not at.sidebar.selectbox  # not even the workspace's brands


def test_signed_out_every_page_is_the_sign_in_page(served: Path) -> None:
    at = _app(None)
    at.run()
    for page_file in PAGE_FILES:
        at.switch_page(str(PAGES_DIR / page_file)).run()
        assert [t.value for t in at.title] == ["Sign in to BrandLens"], page_file
        assert [b.label for b in at.button] == ["Sign in"] and not at.sidebar.selectbox and not at.dataframe


def test_a_workspace_outside_is_refused_and_a_non_database_file_is_a_message(served: Path) -> None:
    at = _app({"email": EMAILS["admin"]})
    at.session_state["workspace"] = "/etc/passwd"
    at.run()
    assert not at.exception
    assert any("/etc/passwd is not a workspace this dashboard serves" in e.value.replace("\\", "") for e in at.error)
    assert at.sidebar.selectbox[0].value == str(served.resolve() / "hostile.duckdb")
    at.sidebar.selectbox[0].set_value(str(served.resolve() / "notes.duckdb")).run()
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == ["notes.duckdb is not a DuckDB database file; "
                                                            "pick another workspace"]
    assert not at.get("plotly_chart")


def test_admins_create_a_workspace_in_the_folder_only(served: Path) -> None:
    at = _app({"email": EMAILS["admin"]})
    at.run()
    at.sidebar.text_input(key="new_workspace_name").set_value("../escape").run()
    at.sidebar.button(key="new_workspace_create").click().run()
    assert any("a workspace name is letters" in e.value.replace("\\", "") for e in at.error)
    assert not (served.parent / "escape.duckdb").exists()
    at.sidebar.text_input(key="new_workspace_name").set_value("spring").run()
    at.sidebar.button(key="new_workspace_create").click().run()
    assert not at.exception and (served / "spring.duckdb").is_file()
    marketing = _app({"email": EMAILS["marketing"]})
    marketing.run()
    assert not [t for t in marketing.sidebar.text_input if t.key == "new_workspace_name"]


def test_a_correction_is_recorded_under_the_signed_in_address(served: Path) -> None:
    from analytics import store
    from analytics.store import audit

    at = _app({"email": EMAILS["marketing"]})
    at.run()
    at.switch_page(str(PAGES_DIR / "post_explorer.py")).run()
    assert not [t for t in at.text_input if t.label == "Your name"]
    next(s for s in at.selectbox if s.label == "Correct label").set_value("positive").run()  # nothing preset
    next(b for b in at.button if b.label == "Save correction").click().run()
    assert not at.exception and at.success
    with store.open_workspace(served / "hostile.duckdb", read_only=True) as con:
        entries = audit.audit_entries(con, action="label.correct")
        origin = con.execute("SELECT origin FROM label_corrections").fetchall()
    assert entries["actor"].tolist() == ["mkt@example.com"]
    assert origin == [("explorer:mkt@example.com",)]
