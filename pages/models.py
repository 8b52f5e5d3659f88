"""Models: what can score this workspace, each model's card, and scoring with progress."""

from __future__ import annotations

import warnings

import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.core.jobs import JOBS
from analytics.models import DeviceFallbackWarning, SentimentModel
from analytics.models.workspace import workspace_models
from dashboard.workspace import cursor, writing
from dashboard.loaders import cached_model, load_model_fit, model_infos, post_count, prediction_counts
from dashboard.navigation import link_to
from dashboard.jobs import start_adapting, start_scoring
from dashboard.state import current_filters

OTHER = "Another Hugging Face model (id or local directory)…"


def _unscored(counts, model_id: str, n_posts: int) -> bool:
    """Whether ``model_id`` has posts of the workspace left to score."""
    scored = dict(zip(counts["model"], counts["predictions"])) if len(counts) else {}
    return int(scored.get(model_id, 0)) < n_posts


def _table(infos, counts, n_posts: int, adapted: list[str]):
    import pandas as pd

    scored = dict(zip(counts["model"], counts["predictions"])) if len(counts) else {}
    rows = [
        {
            "model": i.id,
            "kind": i.kind,
            "loadable here": "yes" if i.available else f"no: {i.problem}",
            "predictions in workspace": int(scored.get(i.id, 0)),
            "posts unscored": n_posts - int(scored.get(i.id, 0)),
        }
        for i in infos
    ]
    rows += [  # adapted to this workspace's labels and stored in it (see "Adapt to this workspace")
        {"model": m, "kind": "adapted here", "loadable here": "yes", "predictions in workspace": int(scored.get(m, 0)),
         "posts unscored": n_posts - int(scored.get(m, 0))}
        for m in adapted
    ]
    listed = {i.id for i in infos} | set(adapted)
    rows += [  # models that scored this workspace but are not installed here (e.g. a hub id)
        {"model": m, "kind": "huggingface", "loadable here": "by id", "predictions in workspace": int(n),
         "posts unscored": n_posts - int(n)}
        for m, n in scored.items() if m not in listed
    ]
    return pd.DataFrame(rows)


def _load(workspace: str, spec: str, device: str) -> SentimentModel | None:
    """The model, loaded in this run (cached for the server); a message instead when it cannot load."""
    try:
        with warnings.catch_warnings(record=True) as caught, st.spinner(f"Loading {spec}…"):
            warnings.simplefilter("always", DeviceFallbackWarning)
            model = cached_model(spec, device, workspace)
    except (BrandLensError, ValueError, OSError) as exc:
        st.error(f"Scoring with {markdown_text(repr(spec))} failed: {markdown_text(exc)}")
        return None
    for w in caught:
        if issubclass(w.category, DeviceFallbackWarning):
            st.warning(markdown_text(w.message))
    return model


def _score(workspace: str, spec: str, device: str, *, n_posts: int, counts, select: bool = False) -> bool:
    """Start scoring with ``spec`` as a background job (VADER after it, as the fit check's baseline); rerun."""
    model = _load(workspace, spec, device)
    if model is None:
        return False
    baseline = None
    if spec != "vader" and _unscored(counts, "vader", n_posts):
        baseline = cached_model("vader", "cpu", workspace)
    if start_scoring(workspace, model, n_posts=n_posts, baseline=baseline, select=select) is None:
        return False
    st.rerun()  # the sidebar shows the job's progress at once
    return True


def _adapt_section(workspace: str, n_posts: int, counts) -> None:
    """Adapt to this workspace: fine-tune on its labels, the honest before/after, use it, re-score."""
    from analytics import store
    from analytics.training.adapt import ACTIVE_MODEL_SETTING, holdout_table, verdict

    con = cursor(workspace)
    st.subheader("Adapt to this workspace")
    st.caption("Retrains the default model's top layers on this workspace's labels (source labels and the "
               "labelling queue's), holding out a fifth of the representative ones that it never trains on; "
               "base and adapted model are compared there with a paired bootstrap. A few minutes for 1,000 labels.")
    if st.button("Adapt to this workspace", key="models_adapt",
                 help="Runs in the background: you may leave the page; the sidebar shows its progress."):
        if start_adapting(workspace) is not None:
            st.rerun()
    con = cursor(workspace)
    active = store.get_setting(con, ACTIVE_MODEL_SETTING)
    for entry in workspace_models(con):
        card = entry["card"]
        recommended = ("recommended" if verdict(card).startswith("recommended")
                       else "not clearly better than the base")
        with st.expander(f"{entry['model_id']} — {entry['method']} on {card['n_train']:,} labels, {recommended}"
                         + (" (in use)" if entry["model_id"] == active else ""),
                         expanded=entry["model_id"] != active):
            st.dataframe(holdout_table(card["holdout"]), hide_index=True, width="stretch")
            sentence = verdict(card)
            st.markdown(sentence[0].upper() + sentence[1:] + ".")  # numbers and fixed words only
            st.caption(f"On {card['n_holdout']:,} held-out labels it never trained on; 95% intervals, the difference "
                       "from a paired bootstrap on the same posts. Labels: "
                       + ", ".join(f"{k} {v:,}" for k, v in card.get("labels", {}).get("by_origin", {}).items()))
            if entry["model_id"] != active and st.button("Use for this workspace and score with it",
                                                         key=f"use_{entry['model_id']}", type="primary"):
                with writing(workspace) as wcon:
                    store.set_setting(wcon, ACTIVE_MODEL_SETTING, entry["model_id"])
                # when the scoring job ends, the owner's sidebar switches to this model (no reload needed)
                _score(workspace, entry["model_id"], "auto", n_posts=n_posts, counts=counts, select=True)


def main() -> None:
    st.title("Models")
    f = current_filters()
    infos = model_infos()
    try:
        con = cursor(f.workspace)
        counts, n_posts = prediction_counts(con, f.workspace), post_count(con, f.workspace)
        adapted = [m["model_id"] for m in workspace_models(con)]
    except Exception as exc:  # a missing, locked or broken file: a message, not a traceback
        st.error(f"Cannot read the workspace: {markdown_text(exc)}")
        return

    if n_posts and len(counts) and not any(j.running for j in JOBS.jobs(workspace=f.workspace)) \
            and f.model_id and load_model_fit(cursor(f.workspace), f.workspace, f.model_id).status == "unchecked":
        st.caption("Next: label 30 random posts, so BrandLens can tell how well the model fits your data.")
        link_to("labelling.py", "Label random posts on the Labelling page")
    st.subheader("Available models")
    st.dataframe(_table(infos, counts, n_posts, adapted), hide_index=True, width="stretch")
    st.caption(f"Models that can score this workspace and how many of its {n_posts:,} posts each has scored.")

    for info in infos:
        with st.expander(f"{info.id} — {info.description}"):
            card = info.card_text
            if card:
                st.markdown(card)
            else:
                st.info(info.problem or "This model has no card.")

    st.subheader("Score the workspace")
    choices = [i.id for i in infos if i.available] + adapted + [OTHER]
    choice = st.selectbox("Model", choices, key="models_choice")
    spec = choice
    if choice == OTHER:
        spec = st.text_input("Hugging Face model id or local directory", key="models_spec").strip()
    device = st.radio("Device", ["auto", "cpu", "cuda"], horizontal=True, key="models_device",
                      help="auto: the GPU when one is visible, else the CPU")
    st.caption("Only posts this model has not scored yet are read; a second run scores nothing.")
    if st.button("Score the workspace", type="primary", key="models_score", disabled=not spec):
        if n_posts == 0:
            st.info("This workspace has no posts yet: ingest some on the Data page first.")
        else:
            _score(f.workspace, spec, device, n_posts=n_posts, counts=counts)
    _adapt_section(f.workspace, n_posts, counts)


main()
