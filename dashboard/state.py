"""Shared sidebar filters, kept in plain ``st.session_state`` keys.

Widget values keyed by widget are dropped when their page is not rendered, so the
sidebar writes the chosen values into plain keys (``FILTER_KEYS``) that survive page
switches; every page reads them through :func:`current_filters`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from analytics import store
from dashboard.workspace import brand_list, date_bounds, model_list, our_brand_setting, workspace_connection

FILTER_KEYS = ("workspace", "our_brand", "competitors", "date_range", "model_id")


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
        return dt.datetime.combine(self.end, dt.time()) + dt.timedelta(days=1) if self.end else None

    @property
    def start_datetime(self) -> dt.datetime | None:
        return dt.datetime.combine(self.start, dt.time()) if self.start else None


def current_filters() -> Filters:
    """The filters the sidebar last set (defaults before it has run)."""
    s = st.session_state
    date_range = s.get("date_range") or (None, None)
    return Filters(
        workspace=s.get("workspace") or str(store.resolve_workspace(None)),
        our_brand=s.get("our_brand"),
        competitors=tuple(s.get("competitors") or ()),
        start=date_range[0],
        end=date_range[1] if len(date_range) > 1 else None,
        model_id=s.get("model_id"),
    )


def render_sidebar() -> Filters:
    """Draw the shared sidebar and store its choices in the plain session keys."""
    s = st.session_state
    with st.sidebar:
        st.markdown("### Workspace")
        s["workspace"] = st.text_input(
            "DuckDB file", value=s.get("workspace") or str(store.resolve_workspace(None))
        )
        try:
            con = workspace_connection(s["workspace"])
        except Exception as exc:  # a locked or unreadable file: say so, keep the app up
            st.error(f"Cannot open workspace {s['workspace']}: {exc}")
            return current_filters()
        brands = brand_list(con, s["workspace"])
        if brands:
            setting = our_brand_setting(con, s["workspace"])
            default_ours = next(b for b in (s.get("our_brand"), setting, brands[0]) if b in brands)
            s["our_brand"] = st.selectbox("Our brand", brands, index=brands.index(default_ours))
            others = [b for b in brands if b != s["our_brand"]]
            kept = [b for b in (s.get("competitors") or others) if b in others]
            s["competitors"] = st.multiselect("Competitors", others, default=kept)
        else:
            s["our_brand"], s["competitors"] = None, []
        lo, hi = date_bounds(con, s["workspace"])
        if lo is not None and hi is not None:
            chosen = s.get("date_range") or (lo, hi)
            chosen = (max(lo, min(chosen[0], hi)), min(hi, max(chosen[-1], lo)))
            picked = st.date_input("Date range", value=chosen, min_value=lo, max_value=hi)
            if isinstance(picked, (tuple, list)) and len(picked) == 2:
                s["date_range"] = tuple(picked)
        else:
            s["date_range"] = (None, None)
        models = model_list(con, s["workspace"])
        if models:
            default_model = s.get("model_id") if s.get("model_id") in models else models[0]
            s["model_id"] = st.selectbox("Model", models, index=models.index(default_model))
        else:
            s["model_id"] = None
            st.caption("No predictions yet: score the workspace on the Models page.")
    return current_filters()
