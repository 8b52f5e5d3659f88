"""Every page renders headlessly (AppTest) on the demo workspace without an exception or an error box,
and the Data page's upload, quarantine and privacy controls work.

AppTest runs the real entry point (``dashboard/app.py``: sidebar, then ``st.navigation``).
``switch_page`` resolves its argument against the entry script's folder and matches the
absolute script paths that ``st.navigation`` registered, so an absolute page path works.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import thinned_copy
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


def figure_titles(at: AppTest) -> list[str]:
    """Titles of the Plotly figures a page drew (from the figure specs Streamlit sends)."""
    titles = []
    for element in at.get("plotly_chart"):
        title = json.loads(element.proto.spec).get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def plain(markdown: str) -> str:
    """A markdown string as it reads once rendered: user data's escapes and word joiners gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _check_overview(at: AppTest) -> None:
    metrics = _metrics(at)
    assert {"Net sentiment", "Share of voice", "Negative share", "Top rising complaint", "Open alerts"} <= set(metrics)
    assert metrics["Net sentiment"] not in ("", "n/a")
    assert [b.label for b in at.button if b.label.startswith("Prepare")] == ["Prepare HTML report",
                                                                              "Prepare PDF report"]


def _check_brand_monitor(at: AppTest) -> None:
    titles = figure_titles(at)
    assert "Volume (posts)" in titles and len(titles) >= 5, titles
    table = at.dataframe[0].value  # the KPI table: one row per compared brand (+ the pooled row)
    assert {"Nimbus Mobile", "Vertex Telecom"} <= set(table["brand"].dropna())


def _check_topics(at: AppTest) -> None:
    assert any("No topics stored yet" in i.value for i in at.info)  # the fixture built none
    assert any(b.label == "Build topics" for b in at.button)


def _check_alerts(at: AppTest) -> None:
    assert "Alerts in the selection" in _metrics(at)
    assert any(d.value is not None and "metric" in d.value.columns for d in at.dataframe)  # the rules editor


def _check_post_explorer(at: AppTest) -> None:
    rows = at.dataframe[0].value
    assert list(rows.columns) == ["source_id", "created_at", "brand", "label", "confidence", "gold", "text", "post_id"]
    assert len(rows) == 50 and rows["label"].isin(["negative", "neutral", "positive"]).all()
    assert any("matching posts" in c.value for c in at.caption)


def _check_model_evaluation(at: AppTest) -> None:
    metrics = _metrics(at)
    assert {"Accuracy", "Macro F1"} <= set(metrics) and 0 < float(metrics["Accuracy"]) <= 1
    titles = figure_titles(at)
    assert len(titles) >= 5, titles


def _check_fairness(at: AppTest) -> None:
    assert [h.value for h in at.header][:1] == ["Metrics by group"]


def _check_explanations(at: AppTest) -> None:
    assert any("Pick a post" in i.value for i in at.info)


def _check_models(at: AppTest) -> None:
    table = at.dataframe[0].value
    assert table["model"].tolist()[:2] == ["default", "vader"]
    assert int(table.loc[table["model"] == "default", "predictions in workspace"].iloc[0]) == 3000


def _check_labelling(at: AppTest) -> None:
    assert _metrics(at)["Labels from the queue"] == "0"
    assert [b.label for b in at.button][:5] == ["Negative", "Neutral", "Positive", "Skip", "Not about the brand"]
    assert any("Model default says" in c.value for c in at.caption)


def _check_data(at: AppTest) -> None:
    assert _metrics(at)["Posts"] == "3,000"


PAGE_CHECKS = {
    "overview.py": _check_overview, "brand_monitor.py": _check_brand_monitor, "topics.py": _check_topics,
    "alerts.py": _check_alerts, "post_explorer.py": _check_post_explorer,
    "model_evaluation.py": _check_model_evaluation, "fairness.py": _check_fairness,
    "explanations.py": _check_explanations, "models.py": _check_models, "data.py": _check_data,
    "labelling.py": _check_labelling,
}


def test_labelling_three_posts_moves_the_counts(writable_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(writable_workspace, monkeypatch, "labelling.py")
    shown = []
    for label in ("Negative", "Positive", "Not about the brand"):
        shown.append(at.text[0].value)
        next(b for b in at.button if b.label == label).click().run()
        assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert len(set(shown)) == 3 and at.text[0].value not in shown  # the next post each time
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Labels from the queue"] == "2"
    assert metrics["Skipped / not about the brand"] == "0 / 1"
    from dashboard.workspace import workspace_connection  # the app's own connection (one per file and process)

    con = workspace_connection(str(writable_workspace)).cursor()
    rows = con.execute("SELECT label, origin, chosen_by FROM label_corrections ORDER BY corrected_at").fetchall()
    assert [r[0] for r in rows] == ["negative", "positive"]
    assert all(r[1] == "labelling" and r[2] in ("queue:active", "queue:random") for r in rows)


def test_every_page_has_a_content_check() -> None:
    assert set(PAGE_CHECKS) == set(ALL_PAGES)


@pytest.mark.parametrize("page_file", ALL_PAGES)
def test_page_renders_its_content(app: AppTest, page_file: str) -> None:
    app.switch_page(str(PAGES_DIR / page_file)).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title, f"{page_file} shows no title"
    PAGE_CHECKS[page_file](app)


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
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uploads = tmp_path / "tmp"
    uploads.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(uploads))  # where the private copies of uploads go
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
    assert "export.csv: 4 rows read: 2 stored, 1 duplicates, 1 quarantined" in plain(at.success[0].value)
    assert next(m for m in at.metric if m.label == "Posts").value == "3,002"
    quarantine = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert quarantine["reason"].tolist() == ["empty text"]
    sources = at.dataframe[0].value
    assert "export.csv" in sources["file"].tolist(), sources  # the upload's own name, not a server path
    log = next(d.value for d in at.dataframe if "actor" in d.value.columns)  # the audit log (admins)
    assert log[["actor", "action", "target"]].values.tolist()[0] == ["local", "upload.ingest", "export.csv"]
    assert list(uploads.iterdir()) == []  # the private copies (and the staging database) are gone


def test_data_page_reports_a_bad_file_as_an_error_not_a_traceback(
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(writable_workspace, monkeypatch, "data.py")
    at.file_uploader[0].set_value(("garbage.csv", bytes(range(256)) * 40, "text/csv")).run()
    assert not at.exception
    assert "/tmp" not in at.error[0].value and "brandlens-upload" not in at.error[0].value
    assert at.error and "garbage.csv" in plain(at.error[0].value)


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


@pytest.mark.slow
def test_models_page_adapts_and_shows_the_held_out_before_after(
    pages_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.core.jobs import JOBS

    # 150 of the demo's labels: the page at work, not the model's quality (the full recipe trains 4 layers)
    writable_workspace = thinned_copy(pages_workspace, tmp_path / "adapt-page.duckdb", labels=150)
    at = _app(writable_workspace, monkeypatch, "models.py")
    next(b for b in at.button if b.label == "Adapt to this workspace").click().run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    [job] = [j for j in JOBS.jobs(workspace=str(writable_workspace)) if j.kind == "adapt"]
    assert JOBS.wait(job.id, timeout=900).status == "done", job.error  # adapting runs off the page's run
    at.run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    expander = next(e for e in at.expander if e.label.startswith("adapted-"))
    table = expander.dataframe[0].value
    assert table["metric"].tolist() == ["macro-F1", "accuracy"]
    assert set(table.columns) == {"metric", "base", "adapted", "difference"}
    assert all("[" in cell for cell in table["difference"])  # every figure with its interval
    recommended = "recommended" in expander.label and "not clearly" not in expander.label
    sentences = [m.value for m in expander.markdown if "held-out macro-F1" in m.value]
    assert len(sentences) == 1 and sentences[0].startswith("Recommended" if recommended else "Not recommended")
    assert any(b.label == "Use for this workspace and score with it" for b in expander.button)


def test_data_page_names_files_a_cli_job_read_by_their_name_only(
    writable_workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file `brandlens ingest` read from /srv/... is listed by its name; the folders are shown only to
    admins, apart, on request."""
    from analytics.cli import main as cli_main

    folder = tmp_path / "srv" / "exports" / "secret-client"
    folder.mkdir(parents=True)
    (folder / "march.csv").write_text("text,brand\nbilling is a mess,Acme\n", encoding="utf-8")
    assert cli_main(["ingest", str(folder / "march.csv"), "--workspace", str(writable_workspace)]) == 0
    at = _app(writable_workspace, monkeypatch, "data.py")
    sources = at.dataframe[0].value
    assert "march.csv" in sources["file"].tolist()
    assert not sources["file"].astype(str).str.contains("secret-client").any()
    assert any(e.label.startswith("Where the files were") for e in at.expander)  # open mode: an admin
