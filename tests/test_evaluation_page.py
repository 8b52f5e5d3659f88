"""Evaluation charts without a UI, and the Model evaluation page in AppTest (with and without labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.evaluation import accuracy_by_coverage, evaluate_predictions, labelled_predictions, slice_metrics
from analytics.core.labels import CLASSES
from analytics.figures import evaluation as charts

ROOT = Path(__file__).resolve().parents[1]


def _sample(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.array(CLASSES)[y], proba


def _fill(path: Path, n: int = 240, *, labelled: bool = True) -> None:
    labels, proba = _sample(n)
    _, other = _sample(n, 1)
    posts = pd.DataFrame({
        "post_id": [f"p{i}" for i in range(n)],
        "brand": ["Tiny" if i < 12 else ("A" if i % 2 else "B") for i in range(n)],
        "created_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) % 50, unit="D"),
        "text": [f"post number {i}" for i in range(n)],
        "gold_label": labels if labelled else [None] * n,
        "gold_confidence": np.linspace(0.4, 1.0, n),
    })
    with store.open_workspace(path) as con:
        con.execute("INSERT INTO ingest_runs VALUES ('r', 'test', 'test', now(), now(), 0, 0, 0, 0, NULL, 'done')")
        con.register("new_posts", posts)
        con.execute(
            "INSERT INTO posts (post_id, source, brand, created_at, text, original_text, gold_label, gold_origin,"
            " gold_confidence, ingest_run) SELECT post_id, 'test', brand, created_at, text, text, gold_label,"
            " CASE WHEN gold_label IS NULL THEN NULL ELSE 'source:label' END, gold_confidence, 'r' FROM new_posts"
        )
        con.unregister("new_posts")
        for model, p in (("default", proba), ("vader", other)):
            preds = pd.DataFrame({"post_id": posts["post_id"], "model_id": model, "p_negative": p[:, 0],
                                  "p_neutral": p[:, 1], "p_positive": p[:, 2],
                                  "label": np.array(CLASSES)[p.argmax(axis=1)]})
            con.register("new_preds", preds)
            con.execute("INSERT INTO predictions SELECT *, now() FROM new_preds")
            con.unregister("new_preds")


# --- chart builders -------------------------------------------------------------------------
def test_confusion_figure_counts_and_normalised_rows() -> None:
    confusion = np.array([[8, 1, 1], [2, 6, 2], [0, 0, 0]])
    counts = charts.confusion_figure(confusion)
    assert np.array(counts.data[0].z).tolist() == confusion.tolist()
    normalised = np.array(charts.confusion_figure(confusion, normalise=True).data[0].z)
    assert normalised[0].sum() == pytest.approx(1) and normalised[1, 1] == pytest.approx(0.6)
    assert normalised[2].sum() == 0  # a class without gold posts stays empty, not NaN


def test_curves_one_trace_per_present_class_plus_reference() -> None:
    labels, proba = _sample(300)
    assert [t.name for t in charts.roc_figure(labels, proba).data] == [*CLASSES, "chance"]
    assert [t.name for t in charts.pr_figure(labels, proba).data] == list(CLASSES)
    no_positive = labels != "positive"
    roc = charts.roc_figure(labels[no_positive], proba[no_positive])
    assert [t.name for t in roc.data] == ["negative", "neutral", "chance"]
    reliability = charts.reliability_figure(labels, proba)
    assert reliability.data[0].name == "model" and all(0 <= x <= 1 for x in reliability.data[0].x)


def test_metrics_table_slices_and_coverage_figures(workspace: Path) -> None:
    _fill(workspace)
    frame = labelled_predictions(store.connect(workspace), "default")
    result = evaluate_predictions(frame["gold"].to_numpy(), frame[["p_negative", "p_neutral", "p_positive"]]
                                  .to_numpy(), n_boot=50)
    table = charts.metrics_table({"default": result, "copy": result})
    assert list(table.columns) == ["default", "copy"] and len(table) == 11
    assert table.loc["Accuracy", "default"].startswith(f"{result.metrics['accuracy'].value:.3f} [")
    report = slice_metrics(frame, "brand", n_boot=30)
    bar = charts.slice_figure(report.by_group, "brand")
    colours = dict(zip(bar.data[0].y, bar.data[0].marker.color))
    assert colours["Tiny"] != colours["A"]  # the 12-post slice is drawn as too small to rank
    coverage = charts.coverage_figure(accuracy_by_coverage(frame))
    assert len(coverage.data[0].x) == 25


# --- page -----------------------------------------------------------------------------------
def _page(ws: Path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "model_evaluation.py"), default_timeout=120)
    at.session_state["workspace"] = str(ws)
    return at.run()


def test_page_renders_metrics_curves_and_mistakes(workspace: Path) -> None:
    _fill(workspace)
    at = _page(workspace)
    assert not at.exception, at.exception
    assert not at.error
    labels = [m.label for m in at.metric]
    assert "Accuracy" in labels and "Macro F1" in labels
    assert any("95% CI" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) >= 5
    # two models chosen: the paired difference table appears
    at.multiselect[0].set_value(["default", "vader"]).run()
    assert not at.exception, at.exception
    assert any("Paired bootstrap" in c.value for c in at.caption)


def test_page_without_labels_says_so(workspace: Path) -> None:
    _fill(workspace, labelled=False)
    at = _page(workspace)
    assert not at.exception, at.exception
    assert not at.error
    assert any("No labelled posts" in i.value for i in at.info)
