"""Fit to this data: is the model right on *this* workspace's posts, measured on its random labels.

A model trained on tweets can be wrong for product reviews (issue 22: 318 of 379 reviews
predicted negative, 95 were), and the marketing pages' figures inherit that error. Only a
representative sample measures it: the export's own labels, people's labels and the labelling
queue's random picks — never the queue's actively chosen ones (not a sample) nor the labels an
adapted model trained on. :func:`model_fit` measures the model's accuracy on them with a Wilson
interval, beside VADER's on the same posts when VADER scored them, and gives one status:

* ``unchecked``: fewer than :data:`MIN_FIT_LABELS` such labels: "not yet checked on your data";
* ``poor``: accuracy below :data:`POOR_ACCURACY` or below VADER's on the same posts;
* ``ok``: otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from analytics.core.estimate import Estimate, proportion_estimate
from analytics.evaluation.labelled import labelled_predictions, probabilities
from analytics.evaluation.metrics import MIN_BOOTSTRAP_N

MIN_FIT_LABELS = MIN_BOOTSTRAP_N
"""Random labels before the model counts as checked on a workspace (30: where the evaluation's
bootstrap figures start, ``benchmarks/small_n.py``; the accuracy's Wilson interval is then about
±0.17 wide at worst)."""

POOR_ACCURACY = 0.5
"""Accuracy below which the model is called poor for this data, whatever VADER does."""

BASELINE = "vader"
"""The lexicon model the fit is compared with when it scored the workspace."""

STATUSES = ("unchecked", "poor", "ok")


@dataclass(frozen=True)
class ModelFit:
    """How well ``model_id`` fits the workspace, on its representative labels."""

    model_id: str
    n: int
    accuracy: Estimate
    baseline_accuracy: Estimate | None
    status: str

    @property
    def labels_needed(self) -> int:
        """Random labels still needed before the fit is measured (0 once checked)."""
        return max(MIN_FIT_LABELS - self.n, 0)

    def message(self) -> str:
        """One sentence for the marketing pages' banner (plain text: the model id is the only data in it)."""
        if self.status == "unchecked":
            more = f"{self.labels_needed} more" if self.n else f"{MIN_FIT_LABELS}"
            return (f"Model {self.model_id} is not yet checked on your data — label {more} random posts "
                    f"(Labelling page) to measure how often it is right here; until then treat its figures "
                    f"with care ({self.n} random label{'s' if self.n != 1 else ''} so far).")
        figure = f"accuracy {self.accuracy.text('.0%', interval='(95% CI {lo}-{hi})')} on {self.n:,} random labels"
        versus = ""
        if self.baseline_accuracy is not None and not self.baseline_accuracy.missing:
            versus = f", VADER {self.baseline_accuracy.value:.0%} on the same posts"
        if self.status == "poor":
            return (f"Model {self.model_id} fits your data poorly: {figure}{versus}. The sentiment figures on "
                    "this page are unreliable: adapt the model to your labels (Models page) or use another.")
        return f"Model {self.model_id} checked on your data: {figure}{versus}."

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model_id, "n": self.n, "status": self.status, "accuracy": self.accuracy.to_dict(),
            "baseline": None if self.baseline_accuracy is None else {
                "model": BASELINE, "accuracy": self.baseline_accuracy.to_dict()},
            "labels_needed": self.labels_needed, "message": self.message(),
        }


def _correct(frame) -> tuple[int, int]:
    if frame.empty:
        return 0, 0
    hits = probabilities(frame).argmax(axis=1) == frame["gold"].map(
        {"negative": 0, "neutral": 1, "positive": 2}).to_numpy()
    return int(hits.sum()), len(frame)


def model_fit(con: duckdb.DuckDBPyConnection, model_id: str) -> ModelFit:
    """Measure ``model_id`` on the workspace's representative labels (see the module docstring).

    Posts in languages the model does not read are left out, as the KPIs leave them out.
    """
    frame = labelled_predictions(con, model_id, trained="exclude", representative_only=True, readable_only=True)
    hits, n = _correct(frame)
    accuracy = proportion_estimate(hits, n)
    baseline = None
    if model_id != BASELINE and n:
        other = labelled_predictions(con, BASELINE, trained="exclude", representative_only=True, readable_only=True)
        other = other[other["post_id"].isin(frame["post_id"])]
        if len(other):
            baseline = proportion_estimate(*_correct(other))
    if n < MIN_FIT_LABELS:
        status = "unchecked"
    elif accuracy.value < POOR_ACCURACY or (baseline is not None and accuracy.value < baseline.value):
        status = "poor"
    else:
        status = "ok"
    return ModelFit(model_id, n, accuracy, baseline, status)
