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
        with st.expander("New workspace", expanded=not served):
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
        if catalog.folder is None:
            st.info("No workspace is served here: start the dashboard with --workspace FILE or --workspaces DIR.")
        elif who.is_admin:
            st.info("The workspace folder has no workspace yet: create one under **New workspace** above, "
                    "then upload an export on the Data page.")
        else:
            st.info("The workspace folder has no workspace yet: ask an admin to create one.")
        return None
    current = wanted if wanted in served else served[0]
    return st.selectbox("Workspace", served, index=served.index(current), format_func=workspace_label)


TOP_COMPETITORS = 5
"""Competitors chosen by default: the brands with most posts after ours (a 250-brand export stays readable)."""

_WIDGETS = {keys.OUR_BRAND: "sb_our_brand", keys.COMPETITORS: "sb_competitors", keys.DATE_RANGE: "sb_date_range",
            keys.MODEL_ID: "sb_model"}
"""The sidebar's widget keys. Keyed widgets keep their identity when their options or defaults change,
so picks made in quick succession are never lost; their values are copied to the plain keys."""

_PENDING = "sb_pending"
"""Choices another page asked the sidebar to make on the next run (:func:`request_filters`)."""

_URL = {keys.OUR_BRAND: "our", keys.COMPETITORS: "vs", keys.MODEL_ID: "model", "start": "from", "end": "to",
        keys.WORKSPACE: "ws"}
"""Query parameters that carry the filters, so a reload (or a shared link) opens on the same choices."""

_RESTORED = "sb_restored_from_url"
_WORKSPACE_SEEN = "sb_workspace_seen"


def request_filters(**choices: object) -> None:
    """Ask the sidebar to select these filters on the next run (e.g. ``model_id=...`` after
    "use for this workspace"); call ``st.rerun()`` afterwards.

    A widget's value cannot change once it was drawn in a run, so the choice waits in a
    plain key that :func:`render_sidebar` applies before it draws the widgets.
    """
    unknown = set(choices) - set(_WIDGETS)
    if unknown:
        raise ValueError(f"unknown filters {sorted(unknown)}; expected some of {sorted(_WIDGETS)}")
    st.session_state.setdefault(_PENDING, {}).update(choices)


def _restore_from_url(served: list[str]) -> None:
    """Once per browser session: the filters the page's address carries (a reload keeps them)."""
    s = st.session_state
    if s.get(_RESTORED):
        return
    s[_RESTORED] = True
    params = st.query_params
    if params.get(_URL[keys.WORKSPACE]) and not s.get(keys.WORKSPACE):
        named = [w for w in served if workspace_label(w) == params[_URL[keys.WORKSPACE]]]
        if named:
            s[keys.WORKSPACE] = named[0]
    if params.get(_URL[keys.OUR_BRAND]) and keys.OUR_BRAND not in s:
        s[keys.OUR_BRAND] = params[_URL[keys.OUR_BRAND]]
    if _URL[keys.COMPETITORS] in params and keys.COMPETITORS not in s:
        s[keys.COMPETITORS] = [b for b in params.get_all(_URL[keys.COMPETITORS]) if b]
    if params.get(_URL[keys.MODEL_ID]) and keys.MODEL_ID not in s:
        s[keys.MODEL_ID] = params[_URL[keys.MODEL_ID]]
    try:
        first = dt.date.fromisoformat(params.get(_URL["start"], ""))
        last = dt.date.fromisoformat(params.get(_URL["end"], ""))
    except ValueError:
        return
    if keys.DATE_RANGE not in s and first <= last:
        s[keys.DATE_RANGE] = (first, last)


def _write_to_url(f: Filters) -> None:
    """Keep the address in step with the filters (only when they changed: setting it costs a message)."""
    wanted = {
        _URL[keys.WORKSPACE]: workspace_label(f.workspace),
        _URL[keys.OUR_BRAND]: f.our_brand or "",
        _URL[keys.COMPETITORS]: list(f.competitors) or [""],
        _URL[keys.MODEL_ID]: f.model_id or "",
        _URL["start"]: f.start.isoformat() if f.start else "",
        _URL["end"]: f.end.isoformat() if f.end else "",
    }
    params = st.query_params
    current = {k: (params.get_all(k) if k == _URL[keys.COMPETITORS] else params.get(k)) for k in wanted}
    if current != wanted:
        for name, value in wanted.items():
            params[name] = value


def _reset_widgets_on_workspace_change(workspace: str) -> None:
    s = st.session_state
    if s.get(_WORKSPACE_SEEN) not in (None, workspace):
        for plain, widget in _WIDGETS.items():
            s.pop(plain, None)
            s.pop(widget, None)
        s.pop(keys.DATE_BOUNDS_SEEN, None)
    s[_WORKSPACE_SEEN] = workspace


def _initial(widget: str, plain: str, valid, default):
    """The value a keyed widget starts from: a pending request, else its own state, else the plain key, else ``default``.

    Values that are no longer options (another workspace's brands, a deleted model) are dropped.
    """
    s = st.session_state
    pending = s.get(_PENDING, {})
    if plain in pending:
        value = pending.pop(plain)
    elif widget in s:
        value = s[widget]
    elif s.get(plain) is not None:
        value = s[plain]
    else:
        return default
    return valid(value) or default


def render_sidebar() -> Filters | None:
    """Draw the shared sidebar and store its choices in the plain session keys (and the address).

    ``None`` when no workspace opens (the sidebar says why): the page is not run then.
    """
    s = st.session_state
    with st.sidebar:
        st.markdown("### Workspace")
        _restore_from_url([str(p) for p in Catalog.from_environment().available()])
        picked = _pick_workspace()
        if picked is None:
            return None
        s[keys.WORKSPACE] = picked
        _reset_widgets_on_workspace_change(picked)
        from dashboard.jobs import render_jobs

        render_jobs(picked)  # background scoring/adapting: live progress, results once, the model to select
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
            fallback = setting if setting in brands else brands[0]
            wk = _WIDGETS[keys.OUR_BRAND]
            s[wk] = _initial(wk, keys.OUR_BRAND, lambda b: b if b in brands else None, fallback)
            s[keys.OUR_BRAND] = st.selectbox("Our brand", brands, key=wk)
            others = [b for b in brands if b != s[keys.OUR_BRAND]]  # most posts first
            wk = _WIDGETS[keys.COMPETITORS]
            s[wk] = _initial(wk, keys.COMPETITORS, lambda bs: [b for b in bs if b in others] or None,
                             others[:TOP_COMPETITORS])
            s[keys.COMPETITORS] = st.multiselect(
                "Competitors", others, key=wk,
                help=f"{len(others):,} other brands, most posts first; the {min(TOP_COMPETITORS, len(others))} "
                     "largest are chosen until you pick others.")
        else:
            s[keys.OUR_BRAND], s[keys.COMPETITORS] = None, []
            s.pop(_WIDGETS[keys.OUR_BRAND], None)
            s.pop(_WIDGETS[keys.COMPETITORS], None)
        lo, hi = date_bounds(con, s[keys.WORKSPACE])
        if lo is not None and hi is not None:
            wk = _WIDGETS[keys.DATE_RANGE]

            def valid_range(value):
                value = tuple(value or ())
                return value if len(value) == 2 and None not in value else None

            chosen = _initial(wk, keys.DATE_RANGE, valid_range, (lo, hi))
            if len(tuple(s.get(wk) or ())) == 1:  # a range half picked: keep the widget as it is
                chosen = None
            seen = s.get(keys.DATE_BOUNDS_SEEN)
            if chosen is not None:
                if seen and seen != (lo, hi):  # new posts came in: a range that reached the edge follows it
                    chosen = (lo if chosen[0] == seen[0] else chosen[0], hi if chosen[-1] == seen[1] else chosen[-1])
                chosen = (max(lo, min(chosen[0], hi)), min(hi, max(chosen[-1], lo)))
                s[wk] = chosen
            s[keys.DATE_BOUNDS_SEEN] = (lo, hi)
            picked_range = st.date_input("Date range", min_value=lo, max_value=hi, key=wk)
            if isinstance(picked_range, (tuple, list)) and len(picked_range) == 2:
                s[keys.DATE_RANGE] = tuple(picked_range)
            elif not valid_range(s.get(keys.DATE_RANGE)):
                s[keys.DATE_RANGE] = (lo, hi)
        else:
            s[keys.DATE_RANGE] = (None, None)
            s.pop(_WIDGETS[keys.DATE_RANGE], None)
        models = model_list(con, s[keys.WORKSPACE])
        if models:
            wk = _WIDGETS[keys.MODEL_ID]
            s[wk] = _initial(wk, keys.MODEL_ID, lambda m: m if m in models else None, models[0])
            s[keys.MODEL_ID] = st.selectbox("Model", models, key=wk,
                                            help="Whose predictions every page shows; the first is the one "
                                                 "this workspace uses.")
        else:
            s[keys.MODEL_ID] = None
            s.pop(_WIDGETS[keys.MODEL_ID], None)
            st.caption("No predictions yet: score the workspace on the Models page.")
    f = current_filters()
    _write_to_url(f)
    return f
