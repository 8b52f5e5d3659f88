"""The Models page in AppTest: the model list with cards, and scoring with progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ws(workspace: Path) -> Path:
    with store.open_workspace(workspace) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, text, original_text, ingest_run)
            SELECT 'p' || i, 'test', 'I love this flight ' || i, 'x', 'run' FROM range(40) t(i)
            """
        )
    return workspace


def _page(ws: Path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "models.py"), default_timeout=120)
    at.session_state["workspace"] = str(ws)
    return at.run()


def test_models_page_lists_models_with_cards(ws: Path) -> None:
    at = _page(ws)
    assert not at.exception
    table = at.dataframe[0].value
    assert {"default", "vader"} <= set(table["model"])
    assert table.set_index("model").loc["vader", "posts unscored"] == 40
    assert any("VADER" in m.value for m in at.markdown)  # the VADER card is rendered
    assert at.caption and "40 posts" in at.caption[0].value


def test_an_adapted_model_is_listed_as_adapted_here_and_can_score(ws: Path, tmp_path: Path) -> None:
    """A model adapted to this workspace is one of its models: listed as such (not as a hub id once it has
    scored), with what it has scored, and offered for scoring."""
    from analytics.models.workspace import store_model

    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "classifier_config.json").write_text("{}")
    with store.open_workspace(ws) as con:
        side = {"macro_f1": {"value": 0.8, "ci95": [0.7, 0.9]}, "accuracy": {"value": 0.8, "ci95": [0.7, 0.9]}}
        card = {"n_train": 120, "n_holdout": 30, "recommended": False, "config": {"holdout": 0.2},
                "holdout": {"base": side, "adapted": side, "difference": {
                    "macro_f1": {"value": 0.0, "ci95": [-0.1, 0.1]}, "accuracy": {"value": 0.0, "ci95": [-0.1, 0.1]}}}}
        store_model(con, "adapted-20261208-1", base="default", method="top-layers", card=card, artifact_dir=artifact)
        con.execute("INSERT INTO predictions SELECT 'p' || i, 'adapted-20261208-1', 0.1, 0.1, 0.8, 'positive', now() "
                    "FROM range(15) t(i)")
    at = _page(ws)
    assert not at.exception
    row = at.dataframe[0].value.set_index("model").loc["adapted-20261208-1"]
    assert (row["kind"], row["loadable here"], row["predictions in workspace"], row["posts unscored"]) == (
        "adapted here", "yes", 15, 25)
    assert "adapted-20261208-1" in at.selectbox(key="models_choice").options


def _app(ws: Path, monkeypatch: pytest.MonkeyPatch):
    """The whole app (sidebar included) on the Models page."""
    from streamlit.testing.v1 import AppTest

    from dashboard.navigation import PAGES_DIR

    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(ws))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.session_state["workspace"] = str(ws)
    at.run()
    return at.switch_page(str(PAGES_DIR / "models.py")).run()


def _plain(markdown: str) -> str:
    """A markdown string as it reads once rendered (escapes and word joiners gone)."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def _wait_for_jobs(ws: Path) -> None:
    from analytics.core.jobs import JOBS

    for job in JOBS.jobs(workspace=str(ws)):
        JOBS.wait(job.id, timeout=300)
        assert not job.running


def test_models_page_scores_in_the_background_and_the_result_reaches_any_page(ws: Path, monkeypatch) -> None:
    """Scoring runs as a job of the server process: the page returns at once, the person may go to
    another page, and the result (and the new model in the sidebar) shows there when it is done."""
    from analytics.core.jobs import JOBS
    from dashboard.navigation import PAGES_DIR

    at = _app(ws, monkeypatch)
    at.selectbox(key="models_choice").set_value("vader")
    at.button(key="models_score").click().run()
    assert not at.exception and not at.error
    jobs = JOBS.jobs(workspace=str(ws))
    assert [j.label for j in jobs] == ["Scoring with vader"]
    at.switch_page(str(PAGES_DIR / "data.py")).run()  # navigating away does not stop it
    _wait_for_jobs(ws)
    at.run()
    assert not at.exception
    assert any("vader: scored 40 posts" in _plain(m.value) for m in at.success), [m.value for m in at.success]
    assert at.sidebar.selectbox(key="sb_model").value == "vader"
    at.run()  # announced once
    assert not any("scored 40 posts" in _plain(m.value) for m in at.success)
    at.switch_page(str(PAGES_DIR / "models.py")).run()
    assert at.dataframe[0].value.set_index("model").loc["vader", "predictions in workspace"] == 40


def test_one_person_cannot_start_the_same_job_twice_on_a_workspace(tmp_path: Path) -> None:
    import threading

    from analytics.core.jobs import JobOutcome, JobRegistry, JobRunning

    registry, release = JobRegistry(), threading.Event()

    def slow(progress):
        progress(1, 3, "working")
        release.wait(60)
        return JobOutcome("finished")

    first = registry.start("score", workspace="w", owner="kate@example.com", label="Scoring", work=slow)
    with pytest.raises(JobRunning, match="already running"):
        registry.start("score", workspace="w", owner="kate@example.com", label="Scoring", work=slow)
    other = registry.start("score", workspace="w", owner="omar@example.com", label="Scoring", work=lambda p: JobOutcome("ok"))
    assert registry.wait(other.id, 30).outcome.message == "ok"
    assert registry.jobs(workspace="w", owner="kate@example.com")[0].fraction == pytest.approx(1 / 3)
    release.set()
    assert registry.wait(first.id, 30).outcome.message == "finished"

    def broken(progress):
        raise ZeroDivisionError("a defect")

    failed = registry.wait(registry.start("adapt", workspace="w", owner="kate@example.com", label="Adapting",
                                          work=broken).id, 30)
    assert failed.status == "failed" and "ZeroDivisionError" in failed.error and "a defect" not in failed.error


def test_models_page_shows_a_load_error_without_a_traceback(ws: Path, tmp_path: Path) -> None:
    at = _page(ws)
    at.selectbox(key="models_choice").set_value(at.selectbox(key="models_choice").options[-1])
    at.run()
    at.text_input(key="models_spec").set_value(str(tmp_path / "no-such-model")).run()
    at.button(key="models_score").click().run()
    assert not at.exception
    assert at.error and "failed" in at.error[0].value
