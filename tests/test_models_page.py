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


def test_models_page_scores_the_workspace(ws: Path) -> None:
    at = _page(ws)
    at.selectbox(key="models_choice").set_value("vader")
    at.button(key="models_score").click().run()
    assert not at.exception
    assert not at.error
    assert "scored 40 posts" in at.success[0].value
    at.run()  # the table is read again after scoring
    assert at.dataframe[0].value.set_index("model").loc["vader", "predictions in workspace"] == 40


def test_models_page_shows_a_load_error_without_a_traceback(ws: Path, tmp_path: Path) -> None:
    at = _page(ws)
    at.selectbox(key="models_choice").set_value(at.selectbox(key="models_choice").options[-1])
    at.run()
    at.text_input(key="models_spec").set_value(str(tmp_path / "no-such-model")).run()
    at.button(key="models_score").click().run()
    assert not at.exception
    assert at.error and "failed" in at.error[0].value
