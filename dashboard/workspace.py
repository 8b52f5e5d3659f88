"""The workspace at the page edge: short connections, and caches that follow the data.

The dashboard shares its workspace file with CLI jobs (``brandlens run``, ``score``,
``ingest``; see :mod:`analytics.store.sharing`), so it never keeps the file open between
page runs:

- :func:`workspace_connection` is this page run's **read-only** connection. It is opened
  lazily, on the first query that is not answered from a cache, waiting briefly while a
  job commits, and closed by :func:`end_run` when the run ends (``dashboard/app.py``).
  So a rerun whose data is cached does not touch the file at all.
- :func:`writing` is a **read-write** connection for one short write (a correction, a
  rule, an upload's final commit); :func:`shared_workspace` is the handle for long work
  started on a page (scoring, adapting), which opens a connection per step.
- Cached query results are dropped whenever the workspace's files change
  (:func:`follow_data_version`, called before the sidebar reads anything), so posts a
  job added show on the next rerun of any page.

``cache_data`` functions take the connection as an ``_``-prefixed argument (not hashed)
and the workspace path as the cache key; the queries are :mod:`analytics.store.lookups`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from analytics import store
from analytics.store import lookups
from analytics.store.sharing import WorkspaceFile, connect_shared, data_version

_run = threading.local()  # each session's script run has its own thread
_seen_versions: dict[str, str] = {}
_versions_lock = threading.Lock()

PAGE_WAIT_SECONDS = 30.0
"""How long a page waits for a job's commit before saying the workspace is busy."""


def _tell_busy(message: str) -> None:
    try:
        st.toast(message[0].upper() + message[1:], icon="⏳")
    except Exception:  # outside a script run (a test, a thread without a context)
        pass


def _open_read_only(workspace: str) -> duckdb.DuckDBPyConnection:
    path = Path(workspace)
    if not path.exists():  # a new workspace: create and migrate it (one short write)
        connect_shared(path, read_only=False, wait=PAGE_WAIT_SECONDS, on_wait=_tell_busy).close()
    return connect_shared(path, read_only=True, wait=PAGE_WAIT_SECONDS, on_wait=_tell_busy)


class RunConnection:
    """This run's read-only connection, opened on first use; everything else is DuckDB's.

    Every call goes to the connection open *now*: after :func:`writing` or
    :func:`end_run` closed it, the next query opens a new one, so a page may keep this
    object across a write.
    """

    def __init__(self, workspace: str) -> None:
        self._workspace = workspace

    def _connection(self) -> duckdb.DuckDBPyConnection:
        open_ = _run.__dict__.setdefault("connections", {})
        con = open_.get(self._workspace)
        if con is None:
            con = open_[self._workspace] = _open_read_only(self._workspace)
        return con

    def cursor(self) -> RunConnection:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection(), name)


def workspace_connection(workspace: str) -> RunConnection:
    """This page run's read-only connection to ``workspace`` (see the module docstring)."""
    return RunConnection(workspace)


def cursor(workspace: str) -> RunConnection:
    """This run's read-only connection (a page run is one thread: no cursor of its own needed)."""
    return workspace_connection(workspace).cursor()


def end_run(workspace: str | None = None) -> None:
    """Close this run's read-only connection(s): the file is free for writers again."""
    open_ = _run.__dict__.get("connections", {})
    for name in [workspace] if workspace is not None else list(open_):
        con = open_.pop(name, None)
        if con is not None:
            con.close()


@contextmanager
def writing(workspace: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection for one short write; cached results are dropped afterwards.

    This run's read-only connection is closed first (one process cannot hold a file in
    both modes); later reads in the run open a new one.
    """
    end_run(workspace)
    con = connect_shared(workspace, read_only=False, wait=PAGE_WAIT_SECONDS, on_wait=_tell_busy)
    try:
        yield con
    finally:
        con.close()
        invalidate()


def shared_workspace(workspace: str) -> WorkspaceFile:
    """The handle for long work started on a page: a connection per step, as CLI jobs do."""
    end_run(workspace)
    return WorkspaceFile(Path(workspace), wait=PAGE_WAIT_SECONDS, on_wait=_tell_busy)


def follow_data_version(workspace: str) -> str:
    """Drop cached query results when the workspace changed since a page last looked.

    The version is the files' size and modification time (no lock needed); a job's
    commit changes it, so every session sees the new posts on its next rerun.
    """
    version = data_version(workspace)
    with _versions_lock:
        changed = _seen_versions.get(workspace) not in (None, version)
        _seen_versions[workspace] = version
    if changed:
        st.cache_data.clear()
    return version


def invalidate() -> None:
    """Drop cached query results after a page wrote to the workspace."""
    st.cache_data.clear()


@st.cache_data(show_spinner=False)
def brand_list(_con: duckdb.DuckDBPyConnection, workspace: str) -> list[str]:
    return lookups.brands(_con.cursor())


@st.cache_data(show_spinner=False)
def date_bounds(_con: duckdb.DuckDBPyConnection, workspace: str) -> tuple[dt.date | None, dt.date | None]:
    return lookups.date_bounds(_con.cursor())


@st.cache_data(show_spinner=False)
def model_list(_con: duckdb.DuckDBPyConnection, workspace: str) -> list[str]:
    return lookups.model_ids(_con.cursor())


@st.cache_data(show_spinner=False)
def our_brand_setting(_con: duckdb.DuckDBPyConnection, workspace: str) -> str | None:
    """The workspace's own brand (setting ``our_brand``, written by the demo or a user), if any."""
    return store.get_setting(_con.cursor(), "our_brand")
