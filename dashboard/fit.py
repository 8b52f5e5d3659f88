"""The "fit to this data" banner of the marketing pages (Overview, Brand monitor, Topics, Alerts).

Until enough random labels measure the model on this workspace the banner says it is not yet
checked and links to the Labelling page; once measured it gives the accuracy with its interval,
as a warning when the model fits poorly (:mod:`analytics.evaluation.fit`).
"""

from __future__ import annotations

import duckdb
import streamlit as st

from analytics.core.escape import markdown_text
from dashboard.auth import may_open
from dashboard.loaders import load_model_fit
from dashboard.navigation import link_to
from dashboard.state import Filters
from dashboard.workspace import workspace_connection


def render_model_fit(filters: Filters) -> None:
    """Draw the banner for the sidebar's model (nothing without a scored workspace; never an error box)."""
    if not filters.model_id:
        return
    try:
        fit = load_model_fit(workspace_connection(filters.workspace), filters.workspace, filters.model_id)
    except (duckdb.Error, ValueError):
        return  # the page below says what is missing; the banner is a hint, not a gate
    text = markdown_text(fit.message())
    if fit.status == "ok":
        st.caption(f":material/verified: {text}")
        return
    (st.warning if fit.status == "poor" else st.info)(text, icon=":material/rule:")
    if may_open("labelling.py"):
        link_to("labelling.py", "Label random posts" if fit.status == "unchecked" else "Label more posts")
