"""Labels from a spreadsheet round-trip: a file of post ids and labels becomes people's corrections.

``brandlens label-queue --json`` (or the page's download) lists posts to label; a person fills
in a ``label`` column in a spreadsheet and the file comes back through ``brandlens ingest`` (or
:func:`import_labels`). Rows are matched on ``post_id``; each label is normalised like an
export's labels (``pos``/``neg``/``1``..``5`` ...), stored as a correction with origin
``file:<name>`` and ``chosen_by`` taken from the file's ``chosen_by`` column when the queue
wrote one (so random and active picks stay apart), else ``file``. Nothing is lost silently:
rows with an unknown id or an unreadable label are reported with their row number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics.core.errors import InputFileError
from analytics.ingest.labels import normalise_labels
from analytics.ingest.readers import read_head

MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class LabelImport:
    """What became of each row of a labelled file."""

    file: str
    rows_read: int
    stored: int
    empty: int
    problems: list[dict[str, object]] = field(default_factory=list)
    """``{"row": n, "column": ..., "reason": ...}`` for every row not stored (unknown id, bad label)."""

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "rows_read": self.rows_read, "stored": self.stored, "empty": self.empty,
                "rejected": len(self.problems), "problems": self.problems[:100]}


def is_label_file(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str]) -> bool:
    """Whether a file is a labelled round-trip: a ``post_id`` and a ``label`` column, ids of this workspace."""
    head = read_head(path, n_rows=50)
    columns = {c.strip().lower(): c for c in head.columns.astype(str)}
    if "post_id" not in columns or "label" not in columns:
        return False
    ids = head[columns["post_id"]].dropna().astype(str).tolist()
    if not ids:
        return False
    found = con.execute("SELECT count(*) FROM posts WHERE list_contains(?::VARCHAR[], post_id)", [ids]).fetchall()[0][0]
    return found > 0


def import_labels(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], *, origin: str | None = None) -> LabelImport:
    """Store the labels of a round-trip file as corrections (one transaction); report every row not stored."""
    from analytics import store
    from analytics.brand.explorer import CHOSEN_BY, correct_label

    path = Path(path)
    frame = read_head(path, n_rows=MAX_ROWS)
    columns = {c.strip().lower(): c for c in frame.columns.astype(str)}
    for needed in ("post_id", "label"):
        if needed not in columns:
            raise InputFileError(f"a labelled file needs a {needed!r} column", file=path.name, column=needed)
    ids = frame[columns["post_id"]].astype(str).str.strip()
    raw = frame[columns["label"]].fillna("").astype(str)
    labels, unknown = normalise_labels(raw)
    chosen = (frame[columns["chosen_by"]].astype(str).str.strip() if "chosen_by" in columns
              else pd.Series("file", index=frame.index))
    known = {r[0] for r in con.execute(
        "SELECT post_id FROM posts WHERE list_contains(?::VARCHAR[], post_id)", [ids.tolist()]).fetchall()}
    origin = origin or f"file:{path.name}"
    problems: list[dict[str, object]] = []
    stored = empty = 0
    with store.transaction(con):
        for i in range(len(frame)):
            row = i + 1  # 1-based data row, header excluded
            if raw.iloc[i].strip() == "":
                empty += 1  # not labelled yet: the person skipped it
                continue
            if ids.iloc[i] not in known:
                problems.append({"row": row, "column": columns["post_id"], "reason": f"no post {ids.iloc[i]!r} here"})
                continue
            if unknown.iloc[i] or labels.iloc[i] is None:
                problems.append({"row": row, "column": columns["label"], "reason": f"unreadable label {raw.iloc[i]!r}"})
                continue
            how = chosen.iloc[i] if chosen.iloc[i] in CHOSEN_BY else "file"
            correct_label(con, ids.iloc[i], str(labels.iloc[i]), origin=origin, chosen_by=how)
            stored += 1
    return LabelImport(path.name, len(frame), stored, empty, problems)
