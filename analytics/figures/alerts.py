"""Alert charts: the metric over time with its robust baseline band and the fired points marked.

Builders take :func:`analytics.brand.alerts.alert_series` / :func:`analytics.brand.alerts.detect_alerts`
frames and return Plotly figures; nothing here queries data or imports Streamlit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.core.escape import plotly_text
from analytics.figures.colours import CLASS_COLOURS


def alert_timeline(series: pd.DataFrame, alerts: pd.DataFrame, *, brand: str, threshold: float) -> go.Figure:
    """One brand's metric per period, baseline ± ``threshold`` × scale as a band, alerts as red markers.

    Parameters
    ----------
    series : DataFrame
        Output of ``alert_series`` (may hold several brands; ``brand`` selects one).
    alerts : DataFrame
        Output of ``detect_alerts`` (rows of other brands/metrics are ignored).
    brand : str
    threshold : float
        Robust z that fires, drawn as the band's upper edge.
    """
    s = series[series["brand"] == brand].sort_values("period_start")
    metric = s["metric"].iloc[0] if len(s) else "volume"
    share = metric == "negative_share"
    fig = go.Figure()
    if s.empty:
        fig.update_layout(title=f"No data for {plotly_text(brand)}")
        return fig
    upper = s["baseline"] + threshold * s["scale"]
    lower = (s["baseline"] - threshold * s["scale"]).clip(lower=0)
    fig.add_scatter(x=s["period_start"], y=upper, mode="lines", line=dict(width=0), showlegend=False,
                    hoverinfo="skip", name="upper")
    fig.add_scatter(x=s["period_start"], y=lower, mode="lines", line=dict(width=0), fill="tonexty",
                    fillcolor="rgba(31,119,180,0.15)", name=f"baseline ± {threshold:g}·scale", hoverinfo="skip")
    fig.add_scatter(x=s["period_start"], y=s["baseline"], mode="lines", line=dict(dash="dash", color="#1f77b4"),
                    name="robust baseline")
    fig.add_scatter(x=s["period_start"], y=s["observed"], mode="lines+markers", line=dict(color="#333"),
                    marker=dict(size=4), name="observed", customdata=s[["z", "n_posts"]].to_numpy(),
                    hovertemplate="%{x|%Y-%m-%d}<br>%{y" + (":.0%" if share else ":.0f")
                    + "}<br>z = %{customdata[0]:.1f}, posts %{customdata[1]}<extra></extra>")
    a = alerts[(alerts["brand"] == brand) & (alerts["metric"] == metric)] if len(alerts) else alerts
    if len(a):
        fig.add_scatter(x=a["period_start"], y=a["observed"], mode="markers", name="alert fired",
                        marker=dict(color=CLASS_COLOURS["negative"], size=12, symbol="diamond"),
                        customdata=a[["z"]].to_numpy(), hovertemplate="alert: z = %{customdata[0]:.1f}<extra></extra>")
    label = "negative share" if share else "posts"
    fig.update_layout(title=f"{plotly_text(brand)}: {label} per {s['period'].iloc[0]} against its robust baseline",
                      yaxis_title=label, yaxis_tickformat=".0%" if share else None, hovermode="x unified")
    return fig
