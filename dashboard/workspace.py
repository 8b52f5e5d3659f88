"""Cached loaders at the page edge: the workspace connection and small lookups.

``cache_resource`` holds one DuckDB connection per workspace file; queries use a
``cursor()`` of it (a cursor per thread is DuckDB's rule for concurrent use).
``cache_data`` functions take the connection as an ``_``-prefixed argument (it is not
hashable) and the workspace path as the cache key.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import streamlit as st

from analytics import store


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
    rows = _con.cursor().execute(
        "SELECT brand FROM posts WHERE brand IS NOT NULL GROUP BY brand ORDER BY count(*) DESC, brand"
    ).fetchall()
    return [r[0] for r in rows]


@st.cache_data(show_spinner=False)
def date_bounds(_con: duckdb.DuckDBPyConnection, workspace: str) -> tuple[dt.date | None, dt.date | None]:
    rows = _con.cursor().execute(
        "SELECT min(created_at)::DATE, max(created_at)::DATE FROM posts"
    ).fetchall()
    return rows[0][0], rows[0][1]


@st.cache_data(show_spinner=False)
def model_list(_con: duckdb.DuckDBPyConnection, workspace: str) -> list[str]:
    rows = _con.cursor().execute(
        "SELECT model_id FROM predictions GROUP BY model_id "
        "ORDER BY (model_id = 'default') DESC, count(*) DESC, model_id"
    ).fetchall()
    return [r[0] for r in rows]


@st.cache_data(show_spinner=False)
def our_brand_setting(_con: duckdb.DuckDBPyConnection, workspace: str) -> str | None:
    """The workspace's own brand (setting ``our_brand``, written by the demo or a user), if any."""
    return store.get_setting(_con.cursor(), "our_brand")
