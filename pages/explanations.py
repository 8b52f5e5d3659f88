"""Explanations: why did the model say that — SHAP token attributions, VADER's lexicon, and drivers of negativity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.core.labels import CLASSES
from analytics.explain.html import explanation_html
from analytics.figures import explanations as charts
from analytics.store import lookups
from dashboard import keys
from dashboard.loaders import cached_model, shown_texts
from dashboard.state import current_filters
from dashboard.workspace import model_list, shared_workspace, workspace_connection


def model_for(spec: str):
    """The model shared with the other pages (one cached copy per spec and workspace)."""
    return cached_model(spec, "auto", current_filters().workspace)


def explain(workspace: str, spec: str, text: str, post_id: str | None):
    from analytics.explain.cache import cached_explanation

    return cached_explanation(shared_workspace(workspace), model_for(spec), text, post_id=post_id)[0]


@st.cache_data(show_spinner=False)
def vader_table(text: str) -> pd.DataFrame:
    from analytics.explain.vader import vader_contributions

    return vader_contributions(text)


def _one_post(filters, con) -> None:
    initial = st.session_state.get(keys.EXPLAIN_POST) or st.query_params.get("post_id") or ""
    post_id = st.text_input("Post id", value=str(initial), key="expl_post")
    free = st.text_area("…or a text", value="", key="expl_text")
    scored = model_list(workspace_connection(filters.workspace), filters.workspace)
    spec = st.selectbox("Model", list(dict.fromkeys(["default", "vader", *scored])), key="expl_model")
    text, pid = None, None
    if free.strip():
        text = free
    elif post_id:
        stored = lookups.post_text(con, post_id)
        if stored is None:
            st.error(f"Post {markdown_text(repr(post_id))} not found in this workspace.")
        else:
            # the model explains the text as the page may show it: masked when privacy masking is on
            text, pid = shown_texts(con, [stored])[0], post_id
    if text is None:
        st.info("Pick a post (the Explain buttons elsewhere open it here) or type a text.")
        return
    try:
        with st.spinner(f"Explaining a {len(text.split()):,}-word text with SHAP ({spec}): each word is masked "
                        "in turn, so a long review takes up to a minute on CPU…", show_time=True):
            exp = explain(filters.workspace, spec, text, pid)
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
        return
    cols = st.columns(3)
    for c, name, p in zip(cols, CLASSES, exp.probabilities):
        c.metric(name, f"{p:.1%}")
    st.caption(f"Predicted {exp.predicted}; explained in {exp.seconds:.2f} s ({exp.settings.get('max_evals')} "
               "model evaluations).")
    for target in [exp.predicted] + [c for c in CLASSES if c != exp.predicted]:
        st.markdown(f"**Towards {target}** (red raises, blue lowers)")
        st.html(explanation_html(exp, target=target))  # every token html-escaped
    st.plotly_chart(charts.token_attribution_chart(exp, target=exp.predicted), width="stretch")
    st.caption(f"SHAP value of each token for '{exp.predicted}': base + sum = the model's probability.")
    st.plotly_chart(charts.vader_chart(vader_table(text)), width="stretch")
    st.caption("VADER's valence per token after its rules (negation, boosters, capitals); 0 = not in lexicon.")


def _negative_drivers(filters, con) -> None:
    from analytics.explain.aggregate import negative_drivers

    brand = st.selectbox("Brand", list(filters.brands) or ["(all)"], key="expl_brand")
    if not st.button("Explain a sample of 30 posts", key="expl_agg"):
        return
    model_id = filters.model_id or "default"
    frame = lookups.scored_texts(con, model_id, brands=None if brand == "(all)" else [brand],
                                 start=filters.start_datetime, end=filters.end_exclusive)
    if frame.empty:
        st.info("No scored posts for this brand and period.")
        return
    bar = st.progress(0.0, text="Explaining…")
    try:
        drivers = negative_drivers(model_for(model_id), shown_texts(con, frame["text"].tolist()),
                                   frame["label"].tolist(), n_sample=30,
                                   progress=lambda d, t, m: bar.progress(d / max(1, t), text=m))
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
        return
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.ranking_chart(drivers.shap, value="mean_attribution",
                                         title="SHAP: mean attribution to negative"), width="stretch")
    c1.caption(f"Mean SHAP value towards negative per word over {drivers.n_explained} predicted-negative posts.")
    c2.plotly_chart(charts.ranking_chart(drivers.log_odds, value="z", title="Log-odds (Dirichlet prior) z-score"),
                    width="stretch")
    c2.caption(f"Words over-represented in predicted-negative posts vs the others ({drivers.n_posts:,} posts).")


def main() -> None:
    st.title("Explanations")
    st.caption("Which words moved the model's probabilities for one post (SHAP, partition explainer), "
               "VADER's lexicon beside it, and which words drive negative sentiment for a brand.")
    filters = current_filters()
    con = workspace_connection(filters.workspace).cursor()
    _one_post(filters, con)
    st.header("Words driving negative sentiment")
    _negative_drivers(filters, con)


main()
