"""Explanations: why did the model say that — SHAP token attributions, VADER's lexicon, and drivers of negativity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.explain.html import explanation_html
from analytics.core.labels import CLASSES
from analytics.figures import explanations as charts
from dashboard.workspace import workspace_connection
from dashboard.loaders import cached_model
from dashboard.state import current_filters


def model_for(spec: str):
    """The model shared with the other pages (one cached copy per spec)."""
    return cached_model(spec, "auto")


def explain(workspace: str, spec: str, text: str, post_id: str | None):
    from analytics.explain.cache import cached_explanation

    con = workspace_connection(workspace).cursor()
    return cached_explanation(con, model_for(spec), text, post_id=post_id)[0]


@st.cache_data(show_spinner=False)
def vader_table(text: str) -> pd.DataFrame:
    from analytics.explain.vader import vader_contributions

    return vader_contributions(text)


st.title("Explanations")
st.caption("Which words moved the model's probabilities for one post (SHAP, partition explainer), "
           "VADER's lexicon beside it, and which words drive negative sentiment for a brand.")
filters = current_filters()
con = workspace_connection(filters.workspace).cursor()
initial = st.session_state.get("explain_post_id") or st.query_params.get("post_id") or ""
post_id = st.text_input("Post id", value=str(initial), key="expl_post")
free = st.text_area("…or a text", value="", key="expl_text")
spec = st.selectbox("Model", ["default", "vader"], key="expl_model")

text, pid = None, None
if free.strip():
    text = free
elif post_id:
    rows = con.execute("SELECT text FROM posts WHERE post_id = ?", [post_id]).fetchall()
    if rows:
        text, pid = rows[0][0], post_id
    else:
        st.error(f"Post {post_id!r} not found in this workspace.")
if text is None:
    st.info("Pick a post (the Explain buttons elsewhere open it here) or type a text.")
else:
    try:
        exp = explain(filters.workspace, spec, text, pid)
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
        vt = vader_table(text)
        st.plotly_chart(charts.vader_chart(vt), width="stretch")
        st.caption("VADER's valence per token after its rules (negation, boosters, capitals); 0 = not in lexicon.")
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))

st.header("Words driving negative sentiment")
brands = list(filters.brands)
brand = st.selectbox("Brand", brands or ["(all)"], key="expl_brand")
if st.button("Explain a sample of 30 posts", key="expl_agg"):
    try:
        from analytics.explain.aggregate import log_odds_ranking, shap_negative_drivers
        from analytics.explain.shap_text import explain_texts

        model_id = filters.model_id or spec
        where, params = ["pr.model_id = ?"], [model_id]
        if brand != "(all)":
            where.append("p.brand = ?"); params.append(brand)
        if filters.start_datetime is not None:
            where.append("p.created_at >= ?"); params.append(filters.start_datetime)
        if filters.end_exclusive is not None:
            where.append("p.created_at < ?"); params.append(filters.end_exclusive)
        frame = con.execute(
            f"SELECT p.text, pr.label FROM posts p JOIN predictions pr USING (post_id) WHERE {' AND '.join(where)}",
            params).df()
        if frame.empty:
            st.info("No scored posts for this brand and period.")
        else:
            neg = frame[frame["label"] == "negative"]["text"].head(30).tolist()
            bar = st.progress(0.0, text="Explaining…")
            exps = []
            for i, t in enumerate(neg):
                exps.extend(explain_texts(model_for(model_id), [t]))
                bar.progress((i + 1) / max(1, len(neg)), text=f"{i + 1}/{len(neg)} posts")
            c1, c2 = st.columns(2)
            c1.plotly_chart(charts.ranking_chart(shap_negative_drivers(exps), value="mean_attribution",
                                                 title="SHAP: mean attribution to negative"), width="stretch")
            c1.caption("Mean SHAP value towards negative per word over predicted-negative posts of the sample.")
            c2.plotly_chart(charts.ranking_chart(log_odds_ranking(frame["text"].tolist(),
                                                                  (frame["label"] == "negative").tolist()),
                                                 value="z", title="Log-odds (Dirichlet prior) z-score"),
                            width="stretch")
            c2.caption("Words over-represented in predicted-negative posts vs the others (sanity check).")
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
