"""An inbox: the drop folder a connector or a cron job writes exports into.

A file is known by the SHA-256 of its bytes, so a renamed or copied file is not ingested
twice, and a file rewritten with new content is new. A file is remembered in three states:
``pending`` (recorded, with the id its ingest run will have, before the ingest starts),
``ingested`` (its posts committed and what they trigger — topics, alerts — done) and
``failed`` (a bad file, reported once). A pass killed in between leaves ``pending``: the
next pass re-reads the file if its ingest never committed, else does the owed work. Files still being written (changed
in the last :data:`SETTLE_SECONDS`) and hidden or temporary files are left for the next
run.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError
from analytics.core.hashing import content_hash
from analytics.ingest.readers import READABLE_SUFFIXES

SETTLE_SECONDS = 2.0
"""A file modified more recently than this may still be being written: it waits for the next run."""

_SKIPPED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox and its content hash."""

    path: Path
    content_hash: str
    size: int


def candidate_files(inbox: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Readable export files of ``inbox`` (not in subfolders), oldest first, settled ones only."""
    folder = Path(inbox)
    if not folder.is_dir():
        raise BrandLensError(f"inbox {folder} is not a folder")
    now = time.time() if now is None else now
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith((".", "~")) or name.endswith(_SKIPPED_SUFFIXES) or not entry.is_file():
            continue
        if entry.suffix.lower() not in READABLE_SUFFIXES:
            continue
        stat = entry.stat()
        if now - stat.st_mtime < SETTLE_SECONDS:
            continue
        found.append((stat.st_mtime, name, entry))
    return [entry for _, _, entry in sorted(found)]


def new_files(con: duckdb.DuckDBPyConnection, inbox: str | os.PathLike[str]) -> tuple[list[InboxFile], list[Path]]:
    """``(new, already_seen)``: the inbox's files whose content the workspace has not seen yet.

    Two files with the same content in one inbox count once (the first by age).
    """
    seen = {row[0] for row in con.execute("SELECT content_hash FROM inbox_files").fetchall()}
    new, known = [], []
    for path in candidate_files(inbox):
        digest = content_hash(path)
        if digest in seen:
            known.append(path)
            continue
        seen.add(digest)
        new.append(InboxFile(path, digest, path.stat().st_size))
    return new, known


def record_file(
    con: duckdb.DuckDBPyConnection,
    file: InboxFile,
    *,
    pipeline_run_id: str,
    ingest_run_id: str | None,
    status: str,
    error: str | None = None,
) -> None:
    """Remember ``file``'s content (``pending``, ``ingested`` or ``failed``); a later record replaces it."""
    con.execute(
        "INSERT INTO inbox_files VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO UPDATE SET "
        "pipeline_run_id = excluded.pipeline_run_id, ingest_run_id = excluded.ingest_run_id, "
        "status = excluded.status, error = excluded.error",
        [file.content_hash, file.path.name, file.size, dt.datetime.now(dt.UTC).replace(tzinfo=None),
         pipeline_run_id, ingest_run_id, status, error],
    )


@dataclass(frozen=True)
class PendingFile:
    """A file an earlier pass started on and did not finish (it was killed)."""

    content_hash: str
    file_name: str
    ingest_run_id: str | None
    committed: bool
    """Whether its ingest run committed: its posts are stored, what they trigger is owed."""


def pending_files(con: duckdb.DuckDBPyConnection) -> list[PendingFile]:
    """Files left ``pending`` by a pass that did not finish, oldest first."""
    return [PendingFile(h, name, run, bool(done)) for h, name, run, done in con.execute(
        "SELECT f.content_hash, f.file_name, f.ingest_run_id, r.run_id IS NOT NULL FROM inbox_files f "
        "LEFT JOIN ingest_runs r ON r.run_id = f.ingest_run_id WHERE f.status = 'pending' ORDER BY f.seen_at"
    ).fetchall()]


def forget_uncommitted(con: duckdb.DuckDBPyConnection, files: list[PendingFile]) -> None:
    """Forget pending files whose ingest never committed: the inbox offers them again."""
    hashes = [f.content_hash for f in files if not f.committed]
    if hashes:
        con.execute("DELETE FROM inbox_files WHERE status = 'pending' AND list_contains(?, content_hash)", [hashes])


def mark_done(con: duckdb.DuckDBPyConnection, ingest_run_ids: list[str]) -> None:
    """The pending files of these ingest runs are done: their posts' alerts were looked for."""
    if ingest_run_ids:
        con.execute("UPDATE inbox_files SET status = 'ingested' WHERE status = 'pending' "
                    "AND list_contains(?, ingest_run_id)", [ingest_run_ids])
