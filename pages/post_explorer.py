"""Post explorer: search and filter posts, see the model's confidence, correct labels, explain."""

from __future__ import annotations


import pandas as pd
import streamlit as st

from analytics.brand import explorer
from analytics.brand.periods import day_bounds
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text, spreadsheet_csv
from analytics.core.labels import CLASSES
from analytics.brand.topics import topic_choices
from analytics.store import audit, lookups
from dashboard.workspace import workspace_connection, writing
from dashboard import keys
from dashboard.auth import actor
from dashboard.links import explain_button
from dashboard.loaders import shown
from dashboard.state import current_filters

SORT_LABELS = {"confidence_desc": "confidence, highest first", "confidence_asc": "confidence, lowest first",
               "newest": "newest first", "oldest": "oldest first"}

COLUMNS = ["source_id", "created_at", "brand", "label", "confidence", "gold", "text", "post_id"]
EXPORT_LIMIT = 100_000
# Posts one CSV export holds at most (a larger selection is narrowed first).
EXPORT_KEY = "explorer_export"


def _export(con, search: dict, total: int) -> None:
    """Every matching post as CSV (not only the page shown), prepared on request."""
    token = (tuple(sorted((k, str(v)) for k, v in search.items())), total)
    ready = st.session_state.get(EXPORT_KEY)
    if ready is not None and ready[0] == token:
        st.download_button(f"Download all {total:,} matching posts (CSV)", key="explorer_csv", mime="text/csv",
                           file_name="brandlens-posts.csv", data=ready[1], type="primary",
                           help="Every post matching the filters, as shown (texts masked when masking is on). A cell "
                                "a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first) "
                                "starts with ' instead.")
        return
    if total > EXPORT_LIMIT:
        st.caption(f"{total:,} posts match: narrow the filters to at most {EXPORT_LIMIT:,} to export them.")
        return
    if total and st.button(f"Prepare a CSV of all {total:,} matching posts", key="explorer_prepare_csv"):
        with st.spinner(f"Reading {total:,} posts…"):
            pages = [explorer.search_posts(con, **search, page=n, page_size=1000).rows
                     for n in range(1, -(-total // 1000) + 1)]
            st.session_state[EXPORT_KEY] = (token, spreadsheet_csv(shown(con, pd.concat(pages))[COLUMNS]))
        st.rerun()


def main() -> None:
    st.title("Post explorer")
    f = current_filters()
    try:
        con = workspace_connection(f.workspace).cursor()
        if not f.model_id:
            st.info("Score the workspace on the Models page first: the explorer shows the model's labels.")
            return
        drill_brand = st.session_state.get(keys.EXPLORER_BRAND)
        drill_dates = st.session_state.get(keys.EXPLORER_DATES)
        brand_options = list(dict.fromkeys([*f.brands, *([drill_brand] if drill_brand else [])]))
        query = st.text_input("Search", placeholder="words that must all appear, e.g. app outage")
        c1, c2, c3, c4 = st.columns(4)
        brands = c1.multiselect("Brands", brand_options, default=[drill_brand] if drill_brand else brand_options)
        labels = c2.multiselect("Predicted label", list(CLASSES))
        conf = c3.slider("Model confidence", 0.0, 1.0, (0.0, 1.0), step=0.05)
        sort = c4.selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.__getitem__)
        start, end = f.start_datetime, f.end_exclusive
        if drill_dates and drill_dates[0] is not None:
            start, end = day_bounds(drill_dates[0], drill_dates[-1])
            st.caption(f"Drill-down from another page: {drill_dates[0]} to {drill_dates[-1]}"
                       + (f", {markdown_text(drill_brand)}" if drill_brand else ""))
            if st.button("Clear drill-down"):
                st.session_state.pop(keys.EXPLORER_BRAND, None)
                st.session_state.pop(keys.EXPLORER_DATES, None)
                st.rerun()
        topic_rows = topic_choices(con)
        topic_choice = st.selectbox("Topic", [None, *topic_rows],
                                    format_func=lambda t: "any topic" if t is None else f"{t[2]} ({t[0]})")
        languages = st.multiselect("Language (detected)", lookups.detected_languages(con),
                                   help="'und': too short or unclear to tell. The default model reads about 100 languages, "
                                        "minilm-v1 and VADER English only; KPIs leave out what the chosen model "
                                        "does not read.")
        page_no = st.number_input("Page", min_value=1, value=1, step=1)
        result = explorer.search_posts(
            con, model_id=f.model_id, query=query or None, brands=brands or None, start=start, end=end,
            labels=labels or None, min_confidence=conf[0] if conf[0] > 0 else None,
            max_confidence=conf[1] if conf[1] < 1 else None,
            topic=(topic_choice[0], topic_choice[1]) if topic_choice else None, languages=languages or None,
            sort=sort, page=int(page_no), page_size=50,
        )
        rows = shown(con, result.rows)
        st.caption(f"{result.total:,} matching posts · page {result.page} of {result.pages} · "
                   f"label and confidence from model '{markdown_text(f.model_id)}'; gold = source label or latest correction.")
        event = st.dataframe(
            rows[COLUMNS],
            hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
            column_config={"confidence": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
                           "source_id": st.column_config.TextColumn("id in your file", width="small"),
                           "post_id": st.column_config.TextColumn("post id (BrandLens)", width="small")},
        )
        search = dict(model_id=f.model_id, query=query or None, brands=brands or None, start=start, end=end,
                      labels=labels or None, min_confidence=conf[0] if conf[0] > 0 else None,
                      max_confidence=conf[1] if conf[1] < 1 else None,
                      topic=(topic_choice[0], topic_choice[1]) if topic_choice else None, languages=languages or None,
                      sort=sort)
        _export(con, search, result.total)
        selected = getattr(getattr(event, "selection", None), "rows", None) or []
        if rows.empty:
            st.info("No post matches these filters.")
        else:
            index = selected[0] if selected else 0
            post = rows.iloc[index]
            gold = None if pd.isna(post["gold"]) else str(post["gold"])
            st.subheader("Selected post")
            source_id = "" if pd.isna(post["source_id"]) else f"id in your file {markdown_text(post['source_id'])} · "
            st.caption(f"{source_id}post id {markdown_text(post['post_id'])}")
            st.text(post["text"])
            st.caption(f"Model says {post['label']} ({post['confidence']:.0%}); gold label: {gold or 'none'}.")
            c1, c3 = st.columns([1, 1])
            new_label = c1.selectbox("Correct label", list(CLASSES), index=None, key=f"explorer_label_{post['post_id']}",
                                     placeholder="read the post, then choose its label")
            if c3.button("Save correction", disabled=new_label is None):
                who = actor()  # the signed-in identity ('local' without sign-in), never a typed name
                with writing(f.workspace) as wcon:
                    explorer.correct_label(wcon, str(post["post_id"]), new_label, origin=f"explorer:{who}")
                    audit.record(wcon, who, "label.correct", target=str(post["post_id"]),
                                 detail={"label": new_label, "was": gold or str(post["label"])})
                st.success(f"Stored: {new_label} (the source label is kept; evaluation and corrected KPIs use this).")
            explain_button(str(post["post_id"]), key="explorer_explain")
    except (BrandLensError, ValueError) as exc:
        st.error(markdown_text(exc))


main()
