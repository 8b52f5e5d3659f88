"""Overview for executives: headline figures against the previous period, three charts, the report."""

from __future__ import annotations

import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import file_stem, markdown_text
from analytics.quantify import DEFAULT_METHOD
from dashboard.loaders import load_summary, report_file
from analytics.figures import brand as charts
from dashboard.workspace import workspace_connection
from dashboard.state import current_filters
from dashboard.fit import render_model_fit


def main() -> None:
    st.title("Overview")
    f = current_filters()
    render_model_fit(f)  # is the model checked on this workspace's data? (issue 22)
    if not f.model_id or not f.our_brand:
        st.info("Pick a workspace with scored posts and our brand in the sidebar.")
        return
    window = st.radio("Compare the last", ["day", "week", "month"], index=1, horizontal=True, key="ov_window",
                      help="The last day/week/month of the selected date range against the one before it.")
    con = workspace_connection(f.workspace)
    try:
        with st.spinner("Computing headline figures..."):
            summary, trend = load_summary(con, f.workspace, f.model_id, f.our_brand, f.brands, window,
                                          f.end_exclusive, DEFAULT_METHOD)
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
        return
    ours, before = summary.ours, summary.ours_before
    st.caption(f"{markdown_text(f.our_brand)}, {summary.start:%d %b %Y} to {summary.end:%d %b %Y} (exclusive) against the "
               f"{window} before. Sentiment figures are corrected for the model's measured error.")
    cards = charts.kpi_cards(ours, before)
    cols = st.columns(6)
    for col, card in zip(cols, cards[:3]):
        col.metric(card.label, card.value, card.delta, help=f"{card.help}; {card.interval or ''}",
                   delta_color="normal" if card.label != "Negative share" else "inverse")
        if card.interval:
            col.caption(card.interval)
    topic = summary.rising_topic
    cols[3].metric("Top rising complaint", markdown_text(topic.label) if topic else "n/a",  # a value is markdown too
                   f"{topic.change:+d} negative posts" if topic else None, delta_color="inverse",
                   help="Topic or complaint reason whose negative posts grew most against the previous period")
    cols[4].metric("Open alerts", "n/a" if summary.open_alerts is None else str(summary.open_alerts),
                   help="Alerts not yet closed (Alerts page)")
    cols[5].metric(cards[3].label, cards[3].value, cards[3].delta, help=cards[3].help)
    if summary.current.correction.fell_back:
        st.warning(f"Sentiment shown raw: {markdown_text(summary.current.correction.fallback_reason)}.")

    st.subheader("Net sentiment over time")
    st.plotly_chart(charts.net_sentiment_chart(trend.by_group, kinds=("corrected",)), key="ov_net")
    st.caption("Positive minus negative share per brand (corrected), with 95% bands.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.share_comparison_chart(summary.current.by_group, cls="negative"), key="ov_neg")
        st.caption(f"Negative share per brand in the last {window}: raw vs corrected, with 95% intervals.")
    with right:
        st.plotly_chart(charts.share_of_voice_chart(trend.by_group), key="ov_sov")
        st.caption("Share of voice: each brand's share of the posts about the compared brands.")

    st.subheader("Report")
    st.caption("The same figures and charts as a self-contained HTML file (interactive) or a PDF.")
    args = (con, f.workspace, f.model_id, f.our_brand, f.brands, window, DEFAULT_METHOD)
    c1, c2 = st.columns(2)
    c1.download_button("Download HTML report", data=lambda: report_file(*args, "html"),
                       file_name=f"brandlens-{file_stem(f.our_brand)}.html", mime="text/html", key="ov_html")
    c2.download_button("Download PDF report", data=lambda: report_file(*args, "pdf"),
                       file_name=f"brandlens-{file_stem(f.our_brand)}.pdf", mime="application/pdf", key="ov_pdf")


main()
