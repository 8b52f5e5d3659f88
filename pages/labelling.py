"""Labelling queue: one post at a time, one click a label; the labels teach and measure the model."""

from __future__ import annotations

import streamlit as st

from analytics.brand.explorer import correct_label
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.store import audit
from dashboard.auth import actor
from analytics.labelling.queue import label_progress, next_posts, skip_post
from dashboard.loaders import shown
from dashboard.state import current_filters
from dashboard.workspace import invalidate, workspace_connection, writing

BATCH = 20
QUEUE_KEY = "labelling_queue"
ORIGIN = "labelling"
CHOICES = [("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive")]


def _queue(con, workspace: str, model_id: str, brands: tuple[str, ...]) -> list[dict]:
    """The batch being served (kept in the session; a new one is chosen when it runs out)."""
    key = (workspace, model_id, brands)
    state = st.session_state.get(QUEUE_KEY)
    if state is None or state["key"] != key or not state["posts"]:
        with st.spinner("Choosing the posts that teach the model most…"):
            batch = next_posts(con, model_id, n=BATCH, brands=list(brands) or None,
                               seed=sum(label_progress(con).values()))
        state = {"key": key, "posts": shown(con, batch).to_dict("records")}
        st.session_state[QUEUE_KEY] = state
    return state["posts"]


def _done(post: dict) -> None:
    st.session_state[QUEUE_KEY]["posts"] = [p for p in st.session_state[QUEUE_KEY]["posts"]
                                            if p["post_id"] != post["post_id"]]
    invalidate()
    st.rerun()


def _progress(con) -> None:
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


def main() -> None:
    st.title("Labelling queue")
    f = current_filters()
    if not f.model_id:
        st.info("Score the workspace on the Models page first: the queue picks posts by the model's uncertainty.")
        return
    con = workspace_connection(f.workspace).cursor()
    _progress(con)
    try:
        posts = _queue(con, f.workspace, f.model_id, f.brands)
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
        return
    if not posts:
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
        if column.button(title, key=f"lab_{label}", type="primary" if label == post["guess"] else "secondary",
                         width="stretch"):
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
