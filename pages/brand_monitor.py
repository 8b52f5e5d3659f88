"""Brand monitor: volume, share of voice and sentiment of our brand against competitors.

Every share is shown corrected for the model's measured confusion (default) and/or
raw, with 95% intervals; each chart leads to the posts behind it and to the model's
evaluation.
"""

from __future__ import annotations

import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text, plotly_text
from analytics.brand.periods import period_days
from analytics.quantify import CORRECTION_METHODS, METHODS
from dashboard import keys
from dashboard.auth import may_open
from dashboard.loaders import load_brand_kpis
from analytics.figures import brand as charts
from dashboard.workspace import workspace_connection
from dashboard.navigation import page
from analytics.brand.periods import auto_period
from dashboard.state import current_filters
from dashboard.fit import render_model_fit



def _open_posts(brand: str | None, start, end) -> None:
    st.session_state[keys.EXPLORER_BRAND] = brand
    st.session_state[keys.EXPLORER_DATES] = (start, end)
    st.switch_page(page("post_explorer.py"))


def _open_evaluation(brand: str | None) -> None:
    st.session_state[keys.EVALUATION_BRAND] = brand
    st.switch_page(page("model_evaluation.py"))


def _selected(event) -> tuple[str | None, object | None]:
    """(brand, period) of the first point clicked in a chart; (None, None) when nothing is selected."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    if not points:
        return None, None
    point = points[0]
    custom = point.get("customdata") or [None]
    brand = custom[0] if isinstance(custom, (list, tuple)) else None
    x = point.get("x")
    return brand, (None if x in (brand, plotly_text(brand)) else x)  # a brand axis shows the escaped name


def _links(key: str, event, f, period: str) -> None:
    """One click from the chart to its posts (Post explorer) and to the model's evaluation."""
    import pandas as pd

    brand, x = _selected(event)
    start, end = f.start, f.end
    if x is not None and period != "all":
        try:
            start, end = period_days(pd.Timestamp(x).date(), period)
        except (ValueError, TypeError):
            pass
        else:
            end = min(end, f.end) if f.end else end
    what = markdown_text(brand or "all chosen brands") + (f", {start} to {end}" if x is not None else "")
    c1, c2 = st.columns(2)
    if c1.button(f"Posts behind this chart ({what})", key=f"posts-{key}",
                 help="Open the Post explorer filtered to these posts (click a point first to narrow it)"):
        _open_posts(brand, start, end)
    if may_open("model_evaluation.py") and c2.button("How far to trust the model here", key=f"trust-{key}",
                 help="Open Model evaluation: accuracy and confusion on labelled posts of this brand"):
        _open_evaluation(brand)


def main() -> None:
    st.title("Brand monitor")
    f = current_filters()
    render_model_fit(f)  # is the model checked on this workspace's data? (issue 22)
    if not f.model_id or not f.brands:
        st.info("Pick a workspace with scored posts in the sidebar (Data page to ingest, Models page to score).")
        return
    c1, c2, c3 = st.columns([1, 1.3, 1.3])
    granularities = ["day", "week", "month"]
    period = c1.radio("Granularity", granularities, horizontal=True, key="bm_period",
                      index=granularities.index(auto_period(f.start_datetime, f.end_exclusive)),
                      help="Chosen for the date range (days up to two months, weeks up to two years, then months)")
    view = c2.radio("Shares", ["Corrected", "Raw", "Side by side"], index=0, horizontal=True, key="bm_view",
                    help="Corrected: adjusted for the model's measured confusion on labelled posts (default).")
    method = c3.selectbox("Correction", list(CORRECTION_METHODS), index=0, key="bm_method",
                          format_func=lambda m: f"{m} - {METHODS[m].title}")
    if method == "EMQ" and period == "day":
        st.info("EMQ re-runs its EM on every bootstrap resample of every day: expect a few seconds. "
                "Week or month granularity is faster.")
    try:
        with st.spinner("Computing KPIs..."):
            over_time, whole = load_brand_kpis(
                workspace_connection(f.workspace), f.workspace, f.model_id, f.brands, period,
                f.start_datetime, f.end_exclusive, method,
            )
    except (BrandLensError, ValueError) as exc:
        st.info(f"{markdown_text(str(exc)[0].upper() + str(exc)[1:])}. Widen the dates or pick other brands in "
                "the sidebar.")
        return
    note = whole.correction
    if note.fell_back:
        st.warning(markdown_text(note.banner()))  # why, and how many random labels the correction still needs
    else:
        st.caption(f":material/fact_check: {markdown_text(note.text())}")
    kinds = {"Corrected": ("corrected",), "Raw": ("raw",), "Side by side": ("corrected", "raw")}[view]

    st.subheader("Net sentiment")
    sparse = charts.too_sparse_for_a_trend(over_time.by_group)
    event = st.plotly_chart(charts.net_sentiment_chart(whole.by_group if sparse else over_time.by_group, kinds=kinds),
                            key="bm_net", on_select="rerun", selection_mode="points")
    if sparse:
        st.caption(f"Too few posts per {period} for a trend (no brand has {charts.CHART_MIN_POSTS} in any one): each "
                   "brand's net sentiment over the whole range, with 95% intervals. Try a coarser granularity.")
    else:
        st.caption("Positive minus negative share per brand and period; shaded bands are 95% intervals "
                   f"(labelled-sample and post-sampling error together); periods under {charts.CHART_MIN_POSTS} "
                   "posts are left out.")
    _links("net", event, f, period)

    left, right = st.columns(2)
    with left:
        st.subheader("Sentiment shares")
        for kind in kinds:
            ev = st.plotly_chart(charts.shares_chart(whole.by_group, kind=kind), key=f"bm_shares_{kind}",
                                 on_select="rerun", selection_mode="points")
            st.caption(f"Negative / neutral / positive share of each brand's posts over the range ({kind}); "
                       "hover for 95% intervals.")
            _links(f"shares-{kind}", ev, f, "all")
    with right:
        st.subheader("Negative share, raw vs corrected")
        ev = st.plotly_chart(charts.share_comparison_chart(whole.by_group, cls="negative"), key="bm_neg",
                             on_select="rerun", selection_mode="points")
        st.caption("Raw classify-and-count beside the corrected estimate, whiskers are 95% intervals.")
        _links("neg", ev, f, "all")

    left, right = st.columns(2)
    with left:
        st.subheader("Volume")
        ev = st.plotly_chart(charts.volume_chart(over_time.by_group), key="bm_volume", on_select="rerun",
                             selection_mode="points")
        st.caption(f"Posts per brand per {period}.")
        _links("volume", ev, f, period)
    with right:
        st.subheader("Share of voice")
        ev = st.plotly_chart(charts.share_of_voice_chart(over_time.by_group), key="bm_sov", on_select="rerun",
                             selection_mode="points")
        st.caption(f"Each brand's share of the posts about the compared brands, per {period}.")
        _links("sov", ev, f, period)

    with st.expander("KPI table"):
        st.dataframe(charts.kpi_table(whole.by_group, kinds=kinds), hide_index=True)
        st.caption("Every figure of the charts above over the whole range, each with its 95% interval [low, high].")


main()
