"""Fit to this data: the model measured on the workspace's random labels, unchecked / poor / ok (issue 22)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.brand.explorer import correct_label
from analytics.core.labels import CLASSES
from analytics.evaluation.fit import MIN_FIT_LABELS, model_fit


def _workspace(con, n: int, *, right: float, vader_right: float | None = None, seed: int = 0) -> list[str]:
    """``n`` unlabelled posts; model m1 predicts the (later given) label for a ``right`` share of them."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    rows = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "gold": np.array(CLASSES)[truth]})
    con.register("new_rows", rows)
    con.execute("INSERT INTO posts (post_id, source, brand, created_at, text, original_text, ingest_run) "
                "SELECT post_id, 'test', 'A', TIMESTAMP '2026-03-01', 'some text', 'some text', 'r' FROM new_rows")
    con.unregister("new_rows")
    for model, share in (("m1", right), ("vader", vader_right)):
        if share is None:
            continue
        hit = np.arange(n) < round(share * n)
        pred = np.where(hit, truth, (truth + 1) % 3)
        proba = np.full((n, 3), 0.1)
        proba[np.arange(n), pred] = 0.8
        for i in range(n):
            con.execute("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, now())",
                        [f"p{i}", model, *map(float, proba[i]), CLASSES[pred[i]]])
    return list(rows["gold"])


def _label(con, gold: list[str], count: int, chosen_by: str = "queue:random", start: int = 0) -> None:
    for i in range(start, start + count):
        correct_label(con, f"p{i}", gold[i], origin="labelling", chosen_by=chosen_by)


def test_without_random_labels_the_model_is_unchecked_and_says_how_many_to_give(workspace) -> None:
    con = store.connect(workspace)
    gold = _workspace(con, 60, right=0.9)
    fit = model_fit(con, "m1")
    assert (fit.status, fit.n, fit.labels_needed) == ("unchecked", 0, MIN_FIT_LABELS)
    assert "not yet checked on your data — label 30 random posts" in fit.message()
    _label(con, gold, 40, chosen_by="queue:active")  # the queue's informative picks are not a sample
    _label(con, gold, 10, start=40)
    fit = model_fit(con, "m1")
    assert (fit.status, fit.n, fit.labels_needed) == ("unchecked", 10, 20)
    assert "label 20 more random posts" in fit.message()
    assert fit.accuracy.ci95[0] < fit.accuracy.ci95[1]  # Wilson, even on 10


def test_a_model_right_on_most_random_labels_is_ok_with_its_interval(workspace) -> None:
    con = store.connect(workspace)
    gold = _workspace(con, 40, right=0.8)
    _label(con, gold, 40)
    fit = model_fit(con, "m1")
    assert fit.status == "ok" and fit.n == 40 and fit.accuracy.value == pytest.approx(0.8)
    assert fit.accuracy.ci95[0] < 0.8 < fit.accuracy.ci95[1]
    assert fit.baseline_accuracy is None  # VADER did not score this workspace
    assert fit.message().startswith("Model m1 checked on your data: accuracy 80% (95% CI")
    assert fit.to_dict()["status"] == "ok" and fit.to_dict()["labels_needed"] == 0


def test_below_half_right_is_poor_with_a_clear_warning(workspace) -> None:
    con = store.connect(workspace)
    gold = _workspace(con, 40, right=0.4)
    _label(con, gold, 40)
    fit = model_fit(con, "m1")
    assert fit.status == "poor" and "fits your data poorly" in fit.message() and "unreliable" in fit.message()


def test_worse_than_vader_on_the_same_posts_is_poor(workspace) -> None:
    con = store.connect(workspace)
    gold = _workspace(con, 40, right=0.6, vader_right=0.85)
    _label(con, gold, 40)
    fit = model_fit(con, "m1")
    assert fit.status == "poor" and fit.baseline_accuracy.value == pytest.approx(0.85)
    assert "VADER 85% on the same posts" in fit.message()
    assert model_fit(con, "vader").status == "ok"  # VADER is not compared with itself
