"""Topics and aspects: what people write about, its sentiment per brand, and what is growing.

Uses the source's aspects when posts carry them; otherwise discovers topics from MiniLM
sentence embeddings (run once from this page, with progress), stored in the workspace.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analytics.brand import topics
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.figures import topics as charts
from dashboard.workspace import workspace_connection, writing
from dashboard.state import current_filters


@st.cache_data(show_spinner=False)
def load_topics(_con, workspace: str, method: str, model_id: str, brands: tuple[str, ...],
                start: dt.datetime | None, end: dt.datetime | None, period_days: int):
    con = _con.cursor()
    kw = dict(method=method, brands=list(brands) or None)
    overview = topics.topic_overview(con, model_id=model_id, start=start, end=end, **kw)
    by_brand = topics.topic_sentiment_by_brand(con, model_id=model_id, start=start, end=end, **kw)
    growth = topics.fastest_growing(con, period_days=period_days, as_of=end, **kw)
    return overview, by_brand, growth


def _build(workspace: str) -> None:
    bar = st.progress(0.0, text="Building topics…")

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=message)

    with writing(workspace) as wcon:
        summary = topics.build_topics(wcon, progress=progress)
    bar.empty()
    st.success(f"Stored {summary.n_topics} topics ({summary.method}) for {summary.n_posts:,} posts.")


def main() -> None:
    st.title("Topics and aspects")
    f = current_filters()
    try:
        con = workspace_connection(f.workspace).cursor()
        methods = topics.stored_methods(con)
        if not methods:
            source = "the source's aspects" if topics.has_aspects(con) else "MiniLM sentence embeddings (a few minutes on CPU)"
            st.info(f"No topics stored yet. Building them uses {source}.")
            if st.button("Build topics", type="primary"):
                _build(f.workspace)
                methods = topics.stored_methods(con)
        if methods and f.model_id:
            c1, c2, c3 = st.columns([2, 1, 1])
            method = c1.selectbox("Topic method", methods,
                                  help="'aspect': reasons given by the source; 'embedding-kmeans': discovered topics")
            period_days = c2.number_input("Growth period (days)", min_value=1, max_value=90, value=7)
            if c3.button("Rebuild topics"):
                _build(f.workspace)
            overview, by_brand, growth = load_topics(
                workspace_connection(f.workspace), f.workspace, method, f.model_id, f.brands,
                f.start_datetime, f.end_exclusive, int(period_days))
            st.plotly_chart(charts.topic_sentiment_bars(overview), width="stretch")
            st.caption(f"Posts per topic in the selected dates and brands, split by the sentiment model "
                       f"'{markdown_text(f.model_id)}' predicts (not corrected for its error).")
            table = overview.assign(keywords=overview["keywords"].map(", ".join))
            st.dataframe(table[["label", "keywords", "posts", "share", "negative", "net_sentiment"]],
                         hide_index=True, width="stretch",
                         column_config={"share": st.column_config.NumberColumn(format="percent"),
                                        "negative": st.column_config.NumberColumn("negative share", format="percent"),
                                        "net_sentiment": st.column_config.NumberColumn(format="%.2f")})
            st.caption("Keywords: class-based TF-IDF — words frequent in the topic and rare in the others.")
            st.plotly_chart(charts.topic_brand_heatmap(by_brand), width="stretch")
            st.caption("Share of each brand's posts on a topic that the model predicts negative.")
            st.plotly_chart(charts.topic_growth_bars(growth), width="stretch")
            st.caption(f"Change in a topic's share of all posts: last {int(period_days)} days of the selection "
                       f"against the {int(period_days)} days before.")
        elif methods:
            st.info("Score the workspace on the Models page to see sentiment per topic.")
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))


main()
