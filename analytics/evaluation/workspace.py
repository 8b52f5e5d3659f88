"""Evaluate every model of a workspace on its labelled posts: the ``brandlens evaluate`` result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.evaluation.labelled import labelled_predictions, probabilities
from analytics.store.lookups import model_ids
from analytics.evaluation.metrics import EvaluationResult, PairedDifference, evaluate_predictions, paired_difference


def evaluate_workspace(
    con: duckdb.DuckDBPyConnection,
    *,
    models: Sequence[str] | None = None,
    brand: str | Sequence[str] | None = None,
    min_label_confidence: float | None = None,
    n_boot: int = 1000,
    random_state: int = 0,
) -> dict[str, EvaluationResult]:
    """Model id to its evaluation on the workspace's labelled posts (filters apply to every figure)."""
    available = model_ids(con)
    chosen = list(models) if models else available
    missing = [m for m in chosen if m not in available]
    if missing:
        raise BrandLensError(f"no predictions for model(s) {missing} in this workspace; score it first "
                             f"(brandlens score --model ...). Models with predictions: {available}")
    if not chosen:
        raise BrandLensError("the workspace has no predictions yet: run `brandlens score` first")
    results = {}
    for model_id in chosen:
        frame = labelled_predictions(con, model_id, brand=brand, min_label_confidence=min_label_confidence)
        if frame.empty:
            raise BrandLensError(
                "no labelled posts match (the workspace has no gold labels for these filters): ingest a file "
                "with a label column or correct labels in the Post explorer"
            )
        results[model_id] = evaluate_predictions(frame["gold"].to_numpy(), probabilities(frame),
                                                 n_boot=n_boot, random_state=random_state)
    return results


@dataclass(frozen=True)
class ModelComparison:
    """Model A minus model B on the labelled posts both scored (paired bootstrap)."""

    model_a: str
    model_b: str
    n_common: int
    differences: list[PairedDifference]


def compare_models(
    frame_a: pd.DataFrame, frame_b: pd.DataFrame, *, model_a: str, model_b: str, n_boot: int = 500,
    random_state: int = 0,
) -> ModelComparison:
    """Paired comparison of two :func:`labelled_predictions` frames on the posts they share.

    Both models are scored on the same bootstrap resamples of the same posts, so the
    interval of the difference is much narrower than two independent intervals suggest.
    """
    common = frame_a.merge(frame_b, on="post_id", suffixes=("_a", "_b"))
    if common.empty:
        return ModelComparison(model_a, model_b, 0, [])
    proba_a = probabilities(common.rename(columns=lambda c: c[:-2] if c.endswith("_a") else c))
    proba_b = probabilities(common.rename(columns=lambda c: c[:-2] if c.endswith("_b") else c))
    diffs = paired_difference(common["gold_a"].to_numpy(), proba_a, proba_b, n_boot=n_boot, random_state=random_state)
    return ModelComparison(model_a, model_b, len(common), diffs)
