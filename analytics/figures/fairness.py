"""Plotly builders for the Fairness page (no Streamlit)."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.core.escape import plotly_text
from analytics.core.estimate import interval_columns


def group_metric_bars(result, *, metric: str = "accuracy") -> go.Figure:
    """Bars of ``metric`` per group with 95 % bootstrap intervals; groups too small to rank hatched and labelled."""
    bg = result.by_group
    lo_name, hi_name = interval_columns(metric)
    y = bg[metric].to_numpy()
    err = dict(type="data", symmetric=False, array=(bg[hi_name] - bg[metric]).clip(lower=0).to_numpy(),
               arrayminus=(bg[metric] - bg[lo_name]).clip(lower=0).to_numpy())
    labels = [f"{plotly_text(g)} (n={int(n)}{', too small' if s else ''})" for g, n, s in zip(bg.index, bg["count"], bg["too_small"])]
    fig = go.Figure(go.Bar(x=labels, y=y, error_y=err,
                           marker_pattern_shape=["/" if s else "" for s in bg["too_small"]]))
    fig.update_layout(title=f"{metric} by {result.group}", yaxis_title=metric, xaxis_title=result.group)
    return fig


def eec_gap_chart(results: list[dict], *, attribute: str = "gender") -> go.Figure:
    """Mean gap per emotion (and overall) with 95 % intervals, one trace per model (``EECResult.to_dict()``)."""
    fig = go.Figure()
    for r in results:
        names, vals, lo, hi = ["all"], [], [], []
        g = r[attribute]["mean_gap"]
        vals.append(g["value"]); lo.append(g["ci95"][0]); hi.append(g["ci95"][1])
        for emo, d in r["by_emotion"].items():
            if attribute in d:
                names.append(emo)
                m = d[attribute]["mean_gap"]
                vals.append(m["value"]); lo.append(m["ci95"][0]); hi.append(m["ci95"][1])
        fig.add_trace(go.Bar(name=plotly_text(r["model"]), x=names, y=vals, error_y=dict(
            type="data", symmetric=False, array=[h - v for h, v in zip(hi, vals)],
            arrayminus=[v - l for v, l in zip(vals, lo)])))
    side = "female - male" if attribute == "gender" else "African-American - European"
    fig.update_layout(barmode="group", title=f"EEC {attribute} gap ({side}) in P(pos) - P(neg)",
                      yaxis_title="mean paired gap", xaxis_title="emotion")
    return fig
