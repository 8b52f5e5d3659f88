"""Evaluation of the models that produced a workspace's numbers, on its labelled posts."""

from analytics.evaluation.labelled import labelled_predictions, probabilities
from analytics.evaluation.metrics import (
    HEADLINE_METRICS,
    EvaluationResult,
    PairedDifference,
    evaluate_predictions,
    paired_difference,
)
from analytics.evaluation.workspace import ModelComparison, compare_models, evaluate_workspace
from analytics.evaluation.slices import (
    SLICE_DIMENSIONS,
    SliceReport,
    accuracy_by_coverage,
    confident_mistakes,
    slice_metrics,
)

__all__ = [
    "HEADLINE_METRICS", "SLICE_DIMENSIONS", "EvaluationResult", "ModelComparison", "PairedDifference", "SliceReport",
    "accuracy_by_coverage", "compare_models", "evaluate_workspace", "confident_mistakes", "evaluate_predictions", "labelled_predictions",
    "paired_difference", "probabilities", "slice_metrics",
]
