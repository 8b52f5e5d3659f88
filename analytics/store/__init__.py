"""The workspace store: one embedded DuckDB file per workspace.

This module opens workspaces (creating and migrating them, :mod:`.schema`), runs
transactions and reads and writes settings; :mod:`.filters` holds the brand/date filter
every query shares and :mod:`.lookups` the small read-only queries pages show. Callers
pass user input (filters, search words) as query parameters only; nothing here splices
values into SQL text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from analytics.store.filters import post_filter
from analytics.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version

__all__ = [
    "DEFAULT_WORKSPACE", "GROUP_COLUMNS", "MIGRATIONS", "SCHEMA_VERSION", "connect", "get_setting", "migrate",
    "open_workspace", "post_filter", "resolve_workspace", "schema_version", "set_setting", "table_counts",
    "transaction",
]

GROUP_COLUMNS: tuple[str, ...] = ("region", "timezone", "language", "segment")
"""Optional group columns of ``posts`` that slicing and fairness pages offer."""

DEFAULT_WORKSPACE = Path.home() / ".brandlens" / "workspace.duckdb"


def resolve_workspace(workspace: str | os.PathLike[str] | None) -> Path:
    """The workspace file to use: the argument, else ``$BRANDLENS_WORKSPACE``, else the default."""
    if workspace:
        return Path(workspace).expanduser()
    env = os.environ.get("BRANDLENS_WORKSPACE")
    return Path(env).expanduser() if env else DEFAULT_WORKSPACE


def connect(
    workspace: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating when needed) a workspace and return its connection."""
    path = resolve_workspace(workspace)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"workspace {path} does not exist")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder made here is private
    con = duckdb.connect(str(path))
    from analytics.store.sharing import make_workspace_private

    make_workspace_private(path)
    migrate(con)
    return con


@contextmanager
def open_workspace(
    workspace: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager around :func:`connect` that always closes the connection."""
    con = connect(workspace, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block atomically: commit on success, roll back on any exception (or a kill)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def get_setting(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    """Read one workspace setting (``None``/``default`` when unset)."""
    rows = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Write one workspace setting, replacing any previous value."""
    con.execute(
        "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables, for status lines and tests."""
    tables = ("posts", "predictions", "quarantine", "ingest_runs", "label_corrections")
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in tables}
