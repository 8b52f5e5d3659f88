"""Overview for executives: headline figures for exactly the sidebar's filters, three charts, the report."""

from __future__ import annotations

import streamlit as st

from analytics.brand.periods import auto_period, window_start
from analytics.core.errors import BrandLensError
from analytics.core.escape import file_stem, markdown_text
from analytics.quantify import DEFAULT_METHOD
from dashboard.loaders import load_summary, report_file
from dashboard.navigation import link_to
from analytics.figures import brand as charts
from dashboard.workspace import workspace_connection
from dashboard.state import current_filters
from dashboard.fit import render_model_fit

HEADLINE_CHOICES = {"entire selected range": "range", "last day": "day", "last week": "week", "last month": "month"}
# What the headline figures cover (the report's headline); each is compared with the same length before.

REPORT_KEY = "ov_report"
# A prepared report: (filters it was built for, format, bytes); a change of filters drops it.


def main() -> None:
    st.title("Overview")
    f = current_filters()
    render_model_fit(f)  # is the model checked on this workspace's data? (issue 22)
    if not f.model_id or not f.our_brand:
        st.info("Nothing to show yet: upload an export on the **Data** page, then score it on the **Models** page.")
        link_to("data.py" if not f.our_brand else "models.py", "Data page" if not f.our_brand else "Models page")
        return
    if f.start_datetime is None or f.end_exclusive is None:
        st.info("The workspace has no dated posts: the Overview compares periods. Brand monitor shows the totals.")
        return
    choice = st.radio("Headline figures for", list(HEADLINE_CHOICES), index=0, horizontal=True, key="ov_window",
                      help="The whole date range of the sidebar, or its last day/week/month; each against the "
                           "period of the same length just before it.")
    headline = HEADLINE_CHOICES[choice]
    end = f.end_exclusive
    start = f.start_datetime if headline == "range" else max(f.start_datetime, window_start(end, headline))
    con = workspace_connection(f.workspace)
    try:
        with st.spinner("Computing headline figures..."):
            summary, trend = load_summary(con, f.workspace, f.model_id, f.our_brand, f.brands, start, end,
                                          f.start_datetime, DEFAULT_METHOD)
    except BrandLensError as exc:
        st.info(f"{markdown_text(str(exc)[0].upper() + str(exc)[1:])}. Choose **entire selected range** above or "
                "widen the dates in the sidebar.")
        return
    ours, before = summary.ours, summary.ours_before
    kind = "raw" if summary.current.correction.fell_back else "corrected"
    st.caption(f"{markdown_text(f.our_brand)}, {summary.start:%d %b %Y} to {summary.end:%d %b %Y} (exclusive) against "
               f"the same length before. " + ("Sentiment figures are corrected for the model's measured error."
                                               if kind == "corrected" else "Sentiment figures are **raw** (see below)."))
    cards = charts.kpi_cards(ours, before, kind=kind)
    cols = st.columns(6)
    for col, card in zip(cols, cards[:3]):
        col.metric(card.label, card.value, card.delta, help=f"{card.help}; {card.interval or ''}",
                   delta_color="normal" if card.label != "Negative share" else "inverse")
        if card.interval:
            col.caption(card.interval)
    if before is None:
        cols[0].caption("No posts in the period before: no change to show.")
    topic = summary.rising_topic
    cols[3].metric("Top rising complaint", markdown_text(topic.label) if topic else "n/a",  # a value is markdown too
                   f"{topic.change:+d} negative posts" if topic else None, delta_color="inverse",
                   help="Topic or complaint reason whose negative posts grew most against the previous period")
    cols[4].metric("Open alerts", "n/a" if summary.open_alerts is None else str(summary.open_alerts),
                   help="Alerts not yet closed (Alerts page)")
    cols[5].metric(cards[3].label, cards[3].value, cards[3].delta, help=cards[3].help)
    if summary.current.correction.fell_back:
        st.warning(markdown_text(summary.current.correction.banner()))  # why, and the random labels still needed

    period = auto_period(f.start_datetime, end)
    sparse = charts.too_sparse_for_a_trend(trend.by_group)
    whole = summary.current.by_group.assign(period=None)  # one figure per brand over the headline period
    if sparse:  # a few posts spread over years: the figures over the whole headline period, not a trend
        st.subheader("Net sentiment over the headline period")
        st.plotly_chart(charts.net_sentiment_chart(whole, kinds=(kind,)), key="ov_net")
        st.caption(f"Too few posts per {period} for a trend (no brand has {charts.CHART_MIN_POSTS} in any one): "
                   f"each brand's net sentiment over the headline period ({kind}), with 95% intervals.")
    else:
        st.subheader(f"Net sentiment by {period}")
        st.plotly_chart(charts.net_sentiment_chart(trend.by_group, kinds=(kind,)), key="ov_net")
        st.caption(f"Positive minus negative share per brand and {period} ({kind}), with 95% bands; a gap is a "
                   f"{period} without posts or with fewer than {charts.CHART_MIN_POSTS}.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.share_comparison_chart(summary.current.by_group, cls="negative"), key="ov_neg")
        st.caption(f"Negative share per brand in the headline period ({choice}), "
                   + ("raw vs corrected, " if kind == "corrected" else "raw, ") + "with 95% intervals.")
    with right:
        st.plotly_chart(charts.share_of_voice_chart(whole if sparse else trend.by_group),
                        key="ov_sov")
        st.caption("Share of voice: each brand's share of the posts about the compared brands"
                   + (" over the headline period." if sparse else f", per {period}."))
    _report_section(con, f, end, headline)


def _report_section(con, f, end, headline: str) -> None:
    """Prepare a report for exactly these filters, then download it; a report that cannot be built says why."""
    st.subheader("Report")
    st.caption("The same figures for exactly these filters, as a self-contained HTML file (interactive charts) or "
               "an executive PDF (headline page, a page per brand with complaints and example posts, alerts).")
    token = (f.workspace, f.model_id, f.our_brand, f.brands, f.start, f.end, headline)
    ready = st.session_state.get(REPORT_KEY)
    if ready is not None and ready[0] != token:
        ready = st.session_state[REPORT_KEY] = None
    cols = st.columns(2)
    for col, fmt, mime in ((cols[0], "html", "text/html"), (cols[1], "pdf", "application/pdf")):
        with col:
            if ready is not None and ready[1] == fmt:
                st.download_button(f"Download {fmt.upper()} report", data=ready[2], type="primary",
                                   file_name=f"brandlens-{file_stem(f.our_brand)}.{fmt}", mime=mime, key=f"ov_{fmt}")
            elif st.button(f"Prepare {fmt.upper()} report", key=f"ov_prepare_{fmt}"):
                try:
                    with st.spinner(f"Building the {fmt.upper()} report…"):
                        data = report_file(con, f.model_id, f.our_brand, f.brands, f.start_datetime, end, headline,
                                           DEFAULT_METHOD, fmt)
                except (BrandLensError, ValueError) as exc:
                    st.error(f"The report cannot be built for these filters: {markdown_text(exc)}.")
                else:
                    st.session_state[REPORT_KEY] = (token, fmt, data)
                    st.rerun()


main()
