"""Topic charts: size and sentiment per topic, negative share per topic and brand, growth.

Builders take the DataFrames of :mod:`analytics.brand.topics` and return Plotly figures; nothing
here queries data or imports Streamlit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.core.escape import plotly_labels
from analytics.figures.colours import CLASS_COLOURS



def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, annotations=[dict(text="no topics in this selection", showarrow=False,
                                                      xref="paper", yref="paper", x=0.5, y=0.5)])
    return fig


def topic_sentiment_bars(overview: pd.DataFrame) -> go.Figure:
    """Horizontal stacked bars: posts per topic split by predicted sentiment (from ``topic_overview``)."""
    title = "Topics by size and predicted sentiment"
    if overview.empty:
        return _empty(title)
    frame = overview.sort_values("posts")
    fig = go.Figure()
    for cls in ("negative", "neutral", "positive"):
        fig.add_bar(
            y=plotly_labels(frame["label"]), x=frame["posts"] * frame[cls], name=cls, orientation="h",
            marker_color=CLASS_COLOURS[cls], customdata=frame[["topic_id"]].to_numpy(),
            hovertemplate="%{y}<br>" + cls + ": %{x:.0f} posts<extra></extra>",
        )
    fig.update_layout(barmode="stack", title=title, xaxis_title="posts", yaxis_title=None,
                      height=max(320, 28 * len(frame) + 120), legend_title_text="predicted")
    return fig


_HEATMAP_TITLES = {"negative": "Negative share per topic and brand", "net_sentiment": "Net sentiment per topic and brand",
                   "share": "Share of each brand's posts per topic"}


def topic_brand_heatmap(by_brand: pd.DataFrame, *, value: str = "negative") -> go.Figure:
    """Heatmap of ``value`` per topic (rows) and brand (columns).

    ``value``: ``"negative"`` (negative share), ``"net_sentiment"``, or ``"share"`` — each
    brand's posts spread over the topics (columns sum to 1; for complaint topics, whose posts
    are all negative, what each brand's complaints are about).
    """
    if value not in _HEATMAP_TITLES:
        raise ValueError(f"value must be one of {sorted(_HEATMAP_TITLES)}, got {value!r}")
    title = _HEATMAP_TITLES[value]
    if by_brand.empty:
        return _empty(title)
    posts = by_brand.pivot_table(index="label", columns="brand", values="posts", aggfunc="first")
    if value == "share":
        table = posts / posts.sum(axis=0)
    else:
        table = by_brand.pivot_table(index="label", columns="brand", values=value, aggfunc="first").reindex_like(posts)
    diverging = value == "net_sentiment"
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=plotly_labels(table.columns), y=plotly_labels(table.index), customdata=posts.to_numpy(),
        colorscale="RdYlGn" if diverging else "Reds", zmin=-1 if diverging else 0,
        zmax=1 if value != "share" else float(max(table.max().max(), 0.01)),
        hovertemplate="%{y} · %{x}<br>" + value + ": %{z:.0%}<br>posts: %{customdata}<extra></extra>",
    ))
    fig.update_layout(title=title, height=max(320, 28 * len(table) + 120))
    return fig


def topic_growth_bars(growth: pd.DataFrame, *, top: int = 10) -> go.Figure:
    """Bars of the change in share of posts (percentage points), fastest growing topics first."""
    title = "Fastest growing topics (change in share of posts vs previous period)"
    if growth.empty:
        return _empty(title)
    frame = growth.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(
        y=plotly_labels(frame["label"]), x=100 * frame["share_change"], orientation="h",
        marker_color=[CLASS_COLOURS["negative"] if v > 0 else CLASS_COLOURS["positive"] for v in frame["share_change"]],
        customdata=frame[["current", "previous"]].to_numpy(),
        hovertemplate="%{y}<br>%{x:+.1f} pp<br>posts now %{customdata[0]}, before %{customdata[1]}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title="change in share (percentage points)",
                      height=max(300, 28 * len(frame) + 120))
    return fig
