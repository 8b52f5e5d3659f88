"""Labelling queue: one post at a time, one click a label; the labels teach and measure the model."""

from __future__ import annotations

import streamlit as st

from analytics.brand.explorer import correct_label
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.store import audit
from dashboard.auth import actor
from analytics.labelling.queue import RANDOM_SHARE, label_progress, next_posts, queue_size, skip_post
from dashboard.loaders import shown
from dashboard.navigation import link_to
from dashboard.state import current_filters
from dashboard.workspace import invalidate, workspace_connection, writing

BATCH = 20
QUEUE_KEY = "labelling_queue"
ORIGIN = "labelling"
CHOICES = [("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive")]


SCOPES = {"all brands": False, "only the sidebar's brands": True}
MODES = {"random posts (measure the model on your data)": 1.0,
         "posts that teach the model most (1 in 4 random)": RANDOM_SHARE}
MEASURE_TARGET = 30
# Random labels the first run asks for: enough to tell whether the model fits this data (see the marketing pages).


def _queue(con, workspace: str, model_id: str, brands: tuple[str, ...], random_share: float) -> list[dict]:
    """The batch being served (kept in the session; a new one is chosen when it runs out)."""
    key = (workspace, model_id, brands, random_share)
    state = st.session_state.get(QUEUE_KEY)
    if state is None or state["key"] != key or not state["posts"]:
        with st.spinner("Choosing the next posts…"):
            batch = next_posts(con, model_id, n=BATCH, brands=list(brands) or None, random_share=random_share,
                               seed=sum(label_progress(con).values()))
        state = {"key": key, "posts": shown(con, batch).to_dict("records")}
        st.session_state[QUEUE_KEY] = state
    return state["posts"]


def _done(post: dict) -> None:
    st.session_state[QUEUE_KEY]["posts"] = [p for p in st.session_state[QUEUE_KEY]["posts"]
                                            if p["post_id"] != post["post_id"]]
    invalidate()
    st.rerun()


def _progress(con) -> dict[str, int]:
    counts = label_progress(con)
    random_n, active_n = counts.get("queue:random", 0), counts.get("queue:active", 0)
    cols = st.columns(4)
    cols[0].metric("Labels from the queue", f"{random_n + active_n:,}")
    cols[1].metric("Random (measure the model)", f"{random_n:,}")
    cols[2].metric("Chosen to teach", f"{active_n:,}")
    cols[3].metric("Skipped / not about the brand", f"{counts.get('skip', 0):,} / {counts.get('off_topic', 0):,}")
    st.caption("Chosen-to-teach labels train the model (Models page, Adapt). Random ones are a fair sample: "
               "they and the source's labels measure the model and correct the KPIs; with n of them a "
               "corrected share's interval narrows roughly as 1/√n, so 4× the random labels halve it.")
    return counts


def main() -> None:
    st.title("Labelling queue")
    f = current_filters()
    if not f.model_id:
        st.info("Score the workspace on the Models page first: the queue picks posts by the model's uncertainty.")
        return
    con = workspace_connection(f.workspace).cursor()
    counts = _progress(con)
    left, right = st.columns(2)
    scope = left.radio("Posts from", list(SCOPES), index=0, horizontal=True, key="lab_scope",
                       help="All brands of the workspace, or only our brand and the competitors chosen in the sidebar.")
    random_n = counts.get("queue:random", 0)
    if random_n >= MEASURE_TARGET:
        st.caption(f"{random_n} random labels: the marketing pages show how well the model fits your data.")
        link_to("model_evaluation.py", "See the model measured on your labels")
    mode = right.radio("Serve", list(MODES), index=0 if random_n < MEASURE_TARGET else 1, key="lab_mode",
                       help=f"Random posts are a fair sample: {MEASURE_TARGET} of them tell how well the model fits "
                            "this data and correct the KPIs. Posts chosen to teach are those the model is least sure "
                            "of, spread over brands and kinds of post: they make adapting work best.")
    brands = f.brands if SCOPES[scope] else ()
    st.caption(("Serving posts of every brand in the workspace." if not brands else
                f"Serving posts of {len(brands)} brands only: {', '.join(markdown_text(b) for b in brands[:6])}"
                + ("…" if len(brands) > 6 else "") + ".")
               + (f" {random_n} of {MEASURE_TARGET} random labels given." if random_n < MEASURE_TARGET else ""))
    try:
        posts = _queue(con, f.workspace, f.model_id, brands, MODES[mode])
    except (BrandLensError, ValueError) as exc:
        st.error(markdown_text(exc))
        return
    if not posts:
        elsewhere = queue_size(con, f.model_id) if brands else 0
        if elsewhere:
            st.info(f"Nothing left to label for these brands; {elsewhere:,} posts of other brands are still "
                    "unlabelled: choose **all brands** above.")
        else:
            st.success("Nothing left to label: every scored post the model can read is labelled or skipped.")
        return
    post = posts[0]
    how = "picked at random (measures the model)" if post["chosen_by"] == "queue:random" else "picked to teach the model"
    st.subheader(markdown_text(post["brand"] or "no brand"))
    st.caption(f"Model {markdown_text(f.model_id)} says {post['guess']} ({post['confidence']:.0%}) · {how} · "
               f"{len(posts) - 1} more in this batch")
    st.text(post["text"])
    buttons = st.columns(5)
    for column, (label, title) in zip(buttons, CHOICES):
        if column.button(title, key=f"lab_{label}", width="stretch"):  # none preselected: read, then judge
            with writing(f.workspace) as wcon:
                correct_label(wcon, post["post_id"], label, origin=ORIGIN, chosen_by=post["chosen_by"])
                audit.record(wcon, actor(), "label.correct", target=post["post_id"],
                             detail={"label": label, "chosen_by": post["chosen_by"]})
            _done(post)
    if buttons[3].button("Skip", key="lab_skip", width="stretch"):
        with writing(f.workspace) as wcon:
            skip_post(wcon, post["post_id"], reason="skip", origin=ORIGIN)
            audit.record(wcon, actor(), "label.skip", target=post["post_id"], detail={"reason": "skip"})
        _done(post)
    if buttons[4].button("Not about the brand", key="lab_off_topic", width="stretch",
                         help="Left out of the KPIs from now on"):
        with writing(f.workspace) as wcon:
            skip_post(wcon, post["post_id"], reason="off_topic", origin=ORIGIN)
            audit.record(wcon, actor(), "label.skip", target=post["post_id"], detail={"reason": "off_topic"})
        _done(post)


main()
