"""The workspace connection and the sidebar's cached lookups, at the page edge.

``cache_resource`` holds one DuckDB connection per workspace file; queries use a
``cursor()`` of it (a cursor per thread is DuckDB's rule for concurrent use).
``cache_data`` functions take the connection as an ``_``-prefixed argument (it is not
hashable) and the workspace path as the cache key; the queries themselves are
:mod:`analytics.store.lookups`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import streamlit as st

from analytics import store
from analytics.store import lookups


@st.cache_resource(show_spinner=False)
def workspace_connection(workspace: str) -> duckdb.DuckDBPyConnection:
    return store.connect(workspace)


def cursor(workspace: str) -> duckdb.DuckDBPyConnection:
    """A cursor on the cached connection, for one page run."""
    return workspace_connection(workspace).cursor()


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
