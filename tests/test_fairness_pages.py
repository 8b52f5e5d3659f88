"""Fairness and Explanations pages in AppTest, and their chart builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analytics import store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ws(workspace: Path) -> Path:
    with store.open_workspace(workspace) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, brand, text, original_text, ingest_run, region, gold_label)
            SELECT 'p' || i, 'test', 'Acme', CASE WHEN i % 2 = 0 THEN 'I hate this <script>x</script>'
                   ELSE 'love it' END, 'x', 'run', CASE WHEN i % 3 = 0 THEN 'north' ELSE 'south' END,
                   CASE WHEN i % 2 = 0 THEN 'negative' ELSE 'positive' END
            FROM range(60) t(i)
            """
        )
        con.execute(
            """
            INSERT INTO predictions SELECT post_id, 'vader', 0.7, 0.2, 0.1, 'negative', now()::TIMESTAMP FROM posts
            """
        )
    return workspace


def _page(name: str, ws: Path, **state):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=180)
    at.session_state["workspace"] = str(ws)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def test_fairness_page_renders_grouped_metrics(ws: Path) -> None:
    at = _page("fairness.py", ws)
    assert not at.exception
    at.selectbox(key="fair_group").set_value("region").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[0].value.index) == {"north", "south"}


def test_explanations_page_escapes_post_html(ws: Path) -> None:
    at = _page("explanations.py", ws, explain_post_id="p0")
    at.selectbox(key="expl_model").set_value("vader").run()
    assert not at.exception and not at.error
    html = "".join(h.proto.body for h in at.get("html"))
    assert "<script" not in html and "&lt;" in html


def test_charts_without_ui() -> None:
    from analytics.fairness.grouped import grouped_metrics
    from analytics.figures.explanations import token_attribution_chart
    from analytics.figures.fairness import eec_gap_chart, group_metric_bars
    from analytics.explain.shap_text import TextExplanation

    r = grouped_metrics(["negative", "positive"] * 20, ["negative", "negative"] * 20,
                        groups=["a"] * 30 + ["b"] * 10, n_boot=10, min_group_size=20)
    fig = group_metric_bars(r, metric="accuracy")
    assert list(fig.data[0].y) == pytest.approx([0.5, 0.5]) and "small" in fig.data[0].x[1]
    gap = {"n_pairs": 2, "mean_gap": {"value": 0.1, "ci95": [0.0, 0.2]}, "p_value": 0.5}
    fig = eec_gap_chart([{"model": "m", "gender": gap, "race": gap, "by_emotion": {"joy": {"gender": gap}}}])
    assert list(fig.data[0].x) == ["all", "joy"] and fig.data[0].error_y.array[0] == pytest.approx(0.1)
    e = TextExplanation(["a ", "b"], np.array([[0.1, 0, -0.1], [-0.2, 0, 0.2]]), np.zeros(3),
                        np.array([0.2, 0.3, 0.5]), 0.1, {})
    fig = token_attribution_chart(e, target="positive")
    assert list(fig.data[0].x) == pytest.approx([-0.1, 0.2])
