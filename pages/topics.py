"""Topics and aspects: what people write about, its sentiment per brand, and what is growing.

Shows the source's aspects when posts carry them and, for the other posts, the complaint topics
(among negative posts) and general topics (among all posts) discovered from multilingual-e5 embeddings
and TF-IDF (built once from this page or ``brandlens topics``; new posts join them with
``brandlens run``), with when they were built and whether a rebuild is advised.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analytics.brand import topics
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.figures import topics as charts
from dashboard.workspace import invalidate, shared_workspace, workspace_connection
from dashboard.state import current_filters
from dashboard.fit import render_model_fit


@st.cache_data(show_spinner=False)
def load_topics(_con, workspace: str, method: str, model_id: str, brands: tuple[str, ...],
                start: dt.datetime | None, end: dt.datetime | None, period_days: int):
    con = _con.cursor()
    kw = dict(method=method, brands=list(brands) or None)
    overview = topics.topic_overview(con, model_id=model_id, start=start, end=end, **kw)
    by_brand = topics.topic_sentiment_by_brand(con, model_id=model_id, start=start, end=end, **kw)
    growth = topics.fastest_growing(con, period_days=period_days, as_of=end, **kw)
    return overview, by_brand, growth


BUILT_KEY = "topics_built"
# What the last build stored, shown after the rerun that draws the new topics.


def _build(workspace: str, n_topics: int | None) -> None:
    """Build topics with a progress bar, then rerun so the page draws them (never "no topics" after a build)."""
    bar = st.progress(0.0, text="Building topics…")

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=message)

    try:
        built = topics.build_topics(shared_workspace(workspace), n_topics=n_topics, progress=progress)
    except (BrandLensError, ValueError) as exc:
        bar.empty()
        st.error(f"Topics could not be built: {markdown_text(exc)}")
        return
    invalidate()
    st.session_state[BUILT_KEY] = (
        [f"Stored {s.n_topics} topics ({s.method}) for {s.n_posts:,} posts." for s in built.summaries],
        [f"No {method} topics: {markdown_text(why)}" for method, why in built.skipped.items()],
    )
    st.rerun()


def _topic_count() -> int | None:
    """The number of topics to find: automatic (from the number of posts) or the user's."""
    auto = st.toggle("Choose the number of topics", value=False, key="topics_choose_n",
                     help="Automatic: about √posts / 8, within 4 to 12. Reviews about many products or conditions "
                          "may want more.")
    if not auto:
        return None
    return int(st.slider("Topics to find", min_value=2, max_value=40, value=12, key="topics_n"))


METHOD_NAMES = {topics.ASPECT_METHOD: "Source aspects", topics.COMPLAINT_METHOD: "Complaints (negative posts)",
                topics.GENERAL_METHOD: "General (all posts)"}


def _build_status(build: topics.TopicBuild | None) -> str:
    if build is None:
        return "Reasons or aspects given by the source file."
    line = f"Built {build.built_at:%Y-%m-%d %H:%M} UTC over {build.n_posts:,} posts"
    if build.model_id:
        line += f" the model '{markdown_text(build.model_id)}' predicts negative"
    line += f"; {build.far_share:.0%} of them far from every topic."
    if build.far_share_since is not None:
        line += (f" Since then {build.assigned_since:,} new posts joined, "
                 f"{build.far_share_since:.0%} of them far from every topic.")
    if build.rebuild_advised:
        line += " **Rebuild advised**: new posts fit the topics less well than the posts they were built on."
    return line


def main() -> None:
    st.title("Topics and aspects")
    f = current_filters()
    render_model_fit(f)  # is the model checked on this workspace's data? (issue 22)
    built = st.session_state.pop(BUILT_KEY, None)
    if built:
        st.success(" ".join(built[0]))
        for line in built[1]:
            st.info(line)
    try:
        con = workspace_connection(f.workspace).cursor()
        methods = topics.stored_methods(con)
        if not methods:
            source = ("the source's aspects, and multilingual-e5 embeddings for posts without one" if topics.has_aspects(con)
                      else "multilingual-e5 sentence embeddings and TF-IDF (a few minutes on CPU)")
            st.info(f"No topics stored yet. Building them uses {source}.")
            n_topics = _topic_count()
            if st.button("Build topics", type="primary"):
                _build(f.workspace, n_topics)
        if methods and f.model_id:
            c1, c2, c3 = st.columns([2, 1, 1])
            method = c1.selectbox("Topics", methods, format_func=lambda m: METHOD_NAMES.get(m, m),
                                  help="Source aspects: reasons given by the source file; complaints: topics found "
                                       "among negative posts; general: topics found among all posts")
            period_days = c2.number_input("Growth period (days)", min_value=1, max_value=90, value=7)
            with c3.popover("Rebuild topics"):
                n_topics = _topic_count()
                if st.button("Rebuild now", key="topics_rebuild"):
                    _build(f.workspace, n_topics)
            overview, by_brand, growth = load_topics(
                workspace_connection(f.workspace), f.workspace, method, f.model_id, f.brands,
                f.start_datetime, f.end_exclusive, int(period_days))
            st.caption(_build_status(topics.topic_builds(con).get(method)))
            st.plotly_chart(charts.topic_sentiment_bars(overview), width="stretch")
            st.caption(f"Posts per topic in the selected dates and brands, split by the sentiment model "
                       f"'{markdown_text(f.model_id)}' predicts (not corrected for its error).")
            table = overview.assign(keywords=overview["keywords"].map(", ".join))
            st.dataframe(table[["label", "keywords", "posts", "share", "negative", "net_sentiment"]],
                         hide_index=True, width="stretch",
                         column_config={"share": st.column_config.NumberColumn(format="percent"),
                                        "negative": st.column_config.NumberColumn("negative share", format="percent"),
                                        "net_sentiment": st.column_config.NumberColumn(format="%.2f")})
            st.caption("Label: the phrase of the topic's posts nearest its centre in embedding space. Keywords: "
                       "class-based TF-IDF — words frequent in the topic and rare in the others (no handles, "
                       "links, hashtags or brand names).")
            if method == topics.COMPLAINT_METHOD:  # all negative by construction: what each brand's complaints are about
                st.plotly_chart(charts.topic_brand_heatmap(by_brand, value="share"), width="stretch")
                st.caption("How each brand's complaints spread over the complaint topics (each column sums to 100%).")
            else:
                st.plotly_chart(charts.topic_brand_heatmap(by_brand), width="stretch")
                st.caption("Share of each brand's posts on a topic that the model predicts negative.")
            if growth.empty:
                st.info(f"No topic has 5 or more posts in the last {int(period_days)} days of the selection, so "
                        "none is growing: widen the growth period or the dates.")
            else:
                st.plotly_chart(charts.topic_growth_bars(growth), width="stretch")
            st.caption(f"Change in a topic's share of {'complaints' if method == topics.COMPLAINT_METHOD else 'all posts'}: "
                       f"last {int(period_days)} days of the selection "
                       f"against the {int(period_days)} days before.")
        elif methods:
            st.info("Score the workspace on the Models page to see sentiment per topic.")
    except (BrandLensError, ValueError) as exc:
        st.error(markdown_text(exc))


main()
