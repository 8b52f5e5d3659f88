"""Small read-only queries of a workspace that pages, the sidebar and the CLI show.

Each question has one query here, so every list comes out in the same order wherever it
is shown (the sidebar's models and the Fairness page's models are one list). Values travel
as query parameters only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.store import get_setting
from analytics.store.filters import post_filter


def brands(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The workspace's brands, most posts first (ties by name)."""
    rows = con.execute(
        "SELECT brand FROM posts WHERE brand IS NOT NULL GROUP BY brand ORDER BY count(*) DESC, brand"
    ).fetchall()
    return [r[0] for r in rows]


def date_bounds(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with a post (``None`` for a workspace without timed posts)."""
    rows = con.execute("SELECT min(created_at)::DATE, max(created_at)::DATE FROM posts").fetchall()
    return rows[0][0], rows[0][1]


def time_bounds(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime | None, dt.datetime | None]:
    """First and last post time of the workspace."""
    rows = con.execute("SELECT min(created_at), max(created_at) FROM posts").fetchall()
    return rows[0][0], rows[0][1]


def model_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Model ids with predictions in the workspace: the one it uses first (setting ``active_model``, set by
    "use for this workspace"), then ``default``, then by predictions, then by id.

    The one order of every model list (sidebar, Fairness, Model evaluation, the KPIs' default).
    """
    active = get_setting(con, "active_model") or ""
    rows = con.execute(
        "SELECT model_id FROM predictions GROUP BY model_id "
        "ORDER BY (model_id = ?) DESC, (model_id = 'default') DESC, count(*) DESC, model_id",
        [active],
    ).fetchall()
    return [r[0] for r in rows]


def default_model_id(con: duckdb.DuckDBPyConnection) -> str:
    """The model KPIs and reports use when none is named: the first of :func:`model_ids`."""
    ids = model_ids(con)
    if not ids:
        raise BrandLensError("the workspace has no predictions: score it first (brandlens score)")
    return ids[0]


def prediction_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per model id (in :func:`model_ids` order): predictions stored and posts still unscored."""
    frame = con.execute(
        """
        WITH total AS (SELECT count(*) AS n FROM posts)
        SELECT r.model_id AS model, count(*) AS predictions, any_value(total.n) - count(*) AS unscored
        FROM predictions r JOIN posts p USING (post_id), total
        GROUP BY r.model_id
        """
    ).df()
    order = {m: i for i, m in enumerate(model_ids(con))}
    return frame.sort_values("model", key=lambda s: s.map(order)).reset_index(drop=True)


def post_count(con: duckdb.DuckDBPyConnection) -> int:
    """Posts stored in the workspace."""
    return int(con.execute("SELECT count(*) FROM posts").fetchall()[0][0])


def post_text(con: duckdb.DuckDBPyConnection, post_id: str) -> str | None:
    """The cleaned text of one post, ``None`` when the id is not in the workspace."""
    rows = con.execute("SELECT text FROM posts WHERE post_id = ?", [post_id]).fetchall()
    return rows[0][0] if rows else None


def sample_texts(con: duckdb.DuckDBPyConnection, n: int) -> list[str]:
    """``n`` post texts in a fixed pseudo-random order (hash of the id): the same sample every time."""
    return [r[0] for r in con.execute("SELECT text FROM posts ORDER BY hash(post_id) LIMIT ?", [n]).fetchall()]


def scored_texts(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pd.DataFrame:
    """``post_id, text, label`` of the posts ``model_id`` scored, restricted to brands and ``[start, end)``."""
    clauses, params = post_filter(brands=brands, start=start, end=end)
    where = " AND ".join(["pr.model_id = ?", *clauses])
    return con.execute(
        f"SELECT p.post_id, p.text, pr.label FROM posts p JOIN predictions pr USING (post_id) WHERE {where} "
        "ORDER BY p.post_id",
        [model_id, *params],
    ).df()


def ingest_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every ingest run, newest first: file, source, when, and where each row went."""
    return con.execute(
        """
        SELECT file_name AS file, source, started_at, rows_read, stored, duplicates, quarantined, status
        FROM ingest_runs ORDER BY started_at DESC
        """
    ).df()


def quarantine_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Runs with quarantined rows: ``run_id, file, started_at, rows``, newest first."""
    return con.execute(
        """
        SELECT q.run_id, any_value(q.source_file) AS file, min(r.started_at) AS started_at, count(*) AS rows
        FROM quarantine q LEFT JOIN ingest_runs r USING (run_id)
        GROUP BY q.run_id ORDER BY min(r.started_at) DESC NULLS LAST
        """
    ).df()


def quarantine_reasons(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct reasons rows were quarantined for."""
    return [r[0] for r in con.execute("SELECT DISTINCT reason FROM quarantine ORDER BY 1").fetchall()]


def quarantined_rows(
    con: duckdb.DuckDBPyConnection, *, run_id: str | None = None, reason: str | None = None, limit: int = 1000
) -> pd.DataFrame:
    """Quarantined rows with the file, row and column of the problem (newest first, at most ``limit``)."""
    return con.execute(
        """
        SELECT source_file AS file, row_number AS row, column_name AS column, reason, raw_row
        FROM quarantine
        WHERE (?::VARCHAR IS NULL OR run_id = ?) AND (?::VARCHAR IS NULL OR reason = ?)
        ORDER BY quarantined_at DESC, row_number LIMIT ?
        """,
        [run_id, run_id, reason, reason, limit],
    ).df()


def detected_languages(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Detected post languages, most posts first (``und``: undetermined)."""
    rows = con.execute(
        "SELECT coalesce(detected_language, 'und') AS l FROM posts GROUP BY l ORDER BY count(*) DESC, l"
    ).fetchall()
    return [r[0] for r in rows]
