"""An inbox: the drop folder a connector or a cron job writes exports into.

A file is known by the SHA-256 of its bytes, so a renamed or copied file is not ingested
twice, and a file rewritten with new content is new. Files still being written (changed
in the last :data:`SETTLE_SECONDS`) and hidden or temporary files are left for the next
run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError
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


def content_hash(path: str | os.PathLike[str], *, block: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


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
    """Remember ``file``'s content: ingested (or failed for good) — it is not read again."""
    con.execute(
        "INSERT INTO inbox_files VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [file.content_hash, file.path.name, file.size, dt.datetime.now(dt.UTC).replace(tzinfo=None),
         pipeline_run_id, ingest_run_id, status, error],
    )
