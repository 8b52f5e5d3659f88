"""Brand KPI charts: volume, share of voice, sentiment shares, net sentiment with interval bands.

Every trace carries the brand as ``customdata[0]``, so a page can turn a clicked point
into filters (brand, and the period on the x axis of time charts). Brand names are data:
trace names and category values go through :func:`analytics.core.escape.plotly_text`
(Plotly draws ``<a>``, ``<b>`` and ``<br>`` in them); ``customdata`` keeps the name as stored.

Every builder takes the ``by_group`` DataFrame of :class:`analytics.brand.kpis.BrandKPIs`
(or a :class:`~analytics.brand.kpis.BrandKPI`) and returns a Plotly figure; nothing here
queries data or imports Streamlit, so pages, the report and tests share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.brand.kpis import MIN_PERIOD_POSTS, BrandKPI
from analytics.core.escape import plotly_labels, plotly_text
from analytics.core.labels import CLASSES
from analytics.figures.colours import CLASS_COLOURS, RAW_COLOUR, brand_colours, rgba

KINDS = ("corrected", "raw")


def kind_label(frame: pd.DataFrame, kind: str) -> str:
    """How a chart names ``kind``, taken from the result: ``"raw (correction off)"`` when its "corrected"
    figures fell back to raw counts (too few random labels), else ``kind``."""
    if kind == "corrected" and "method" in frame and len(frame) and (frame["method"] == "CC").all():
        return "raw (correction off)"
    return kind


MAX_SERIES = 8
"""Brands a chart draws at most: ours (the frame's first brand) and the largest others; the rest are
"others" where counts add up (volume, share of voice) and named in the title where they do not."""

OTHERS = "others"


def _brands(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["brand"].astype(str)))


def top_brands(frame: pd.DataFrame, max_series: int = MAX_SERIES) -> list[str]:
    """The frame's first brand (ours) and the largest of the others by posts, at most ``max_series`` in all."""
    brands = _brands(frame)
    if len(brands) <= max_series:
        return brands
    volume = frame.groupby(frame["brand"].astype(str), sort=False)["n"].sum()
    rest = volume.drop(brands[0]).sort_values(ascending=False, kind="stable")
    return [brands[0], *list(rest.index[: max_series - 1])]


def _kept(frame: pd.DataFrame, max_series: int) -> tuple[pd.DataFrame, int]:
    """Rows of :func:`top_brands` and how many brands were left out."""
    keep = top_brands(frame, max_series)
    left_out = len(_brands(frame)) - len(keep)
    return frame[frame["brand"].astype(str).isin(keep)], left_out


def _fold_others(frame: pd.DataFrame, columns: tuple[str, ...], max_series: int) -> pd.DataFrame:
    """:func:`top_brands` plus one "others" brand summing ``columns`` of the rest per period."""
    keep = top_brands(frame, max_series)
    inside = frame["brand"].astype(str).isin(keep)
    if inside.all():
        return frame
    rest = frame[~inside]
    key = rest["period"].fillna(pd.Timestamp(0)) if "period" in rest else pd.Series(0, index=rest.index)
    summed = rest.groupby(key, sort=True)[list(columns)].sum().reset_index(drop=True)
    summed["period"] = rest.groupby(key, sort=True)["period"].first().to_numpy()
    summed["brand"] = OTHERS
    return pd.concat([frame[inside], summed], ignore_index=True)


def _left_out_note(title: str, left_out: int) -> str:
    return title if not left_out else f"{title}: our brand and the {MAX_SERIES - 1} largest ({left_out} more not drawn)"


def too_sparse_for_a_trend(frame: pd.DataFrame, min_posts: int | None = None) -> bool:
    """Whether no brand has ``min_posts`` (default :data:`CHART_MIN_POSTS`) posts in any one period:
    a trend chart would be empty, and a page shows the whole range instead."""
    min_posts = CHART_MIN_POSTS if min_posts is None else min_posts
    timed = frame[frame["period"].notna()]
    return timed.empty or not (timed["n"] >= min_posts).any()


def time_segments(part: pd.DataFrame) -> list[pd.DataFrame]:
    """A brand's time series cut where a period has no posts, so a line never joins points years apart."""
    from analytics.brand.periods import infer_period, period_step

    part = part.sort_values("period")
    if len(part) < 2:
        return [part]
    step = period_step(infer_period(part["period"]))
    breaks = (pd.to_datetime(part["period"]).diff() > step).cumsum()
    return [seg for _, seg in part.groupby(breaks.to_numpy(), sort=True)]


def _with_gaps(part: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``part`` with an empty row between :func:`time_segments`, which Plotly draws as a break in the line."""
    segments = time_segments(part)
    if len(segments) == 1:
        return segments[0]
    pieces = []
    for seg in segments:
        if pieces:
            gap = seg.iloc[:1].copy()
            gap[columns] = float("nan")
            pieces.append(gap)
        pieces.append(seg)
    return pd.concat(pieces)


def volume_chart(frame: pd.DataFrame) -> go.Figure:
    """Posts per brand per period (lines; bars when there is a single period)."""
    frame = _fold_others(frame, ("n",), MAX_SERIES)
    fig = go.Figure()
    colours = brand_colours(_brands(frame))
    timed = frame["period"].notna().any()
    for brand, part in frame.groupby("brand", sort=False):
        if timed:
            part = _with_gaps(part, ["n"])
            fig.add_trace(go.Scatter(x=part["period"], y=part["n"], name=plotly_text(brand), mode="lines+markers",
                                     line={"color": colours[str(brand)]}, customdata=part[["brand"]]))
        else:
            fig.add_trace(go.Bar(x=[plotly_text(brand)], y=part["n"], name=plotly_text(brand),
                                 marker_color=colours[str(brand)],
                                 customdata=part[["brand"]]))
    fig.update_layout(title="Volume (posts)", yaxis_title="posts", hovermode="x unified", legend_title="brand")
    return fig


def share_of_voice_chart(frame: pd.DataFrame) -> go.Figure:
    """Each brand's share of the posts about the compared brands (stacked to 100% per period).

    With one brand the share is 100% by definition: the figure says so instead of drawing it.
    """
    fig = go.Figure()
    if len(_brands(frame)) < 2:
        fig.add_annotation(text="Share of voice compares brands: pick competitors in the sidebar.",
                           x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
        fig.update_layout(title="Share of voice", xaxis_visible=False, yaxis_visible=False)
        return fig
    frame = _fold_others(frame, ("n", "share_of_voice"), MAX_SERIES)
    colours = brand_colours(_brands(frame))
    timed = frame["period"].notna().any()
    for brand, part in frame.groupby("brand", sort=False):
        x = part["period"] if timed else ["all"]
        fig.add_trace(go.Bar(x=x, y=part["share_of_voice"], name=plotly_text(brand), marker_color=colours[str(brand)],
                             customdata=part[["brand"]], hovertemplate="%{y:.1%}"))
    fig.update_layout(title="Share of voice", barmode="stack", yaxis_tickformat=".0%", legend_title="brand")
    return fig


def shares_chart(frame: pd.DataFrame, *, kind: str = "corrected") -> go.Figure:
    """Negative / neutral / positive shares per brand, stacked, with each share's 95% interval.

    ``frame`` holds one row per brand (period ``all``); ``kind`` is ``"corrected"`` or ``"raw"``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    frame, left_out = _kept(frame, MAX_SERIES)
    fig = go.Figure()
    for c in CLASSES:
        mid = frame[f"{c}_{kind}"]
        fig.add_trace(go.Bar(
            x=plotly_labels(frame["brand"]), y=mid, name=c, marker_color=CLASS_COLOURS[c],
            customdata=frame[["brand", f"{c}_{kind}_lo", f"{c}_{kind}_hi"]],
            hovertemplate="%{x}: %{y:.1%} (95% CI %{customdata[1]:.1%}-%{customdata[2]:.1%})<extra>" + c + "</extra>",
        ))
    fig.update_layout(title=_left_out_note(f"Sentiment shares ({kind_label(frame, kind)})", left_out), barmode="stack", yaxis_tickformat=".0%",
                      legend_title="sentiment")
    return fig


def share_comparison_chart(frame: pd.DataFrame, *, cls: str = "negative") -> go.Figure:
    """One class's share per brand, raw and corrected side by side, with 95% interval whiskers."""
    if cls not in CLASSES:
        raise ValueError(f"cls must be one of {CLASSES}, got {cls!r}")
    frame, left_out = _kept(frame, MAX_SERIES)
    fig = go.Figure()
    off = kind_label(frame, "corrected") != "corrected"  # the correction is off: one bar, not raw beside raw
    for kind, colour in (("raw", RAW_COLOUR),) if off else (("raw", RAW_COLOUR), ("corrected", CLASS_COLOURS[cls])):
        y = frame[f"{cls}_{kind}"]
        fig.add_trace(go.Bar(
            x=plotly_labels(frame["brand"]), y=y, name=kind, marker_color=colour, customdata=frame[["brand"]],
            error_y={"type": "data", "symmetric": False, "array": frame[f"{cls}_{kind}_hi"] - y,
                     "arrayminus": y - frame[f"{cls}_{kind}_lo"]},
        ))
    title = (f"{cls.capitalize()} share, raw (correction off) (95% CI)" if off
             else f"{cls.capitalize()} share: raw vs corrected (95% CI)")
    fig.update_layout(title=_left_out_note(title, left_out),
                      barmode="group",
                      yaxis_tickformat=".0%")
    return fig


CHART_MIN_POSTS = 5
"""A period of a trend line needs this many posts to be drawn (its interval would span most of the axis)."""


def net_sentiment_chart(frame: pd.DataFrame, *, kinds: tuple[str, ...] = KINDS,
                        min_posts: int = CHART_MIN_POSTS) -> go.Figure:
    """Net sentiment (positive minus negative share) per brand over time with 95% bands.

    One panel per kind in ``kinds`` (corrected and raw side by side by default), sharing the y axis.
    Periods with fewer than ``min_posts`` posts are left out (a gap), and the chart says so.
    """
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    if len(kinds) == 1:  # one panel: a plain figure (make_subplots costs ~0.2 s)
        fig = go.Figure()
        fig.add_annotation(text=kind_label(frame, kinds[0]), x=0.5, y=1.04, xref="paper", yref="paper", showarrow=False)
    else:
        fig = make_subplots(rows=1, cols=len(kinds), shared_yaxes=True, subplot_titles=[kind_label(frame, k) for k in kinds])
    grid = {} if len(kinds) == 1 else None
    frame, left_out = _kept(frame, MAX_SERIES)
    timed_rows = frame["period"].notna()
    thin = timed_rows & (frame["n"] < min_posts)
    if thin.any():  # a period of one or two posts swings from -1 to +1: noise, not a trend
        frame = frame[~thin]
        fig.add_annotation(text=f"periods with fewer than {min_posts} posts are not drawn", x=1, y=-0.12,
                           xref="paper", yref="paper", showarrow=False, xanchor="right", font={"size": 10})
        if frame.empty:
            fig.add_annotation(text=f"No brand has {min_posts} posts in any one period: choose a coarser granularity "
                                    "or a wider date range.", x=0.5, y=0.5, xref="paper", yref="paper",
                               showarrow=False)
            fig.update_layout(title="Net sentiment (positive - negative share)")
            fig.update_xaxes(visible=False)
            fig.update_yaxes(visible=False)
            return fig
    colours = brand_colours(_brands(frame))
    timed = frame["period"].notna().any()
    for col, kind in enumerate(kinds, start=1):
        for brand, part in frame.groupby("brand", sort=False):
            colour = colours[str(brand)]
            if timed:
                for seg in time_segments(part):  # a band per stretch of periods with posts
                    fig.add_trace(go.Scatter(
                        x=pd.concat([seg["period"], seg["period"][::-1]]),
                        y=pd.concat([seg[f"net_{kind}_hi"], seg[f"net_{kind}_lo"][::-1]]),
                        fill="toself", fillcolor=rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip",
                        showlegend=False, legendgroup=plotly_text(brand), name=f"{plotly_text(brand)} 95% CI",
                    ), **(grid if grid is not None else {"row": 1, "col": col}))
                part = _with_gaps(part, [f"net_{kind}", f"net_{kind}_lo", f"net_{kind}_hi"])
            x = part["period"] if timed else pd.Series(plotly_labels(part["brand"]), index=part.index)
            fig.add_trace(go.Scatter(
                x=x, y=part[f"net_{kind}"], name=plotly_text(brand), legendgroup=plotly_text(brand), showlegend=col == 1,
                mode="lines+markers" if timed else "markers", line={"color": colour},
                customdata=part[["brand", f"net_{kind}_lo", f"net_{kind}_hi"]],
                error_y=None if timed else {"type": "data", "symmetric": False,
                                            "array": part[f"net_{kind}_hi"] - part[f"net_{kind}"],
                                            "arrayminus": part[f"net_{kind}"] - part[f"net_{kind}_lo"]},
                hovertemplate="%{y:+.2f} (95% CI %{customdata[1]:+.2f} to %{customdata[2]:+.2f})",
            ), **(grid if grid is not None else {"row": 1, "col": col}))
    fig.update_layout(title=_left_out_note("Net sentiment (positive - negative share)", left_out),
                      hovermode="closest")
    fig.update_yaxes(range=[-1, 1], zeroline=True)
    return fig


@dataclass(frozen=True)
class KPICard:
    """One headline figure: label, formatted value, change against the previous period, interval text."""

    label: str
    value: str
    delta: str | None
    interval: str | None
    help: str


def _pp(x: float) -> str:
    return f"{x * 100:+.1f} pp"


def kpi_cards(current: BrandKPI, previous: BrandKPI | None = None, *, kind: str = "corrected") -> list[KPICard]:
    """Headline cards of one brand: net sentiment, share of voice, negative share, volume.

    Below :data:`~analytics.brand.kpis.MIN_PERIOD_POSTS` posts the sentiment cards say "too few posts"
    (interval text: "too few posts (n = 1): needs 30") instead of a figure."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    net, prev_net = getattr(current.net_sentiment, kind), previous and getattr(previous.net_sentiment, kind)
    neg = getattr(current.share["negative"], kind)
    prev_neg = previous and getattr(previous.share["negative"], kind)
    method = current.net_sentiment.method if kind == "corrected" else "raw"
    method = "raw: correction off" if method == "CC" else method
    if previous is not None and previous.too_few:  # no change against a figure that is not given
        prev_net = prev_neg = None
    if current.too_few:  # a handful of posts: no headline figure, say why (issue 22)
        few = [KPICard(label, "too few posts", None, current.too_few, f"{what} ({method}); needs "
                       f"{MIN_PERIOD_POSTS} posts in the period") for label, what in
               (("Net sentiment", "positive minus negative share"), ("Negative share", "share of negative posts"))]
    else:
        few = [
            KPICard("Net sentiment", f"{net.value:+.2f}",
                    None if prev_net is None else f"{net.value - prev_net.value:+.2f}",
                    f"95% CI {net.ci95[0]:+.2f} to {net.ci95[1]:+.2f}", f"positive minus negative share ({method})"),
            KPICard("Negative share", f"{neg.value:.1%}", None if prev_neg is None else _pp(neg.value - prev_neg.value),
                    f"95% CI {neg.ci95[0]:.1%} to {neg.ci95[1]:.1%}", f"share of negative posts ({method})"),
        ]
    return [
        few[0],
        KPICard("Share of voice", f"{current.share_of_voice:.1%}",
                None if previous is None else _pp(current.share_of_voice - previous.share_of_voice), None,
                "share of the posts about the compared brands"),
        few[1],
        KPICard("Volume", f"{current.n:,}", None if previous is None else f"{current.n - previous.n:+,}", None,
                "posts in the period"),
    ]


def kpi_table(frame: pd.DataFrame, *, kinds: tuple[str, ...] = KINDS) -> pd.DataFrame:
    """The ``by_group`` KPIs as a table a person reads: one column per figure, each "value [low, high]".

    The whole-range row's period says "whole range" (not a blank); shares are percentages,
    net sentiment signed; interval bounds sit beside their value instead of in ``_lo``/``_hi`` columns.
    """
    def share(col: str) -> list[str]:
        return [f"{v:.1%} [{lo:.1%}, {hi:.1%}]" for v, lo, hi in zip(frame[col], frame[f"{col}_lo"], frame[f"{col}_hi"])]

    def net(col: str) -> list[str]:
        return [f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]" for v, lo, hi in zip(frame[col], frame[f"{col}_lo"], frame[f"{col}_hi"])]

    out = pd.DataFrame({
        "brand": frame["brand"].astype(str).to_numpy(),
        "period": ["whole range" if pd.isna(p) else f"{pd.Timestamp(p):%Y-%m-%d}" for p in frame["period"]],
        "posts": frame["n"].astype(int).to_numpy(),
        "share of voice": [f"{v:.1%}" for v in frame["share_of_voice"]],
    })
    for kind in kinds:
        for c in CLASSES:
            out[f"{c} ({kind})"] = share(f"{c}_{kind}")
        out[f"net sentiment ({kind})"] = net(f"net_{kind}")
    return out
