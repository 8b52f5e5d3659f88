"""Plotly builders for the Explanations page (no Streamlit)."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.core.escape import plotly_labels, plotly_text
from analytics.core.labels import CLASSES


def token_attribution_chart(explanation, *, target: str) -> go.Figure:
    """Horizontal bars: each token's SHAP attribution to ``target`` (in text order)."""
    if target not in CLASSES:
        raise ValueError(f"target must be one of {CLASSES}, got {target!r}")
    k = CLASSES.index(target)
    labels = [f"{i}: {plotly_text(t.strip()) or '␣'}" for i, t in enumerate(explanation.tokens)]
    vals = explanation.values[:, k]
    fig = go.Figure(go.Bar(x=vals, y=labels, orientation="h",
                           marker_color=["#dc2626" if v > 0 else "#2563eb" for v in vals]))
    fig.update_layout(title=f"Token attributions to '{target}'", xaxis_title="SHAP value",
                      yaxis=dict(autorange="reversed"), height=max(250, 22 * len(labels)))
    return fig


def ranking_chart(frame, *, value: str, title: str) -> go.Figure:
    """Bars of a token ranking (``token`` column and a ``value`` column)."""
    fig = go.Figure(go.Bar(x=frame[value], y=plotly_labels(frame["token"]), orientation="h"))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed"), xaxis_title=value)
    return fig


def vader_chart(frame) -> go.Figure:
    """VADER valence per token."""
    fig = go.Figure(go.Bar(x=frame["valence"], y=[f"{i}: {plotly_text(t)}" for i, t in enumerate(frame["token"])],
                           orientation="h"))
    fig.update_layout(title="VADER lexicon valence per token", yaxis=dict(autorange="reversed"))
    return fig
