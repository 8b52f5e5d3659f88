"""Every page renders headlessly (AppTest) on the demo workspace without an exception or an error box,
and the Data page's upload, quarantine and privacy controls work.

AppTest runs the real entry point (``dashboard/app.py``: sidebar, then ``st.navigation``).
``switch_page`` resolves its argument against the entry script's folder and matches the
absolute script paths that ``st.navigation`` registered, so an absolute page path works.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import PAGES, PAGES_DIR

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]


@pytest.fixture(scope="module")
def pages_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the shared demo workspace: the app holds a read-write connection on it."""
    path = tmp_path_factory.mktemp("pages") / "demo.duckdb"
    shutil.copy(demo_workspace, path)
    return path


def _app(workspace: Path, monkeypatch: pytest.MonkeyPatch, page_file: str | None = None) -> AppTest:
    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(workspace))
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.session_state["workspace"] = str(workspace)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page_file:
        at.switch_page(str(PAGES_DIR / page_file)).run()
    return at


@pytest.fixture(scope="module")
def app(pages_workspace: Path) -> AppTest:
    with pytest.MonkeyPatch.context() as mp:
        yield _app(pages_workspace, mp)


@pytest.mark.parametrize("page_file", ALL_PAGES)
def test_page_renders_without_exception(app: AppTest, page_file: str) -> None:
    app.switch_page(str(PAGES_DIR / page_file)).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title, f"{page_file} shows no title"


def test_sidebar_defaults_to_the_workspace_brand_its_competitors_and_whole_period(app: AppTest) -> None:
    app.switch_page(str(PAGES_DIR / "overview.py")).run()
    labels = [s.label for s in app.sidebar.selectbox]
    assert "Our brand" in labels and "Model" in labels
    assert app.session_state["our_brand"] == "Nimbus Mobile"  # the demo's setting "our_brand"
    assert set(app.session_state["competitors"]) == {"Vertex Telecom", "Orbit Wireless", "Pulse Connect"}
    start, end = app.session_state["date_range"]
    assert (end - start).days == 89


def test_empty_workspace_pages_say_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(tmp_path / "empty.duckdb", monkeypatch)
    for page_file in ALL_PAGES:
        at.switch_page(str(PAGES_DIR / page_file)).run()
        assert not at.exception, (page_file, [e.value for e in at.exception])


@pytest.fixture
def writable_workspace(pages_workspace: Path, tmp_path: Path) -> Path:
    path = tmp_path / "data-page.duckdb"
    shutil.copy(pages_workspace, path)
    return path


def test_data_page_shows_the_demo_source_and_counts(app: AppTest) -> None:
    app.switch_page(str(PAGES_DIR / "data.py")).run()
    posts = next(m for m in app.metric if m.label == "Posts")
    assert posts.value == "3,000"
    sources = app.dataframe[0].value
    assert sources["source"].tolist() == ["demo"] and int(sources["stored"].iloc[0]) == 3000


def test_data_page_upload_previews_the_guessed_mapping_and_ingests(
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(writable_workspace, monkeypatch, "data.py")
    csv = (
        "tweet,company,posted,sentiment\n"
        "the new plan is great,Acme,2026-10-01 10:00,positive\n"
        "billing is a mess,Acme,2026-10-02 11:00,negative\n"
        ",Acme,2026-10-03 12:00,neutral\n"
        "the new plan is great,Acme,2026-10-01 10:00,positive\n"
    ).encode()
    at.file_uploader[0].set_value(("export.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    mapping = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_")}
    assert mapping["text"] == "tweet" and mapping["brand"] == "company"
    assert mapping["time"] == "posted" and mapping["label"] == "sentiment"
    next(b for b in at.button if b.label == "Ingest").click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert "export.csv: 4 rows read: 2 stored, 1 duplicates, 1 quarantined" in at.success[0].value
    assert next(m for m in at.metric if m.label == "Posts").value == "3,002"
    assert at.dataframe[-1].value["reason"].tolist() == ["empty text"]  # the quarantine table


def test_data_page_reports_a_bad_file_as_an_error_not_a_traceback(
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(writable_workspace, monkeypatch, "data.py")
    at.file_uploader[0].set_value(("garbage.csv", bytes(range(256)) * 40, "text/csv")).run()
    assert not at.exception
    assert at.error and "garbage.csv" in at.error[0].value


def test_data_page_privacy_toggle_writes_the_workspace_setting(
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.workspace import workspace_connection

    at = _app(writable_workspace, monkeypatch, "data.py")
    assert at.toggle[0].value is True
    at.toggle[0].set_value(False).run()
    assert not at.exception
    con = workspace_connection(str(writable_workspace)).cursor()
    assert con.execute("SELECT value FROM settings WHERE key = 'mask_pii'").fetchall() == [("false",)]
