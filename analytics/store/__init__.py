"""The workspace store: one embedded DuckDB file per workspace.

Every table the product uses is created here, through numbered migrations, so that
a workspace written by an older version opens in a newer one. Callers pass user
input (filters, search words) as query parameters only; nothing here splices
values into SQL text.

Time columns hold UTC as naive ``TIMESTAMP`` values (DuckDB's ``TIMESTAMPTZ``
would render in the session's zone, which differs between machines).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

GROUP_COLUMNS: tuple[str, ...] = ("region", "timezone", "language", "segment")
"""Optional group columns of ``posts`` that slicing and fairness pages offer."""

DEFAULT_WORKSPACE = Path.home() / ".brandlens" / "workspace.duckdb"

# Each entry migrates the schema from version i to i + 1. Append; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE settings (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    );
    CREATE TABLE ingest_runs (
        run_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        rows_read BIGINT,
        stored BIGINT,
        duplicates BIGINT,
        quarantined BIGINT,
        mapping JSON,
        status VARCHAR NOT NULL
    );
    CREATE TABLE posts (
        post_id VARCHAR PRIMARY KEY,       -- hash of source and content: stable across re-ingests
        source VARCHAR NOT NULL,
        source_id VARCHAR,                 -- the export's own id, when it survived the export intact
        brand VARCHAR,
        created_at TIMESTAMP,              -- UTC; NULL when the source has no time
        text VARCHAR NOT NULL,             -- cleaned text the models read
        original_text VARCHAR NOT NULL,    -- exactly as read
        author_hash VARCHAR,               -- salted hash; names are never stored
        region VARCHAR,
        timezone VARCHAR,
        language VARCHAR,
        segment VARCHAR,                   -- the column mapped with group=COL
        aspect VARCHAR,                    -- a complaint reason or aspect given by the source
        gold_label VARCHAR,                -- negative | neutral | positive, from the source
        gold_origin VARCHAR,               -- e.g. 'source:airline_sentiment'
        gold_confidence DOUBLE,            -- annotator confidence, when the source has one
        extra JSON,                        -- every unmapped column of the row
        ingest_run VARCHAR NOT NULL
    );
    CREATE TABLE quarantine (
        run_id VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        row_number BIGINT,                 -- 1-based data row in the file (header excluded)
        column_name VARCHAR,
        raw_row JSON,
        reason VARCHAR NOT NULL,
        quarantined_at TIMESTAMP NOT NULL
    );
    CREATE TABLE predictions (
        post_id VARCHAR NOT NULL,
        model_id VARCHAR NOT NULL,
        p_negative DOUBLE NOT NULL,
        p_neutral DOUBLE NOT NULL,
        p_positive DOUBLE NOT NULL,
        label VARCHAR NOT NULL,
        scored_at TIMESTAMP NOT NULL,
        PRIMARY KEY (post_id, model_id)
    );
    CREATE TABLE label_corrections (
        post_id VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        origin VARCHAR NOT NULL,           -- who or what corrected it, e.g. 'explorer:alice'
        corrected_at TIMESTAMP NOT NULL
    );
    CREATE TABLE topics (
        post_id VARCHAR NOT NULL,
        method VARCHAR NOT NULL,           -- 'aspect' (from the source) or 'embedding-kmeans' ...
        topic_id INTEGER NOT NULL,
        PRIMARY KEY (post_id, method)
    );
    CREATE TABLE topic_labels (
        method VARCHAR NOT NULL,
        topic_id INTEGER NOT NULL,
        label VARCHAR NOT NULL,
        keywords JSON,
        PRIMARY KEY (method, topic_id)
    );
    CREATE TABLE alert_rules (
        rule_id VARCHAR PRIMARY KEY,
        brand VARCHAR,                     -- NULL: every brand
        metric VARCHAR NOT NULL,           -- 'volume' | 'negative_share'
        threshold DOUBLE NOT NULL,         -- robust z-score that fires the rule
        period VARCHAR NOT NULL,           -- 'day' | 'week' ('window' is reserved in DuckDB)
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE explanations (
        cache_key VARCHAR PRIMARY KEY,     -- hash of model id, text and settings
        model_id VARCHAR NOT NULL,
        post_id VARCHAR,
        payload JSON NOT NULL,
        created_at TIMESTAMP NOT NULL
    );
    -- The label evaluation uses: a person's latest correction wins over the source's label.
    CREATE VIEW gold_labels AS
    SELECT p.post_id,
           coalesce(c.label, p.gold_label) AS label,
           CASE WHEN c.label IS NOT NULL THEN c.origin ELSE p.gold_origin END AS origin,
           CASE WHEN c.label IS NOT NULL THEN 1.0 ELSE p.gold_confidence END AS confidence
    FROM posts p
    LEFT JOIN (
        SELECT post_id, arg_max(label, corrected_at) AS label, arg_max(origin, corrected_at) AS origin
        FROM label_corrections GROUP BY post_id
    ) c USING (post_id)
    WHERE coalesce(c.label, p.gold_label) IS NOT NULL;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version of an open workspace (0 for an empty file)."""
    # fetchall, not fetchone: DuckDB keeps a half-read result open, which blocks a later register().
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    rows = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(rows[0][0] or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring a workspace up to :data:`SCHEMA_VERSION`, each step in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
    )
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"workspace schema version {current} is newer than this BrandLens ({SCHEMA_VERSION}); upgrade BrandLens"
        )
    for version in range(current, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(MIGRATIONS[version])
            con.execute(
                "INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version + 1]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


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
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
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


def post_filter(
    *, brands: Sequence[str] | None = None, start: object = None, end: object = None, alias: str = "p"
) -> tuple[list[str], list[object]]:
    """SQL conditions and parameters restricting posts to brands and ``[start, end)``.

    Values travel as parameters only; ``alias`` is the posts table's alias in the caller's query.
    """
    clauses: list[str] = []
    params: list[object] = []
    if brands:
        clauses.append(f"{alias}.brand IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(brands))
    if start is not None:
        clauses.append(f"{alias}.created_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append(f"{alias}.created_at < ?")
        params.append(end)
    return clauses, params


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
