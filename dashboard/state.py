"""Shared sidebar filters, kept in plain ``st.session_state`` keys.

Widget values keyed by widget are dropped when their page is not rendered, so the
sidebar writes the chosen values into plain keys (:data:`dashboard.keys.FILTER_KEYS`) that survive page
switches; every page reads them through :func:`current_filters`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from analytics import store
from analytics.brand.periods import day_bounds
from analytics.core.escape import markdown_text
from analytics.store import audit
from analytics.store.catalog import Catalog, WorkspaceRefused, open_problem
from analytics.store.catalog import label as workspace_label
from dashboard import keys
from analytics.store.sharing import WorkspaceBusy
from dashboard.workspace import brand_list, date_bounds, follow_data_version, model_list, our_brand_setting, workspace_connection


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects; every page filters its queries with it."""

    workspace: str
    our_brand: str | None
    competitors: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None
    model_id: str | None

    @property
    def brands(self) -> tuple[str, ...]:
        """Our brand first, then the chosen competitors."""
        return tuple(b for b in (self.our_brand, *self.competitors) if b)

    @property
    def end_exclusive(self) -> dt.datetime | None:
        """Upper time bound for SQL (``created_at < end_exclusive``) covering the whole end day."""
        return day_bounds(self.start, self.end)[1]

    @property
    def start_datetime(self) -> dt.datetime | None:
        return day_bounds(self.start, self.end)[0]


def current_filters() -> Filters:
    """The filters the sidebar last set (defaults before it has run)."""
    s = st.session_state
    date_range = s.get(keys.DATE_RANGE) or (None, None)
    return Filters(
        workspace=s.get(keys.WORKSPACE) or str(next(iter(Catalog.from_environment().available()),
                                                      store.resolve_workspace(None))),
        our_brand=s.get(keys.OUR_BRAND),
        competitors=tuple(s.get(keys.COMPETITORS) or ()),
        start=date_range[0],
        end=date_range[1] if len(date_range) > 1 else None,
        model_id=s.get(keys.MODEL_ID),
    )


def _pick_workspace() -> str | None:
    """The served workspace the sidebar's box selects (no free-text path); ``None`` when none is served.

    A workspace left in the session that this dashboard does not serve is refused with a
    message; admins may create a new one in the served folder.
    """
    from dashboard.auth import current_access

    s = st.session_state
    catalog = Catalog.from_environment()
    wanted = s.get(keys.WORKSPACE)
    if wanted:
        try:
            wanted = str(catalog.resolve(wanted))
        except WorkspaceRefused as exc:
            st.error(markdown_text(str(exc)))
            wanted = None
    served = [str(p) for p in catalog.available()]
    who = current_access()
    if who.is_admin and catalog.folder is not None:
        with st.expander("New workspace"):
            name = st.text_input("Name", key="new_workspace_name", help="Letters, digits, - and _; created in the "
                                 "dashboard's workspace folder")
            if st.button("Create", key="new_workspace_create", disabled=not name.strip()):
                try:
                    path = catalog.new_path(name)
                    with store.open_workspace(path) as con:  # created and migrated
                        audit.record(con, who.actor, "workspace.create", target=workspace_label(path))
                except WorkspaceRefused as exc:
                    st.error(markdown_text(str(exc)))
                else:
                    s[keys.WORKSPACE] = str(path)
                    st.rerun()
    if not served:
        st.info("No workspace is served here: start the dashboard with --workspace FILE or --workspaces DIR.")
        return None
    current = wanted if wanted in served else served[0]
    return st.selectbox("Workspace", served, index=served.index(current), format_func=workspace_label)


def render_sidebar() -> Filters | None:
    """Draw the shared sidebar and store its choices in the plain session keys.

    ``None`` when no workspace opens (the sidebar says why): the page is not run then.
    """
    s = st.session_state
    with st.sidebar:
        st.markdown("### Workspace")
        picked = _pick_workspace()
        if picked is None:
            return None
        s[keys.WORKSPACE] = picked
        follow_data_version(s[keys.WORKSPACE])  # a job's new posts show on this rerun
        con = workspace_connection(s[keys.WORKSPACE])
        try:
            brands = brand_list(con, s[keys.WORKSPACE])
        except WorkspaceBusy:
            raise
        except Exception as exc:  # not a database, unreadable: one line, no traceback, no page
            st.error(markdown_text(open_problem(s[keys.WORKSPACE], exc)))
            return None
        if brands:
            setting = our_brand_setting(con, s[keys.WORKSPACE])
            default_ours = next(b for b in (s.get(keys.OUR_BRAND), setting, brands[0]) if b in brands)
            s[keys.OUR_BRAND] = st.selectbox("Our brand", brands, index=brands.index(default_ours))
            others = [b for b in brands if b != s[keys.OUR_BRAND]]
            kept = [b for b in (s.get(keys.COMPETITORS) or others) if b in others]
            s[keys.COMPETITORS] = st.multiselect("Competitors", others, default=kept)
        else:
            s[keys.OUR_BRAND], s[keys.COMPETITORS] = None, []
        lo, hi = date_bounds(con, s[keys.WORKSPACE])
        if lo is not None and hi is not None:
            chosen = s.get(keys.DATE_RANGE) or (lo, hi)
            seen = s.get(keys.DATE_BOUNDS_SEEN)
            if seen and seen != (lo, hi):  # new posts came in: a range that reached the edge follows it
                chosen = (lo if chosen[0] == seen[0] else chosen[0], hi if chosen[-1] == seen[1] else chosen[-1])
            s[keys.DATE_BOUNDS_SEEN] = (lo, hi)
            chosen = (max(lo, min(chosen[0], hi)), min(hi, max(chosen[-1], lo)))
            picked = st.date_input("Date range", value=chosen, min_value=lo, max_value=hi)
            if isinstance(picked, (tuple, list)) and len(picked) == 2:
                s[keys.DATE_RANGE] = tuple(picked)
        else:
            s[keys.DATE_RANGE] = (None, None)
        models = model_list(con, s[keys.WORKSPACE])
        if models:
            default_model = s.get(keys.MODEL_ID) if s.get(keys.MODEL_ID) in models else models[0]
            s[keys.MODEL_ID] = st.selectbox("Model", models, index=models.index(default_model))
        else:
            s[keys.MODEL_ID] = None
            st.caption("No predictions yet: score the workspace on the Models page.")
    return current_filters()
