"""Model evaluation charts: ROC and PR curves, confusion matrix, reliability diagram, slices, coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from analytics.core.escape import plotly_labels
from analytics.evaluation.metrics import HEADLINE_METRICS, EvaluationResult, label_codes
from analytics.core.labels import CLASSES
from analytics.figures.colours import CLASS_COLOURS, SMALL_COLOUR

METRIC_LABELS = {
    "accuracy": "Accuracy", "macro_f1": "Macro F1", "f1_pn": "F1 (pos/neg)", "macro_recall": "Macro recall",
    "cohen_kappa": "Cohen's kappa", "quadratic_kappa": "Quadratic kappa", "mcc": "Matthews corr.",
    "roc_auc_macro": "ROC AUC (macro)", "average_precision_macro": "Avg. precision (macro)",
    "ece": "Calibration error (ECE)", "brier": "Brier score",
}


def metrics_table(results: dict[str, EvaluationResult]) -> pd.DataFrame:
    """Models side by side: one row a metric, one column a model, values as 'x.xxx [lo, hi]'.

    A figure withheld for its sample size reads as its note ("too few labelled posts (n = 3): needs 30")."""
    rows = {}
    for name in HEADLINE_METRICS:
        rows[METRIC_LABELS[name]] = {
            model: r.metrics[name].text(".3f") for model, r in results.items()
        }
    return pd.DataFrame(rows).T


def roc_figure(gold: np.ndarray, proba: np.ndarray, *, title: str = "ROC curves (one class vs the rest)") -> go.Figure:
    y = label_codes(gold)
    fig = go.Figure()
    for k, c in enumerate(CLASSES):
        if 0 < (y == k).sum() < len(y):
            fpr, tpr, _ = roc_curve(y == k, proba[:, k])
            fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=c, line={"color": CLASS_COLOURS[c]}))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dot", "color": "#bbb"}))
    fig.update_layout(title=title, xaxis_title="false positive rate", yaxis_title="true positive rate", height=380)
    return fig


def pr_figure(gold: np.ndarray, proba: np.ndarray, *, title: str = "Precision-recall curves") -> go.Figure:
    y = label_codes(gold)
    fig = go.Figure()
    for k, c in enumerate(CLASSES):
        if (y == k).any():
            precision, recall, _ = precision_recall_curve(y == k, proba[:, k])
            fig.add_trace(go.Scatter(x=recall, y=precision, mode="lines", name=c, line={"color": CLASS_COLOURS[c]}))
    fig.update_layout(title=title, xaxis_title="recall", yaxis_title="precision", height=380)
    return fig


def confusion_figure(confusion: np.ndarray, *, normalise: bool = False) -> go.Figure:
    """Rows: gold class; columns: predicted class. Normalised rows sum to 1 (recall on the diagonal)."""
    values = confusion.astype(float)
    if normalise:
        values = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    text = [[f"{v:.2f}" if normalise else f"{int(v):,}" for v in row] for row in values]
    fig = go.Figure(go.Heatmap(z=values, x=list(CLASSES), y=list(CLASSES), text=text, texttemplate="%{text}",
                               colorscale="Blues", showscale=False))
    fig.update_layout(title="Confusion matrix", xaxis_title="predicted", yaxis_title="gold",
                      yaxis_autorange="reversed", height=380)
    return fig


def reliability_figure(gold: np.ndarray, proba: np.ndarray, *, n_bins: int = 10) -> go.Figure:
    """Accuracy of the top class against its confidence; the diagonal is perfect calibration."""
    correct = (proba.argmax(axis=1) == label_codes(gold)).astype(int)
    confidence = proba.max(axis=1)
    fig = go.Figure()
    if len(np.unique(correct)) > 1:
        observed, predicted = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
        fig.add_trace(go.Scatter(x=predicted, y=observed, mode="lines+markers", name="model"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dot", "color": "#bbb"}))
    fig.update_layout(title="Reliability diagram", xaxis_title="confidence", yaxis_title="accuracy", height=380)
    return fig


def slice_figure(by_group: pd.DataFrame, dimension: str, metric: str = "macro_f1") -> go.Figure:
    """The metric per slice with its interval; slices too small to rank are drawn pale."""
    frame = by_group.sort_values(metric)
    colours = np.where(frame["too_small"], SMALL_COLOUR, "#1f77b4")
    fig = go.Figure(go.Bar(
        x=frame[metric], y=plotly_labels(frame[dimension]), orientation="h", marker_color=colours,
        error_x={"type": "data", "symmetric": False, "array": frame[f"{metric}_hi"] - frame[metric],
                 "arrayminus": frame[metric] - frame[f"{metric}_lo"]},
        customdata=frame["n"], hovertemplate="%{y}: %{x:.3f} (n=%{customdata})<extra></extra>",
    ))
    fig.update_layout(title=f"{METRIC_LABELS.get(metric, metric)} by {dimension}", xaxis_range=[0, 1],
                      height=max(250, 40 * len(frame) + 100))
    return fig


def coverage_figure(coverage: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Scatter(x=coverage["coverage"], y=coverage["accuracy"], mode="lines+markers",
                               customdata=coverage["threshold"],
                               hovertemplate="keep %{x:.0%} → accuracy %{y:.3f} (confidence ≥ %{customdata})<extra></extra>"))
    fig.update_layout(title="Accuracy vs coverage", xaxis_title="share of posts kept (rest to human review)",
                      yaxis_title="accuracy on kept posts", xaxis_tickformat=".0%", height=380)
    return fig
