"""Evaluate every model of a workspace on its labelled posts: the ``brandlens evaluate`` result."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analytics.core.errors import BrandLensError
from analytics.evaluation.labelled import labelled_predictions, models_with_predictions, probabilities
from analytics.evaluation.metrics import EvaluationResult, evaluate_predictions


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
    available = models_with_predictions(con)
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
