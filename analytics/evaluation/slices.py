"""The same key metrics per slice (brand, group column, month, text length), worst first.

Follows fairlearn's ``MetricFrame`` habit: one object, ``overall`` and ``by_group`` (always a
DataFrame, groups as rows), intervals as columns. Slices below ``min_size`` are kept and
flagged ``too_small`` but not ranked, so a slice of 12 posts says so instead of topping the
list by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.estimate import Estimate, proportion_estimate
from analytics.core.bootstrap import bootstrap_indices, percentile_interval
from analytics.evaluation.labelled import probabilities
from analytics.evaluation.metrics import (
    MIN_BOOTSTRAP_N, PROPORTIONS, confusion_metrics, label_codes, multiplicities,
)
from analytics.store import GROUP_COLUMNS
from analytics.core.labels import CLASSES

SLICE_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "f1_pn", "macro_recall")
DEFAULT_MIN_SIZE = 30
LENGTH_BUCKETS = (0, 50, 100, 200, 500, np.inf)
SLICE_DIMENSIONS: tuple[str, ...] = ("brand", *GROUP_COLUMNS, "detected_language", "month", "text_length")


@dataclass(frozen=True)
class SliceReport:
    """Metrics per slice of one dimension: ``by_group`` has one row per slice, worst first."""

    dimension: str
    rank_metric: str
    overall: pd.Series
    by_group: pd.DataFrame

    def worst(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` worst slices large enough to rank."""
        return self.by_group[~self.by_group["too_small"]].head(k)


def slice_values(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """The slice each post falls in along ``dimension`` (missing values become '(none)')."""
    if dimension == "month":
        values = pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m")
    elif dimension == "text_length":
        labels = [f"{int(a)}-{int(b) - 1} chars" if np.isfinite(b) else f"{int(a)}+ chars"
                  for a, b in zip(LENGTH_BUCKETS[:-1], LENGTH_BUCKETS[1:])]
        values = pd.cut(frame["text"].str.len(), bins=list(LENGTH_BUCKETS), right=False, labels=labels).astype(str)
    elif dimension in frame.columns:
        values = frame[dimension].astype("string")
    else:
        raise ValueError(f"dimension must be one of {list(SLICE_DIMENSIONS)}, got {dimension!r}")
    return values.fillna("(none)").astype(str)


def _metrics_with_intervals(y: np.ndarray, pred: np.ndarray, *, n_boot: int, random_state: int) -> dict[str, object]:
    codes = np.eye(9)[y * 3 + pred]
    point = confusion_metrics(codes.sum(axis=0)[None].reshape(1, 3, 3))
    weights = multiplicities(bootstrap_indices(len(y), n_boot=n_boot, random_state=random_state), len(y))
    samples = confusion_metrics((weights @ codes).reshape(-1, 3, 3))
    out: dict[str, object] = {}
    for name in SLICE_METRICS:
        if name in PROPORTIONS:  # Wilson: valid on a slice of any size
            estimate = proportion_estimate(int((y == pred).sum()), len(y))
        elif len(y) < MIN_BOOTSTRAP_N:  # the point stays (drawn pale, not ranked); no bootstrap interval
            estimate = Estimate(float(point[name][0]), (float("nan"), float("nan")))
        else:
            estimate = Estimate.bootstrapped(point[name][0], percentile_interval(samples[name]))
        out.update(estimate.columns(name))
    return out


def slice_metrics(
    frame: pd.DataFrame,
    dimension: str,
    *,
    rank_metric: str = "macro_f1",
    min_size: int = DEFAULT_MIN_SIZE,
    n_boot: int = 300,
    random_state: int = 0,
) -> SliceReport:
    """Key metrics with 95% intervals for each slice of a :func:`labelled_predictions` frame."""
    if rank_metric not in SLICE_METRICS:
        raise ValueError(f"rank_metric must be one of {list(SLICE_METRICS)}, got {rank_metric!r}")
    if frame.empty:
        raise ValueError("no labelled posts to slice")
    y = label_codes(frame["gold"])
    pred = probabilities(frame).argmax(axis=1)
    values = slice_values(frame, dimension)
    rows = []
    for value, positions in values.groupby(values).indices.items():
        rows.append({dimension: value, "n": len(positions),
                     **_metrics_with_intervals(y[positions], pred[positions], n_boot=n_boot, random_state=random_state)})
    by_group = pd.DataFrame(rows)
    by_group["too_small"] = by_group["n"] < min_size
    by_group = by_group.sort_values(["too_small", rank_metric], ascending=[True, True]).reset_index(drop=True)
    overall = pd.Series(_metrics_with_intervals(y, pred, n_boot=n_boot, random_state=random_state))
    overall["n"] = len(y)
    return SliceReport(dimension, rank_metric, overall, by_group)


def confident_mistakes(frame: pd.DataFrame, *, k: int = 20) -> pd.DataFrame:
    """The ``k`` mistakes the model was surest of: text, gold, predicted and its probability."""
    proba = probabilities(frame)
    predicted = np.array(CLASSES)[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    wrong = predicted != frame["gold"].to_numpy()
    out = frame.loc[wrong, ["post_id", "brand", "text", "gold"]].assign(
        predicted=predicted[wrong], probability=confidence[wrong]
    )
    return out.sort_values("probability", ascending=False).head(k).reset_index(drop=True)


def accuracy_by_coverage(frame: pd.DataFrame, *, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Accuracy on the posts kept when those below a confidence go to a person for review.

    Returns one row per threshold: ``threshold, coverage`` (share of posts kept),
    ``accuracy`` on the kept posts and ``n_review`` (posts set aside).
    """
    proba = probabilities(frame)
    confidence = proba.max(axis=1)
    correct = np.array(CLASSES)[proba.argmax(axis=1)] == frame["gold"].to_numpy()
    thresholds = np.round(np.linspace(0.34, 0.95, 25), 3) if thresholds is None else np.asarray(thresholds)
    rows = []
    for t in thresholds:
        kept = confidence >= t
        rows.append({"threshold": float(t), "coverage": float(kept.mean()),
                     "accuracy": float(correct[kept].mean()) if kept.any() else float("nan"),
                     "n_review": int((~kept).sum())})
    return pd.DataFrame(rows)
