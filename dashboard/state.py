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
from dashboard import keys
from dashboard.workspace import brand_list, date_bounds, model_list, our_brand_setting, workspace_connection


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
        workspace=s.get(keys.WORKSPACE) or str(store.resolve_workspace(None)),
        our_brand=s.get(keys.OUR_BRAND),
        competitors=tuple(s.get(keys.COMPETITORS) or ()),
        start=date_range[0],
        end=date_range[1] if len(date_range) > 1 else None,
        model_id=s.get(keys.MODEL_ID),
    )


def render_sidebar() -> Filters:
    """Draw the shared sidebar and store its choices in the plain session keys."""
    s = st.session_state
    with st.sidebar:
        st.markdown("### Workspace")
        s[keys.WORKSPACE] = st.text_input(
            "DuckDB file", value=s.get(keys.WORKSPACE) or str(store.resolve_workspace(None))
        )
        try:
            con = workspace_connection(s[keys.WORKSPACE])
        except Exception as exc:  # a locked or unreadable file: say so, keep the app up
            st.error(f"Cannot open workspace {s['workspace']}: {exc}")
            return current_filters()
        brands = brand_list(con, s[keys.WORKSPACE])
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
