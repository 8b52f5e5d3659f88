"""Background jobs at the page edge: scoring and adapting run off the page's script run, every page shows them.

The jobs themselves are :mod:`analytics.core.jobs` (threads of this server process, owned by a
workspace and a person, not by a browser session). Here: starting them from a page with the
workspace opened per step, and :func:`render_jobs`, which the sidebar calls on every page to
show the signed-in person's running jobs (live, once a second, only while one runs) and, once,
how each finished; a finished job's follow-up (the model to select) is applied to the sidebar.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from analytics.core.escape import markdown_text
from analytics.core.jobs import JOBS, FAILED, Job, JobOutcome, JobRunning
from analytics.models import SentimentModel
from analytics.store.sharing import WorkspaceFile
from dashboard.auth import actor
from dashboard.workspace import PAGE_WAIT_SECONDS, invalidate


def _workspace_file(workspace: str) -> WorkspaceFile:
    return WorkspaceFile(Path(workspace), wait=PAGE_WAIT_SECONDS)


def start_scoring(workspace: str, model: SentimentModel, *, n_posts: int, baseline: SentimentModel | None = None,
                  select: bool = False) -> Job | None:
    """Score the workspace's unscored posts with ``model`` (then ``baseline``, e.g. VADER) in the background.

    ``select`` makes the owner's sidebar switch to ``model`` when it is done. ``None`` (and a
    warning on the page) when the same person already scores this workspace.
    """
    from analytics.scoring.local import progress_chunk_size, score_workspace

    def work(progress) -> JobOutcome:
        target = _workspace_file(workspace)
        summary = score_workspace(target, model, progress=progress, chunk_size=progress_chunk_size(n_posts))
        message = (f"{summary.model}: scored {summary.scored:,} posts ({summary.already_scored:,} were already "
                   f"scored) in {summary.seconds:.1f} s on {summary.device}.")
        if baseline is not None:
            extra = score_workspace(target, baseline, progress=progress, chunk_size=progress_chunk_size(n_posts))
            if extra.scored:
                message += f" {extra.model} scored them too, as the baseline."
        return JobOutcome(message, {"model_id": summary.model} if select else {})

    return _start("score", workspace, f"Scoring with {model.model_id}", work)


def start_adapting(workspace: str) -> Job | None:
    """Adapt the default model to the workspace's labels in the background (``brandlens adapt``'s work)."""
    from analytics.training.adapt import adapt_workspace

    def work(progress) -> JobOutcome:
        result = adapt_workspace(_workspace_file(workspace), progress=progress)
        return JobOutcome(f"{result.model}: adapted in {result.seconds:.0f} s on {result.device}; its card is on the "
                          "Models page.")

    return _start("adapt", workspace, "Adapting the model to this workspace", work)


def _start(kind: str, workspace: str, label: str, work) -> Job | None:
    try:
        job = JOBS.start(kind, workspace=workspace, owner=actor(), label=label, work=work)
    except JobRunning as exc:
        st.warning(markdown_text(str(exc)[0].upper() + str(exc)[1:]) + ".")
        return None
    st.toast(f"{label} runs in the background: you may leave this page; the sidebar shows its progress.")
    return job


@st.fragment(run_every=1.0)
def _live(workspace: str, owner: str) -> None:
    """The running jobs' progress, redrawn every second; when the last one ends, the whole app reruns."""
    running = [j for j in JOBS.jobs(workspace=workspace, owner=owner) if j.running]
    for job in running:
        counted = f" ({job.done:,} of {job.total:,})" if job.total else ""
        st.progress(job.fraction, text=markdown_text(f"{job.label}: {job.message or 'starting'}{counted}, "
                                                     f"{time.time() - job.started_at:.0f} s"))
    if not running:
        invalidate()
        st.rerun()


def render_jobs(workspace: str) -> None:
    """Show this person's jobs on ``workspace``: finished ones once (applying their follow-up), running ones live.

    Called by the sidebar before it draws its widgets, so a follow-up such as "select the
    adapted model" is applied in the same run.
    """
    from dashboard.state import request_filters

    owner = actor()
    jobs = JOBS.jobs(workspace=workspace, owner=owner)
    for job in jobs:
        if job.running or job.seen:
            continue
        if job.status == FAILED:
            st.error(markdown_text(f"{job.label} failed: {job.error}"))
        elif job.outcome is not None:
            st.success(markdown_text(job.outcome.message))
            if job.outcome.follow_up:
                request_filters(**job.outcome.follow_up)
        JOBS.acknowledge(job.id)
    if any(j.running for j in jobs):
        _live(workspace, owner)
