"""Ingest a file or frame into the workspace without losing a row.

Every row read ends in exactly one of three places, and the summary checks
``stored + duplicates + quarantined == rows_read``:

* **stored** — a new row in ``posts``;
* **duplicate** — its post id (see :mod:`analytics.ingest.ids`) is already stored, earlier in
  the same file or by an earlier ingest; the stored copy stands for it, so a second ingest of
  the same file adds nothing and counts every row as a duplicate. Duplicates are counted,
  not copied into ``quarantine``;
* **quarantined** — a row of ``quarantine`` with the run id, file, 1-based data row number
  (header excluded), the offending column, the raw row as JSON and one reason:
  ``"over-long field"`` (a value over :data:`MAX_FIELD_CHARS` characters, usually a stray
  quote that swallowed lines), ``"wrong number of fields"``, ``"invalid JSON"``,
  ``"empty text"``, ``"date out of range (...)"``, ``"unparseable date"`` or ``"unknown label"``
  (first that applies).

A whole file is one DuckDB transaction (:func:`analytics.store.transaction`): an error, a
Ctrl-C or a killed process leaves the workspace exactly as it was, without even an
``ingest_runs`` row. Files are read in chunks (:mod:`analytics.ingest.readers`); each chunk
is checked with vectorised pandas operations and inserted with one ``INSERT ... SELECT``
from the registered frame, where DuckDB also computes the post id, the salted author
hash and the ``extra`` JSON of unmapped columns — into a private staging database; the
workspace itself is written once, at the end, in one short transaction that copies the
staged run (so other processes share the workspace while a big file is read). Do not
call these functions inside an open transaction of your own.

Times without an offset are taken as UTC. A mapped brand column is ignored (kept in
``extra``) when ``brand=`` names one brand for the whole file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics import store
from analytics.core.errors import InputFileError
from analytics.core.private import private_temp_folder
from analytics.ingest.dates import FIRST_DAY, LAST_DAY, TimeFormat, infer_time_format, out_of_range, parse_times
from analytics.ingest.ids import POST_ID_SQL, mangled_ids
from analytics.ingest.labels import infer_label_scale, normalise_labels
from analytics.ingest.language import detect_languages
from analytics.ingest.mapping import guess_mapping, mapping_notes, resolve_mapping
from analytics.ingest.readers import DEFAULT_CHUNK_ROWS, Chunk, _as_strings, iter_chunks, non_utf8_lines, read_head
from analytics.ingest.text import clean_texts
from analytics.privacy import author_salt
from analytics.core.progress import ProgressCallback, report
from analytics.core.signals import deferred_interrupts
from analytics.store.sharing import Workspace, as_workspace

MAX_FIELD_CHARS = 32_767
"""Longest value accepted in any field: Excel's cell limit; longer values are broken parses."""

_HEAD_ROWS = 1000
_COLUMNS = ("region", "timezone", "language", "aspect")
_IDENTITY = ["source_id", "brand", "created_at", "text", "author"]  # with the source: what POST_ID_SQL hashes


@dataclass
class IngestSummary:
    """What one ingest did. ``stored + duplicates + quarantined == rows_read``."""

    rows_read: int
    stored: int
    duplicates: int
    quarantined: int
    quarantine_reasons: dict[str, int]
    source: str
    workspace: str
    run_id: str = ""
    file: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` object: the seven documented keys first, then run details."""
        return {
            "rows_read": self.rows_read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantine_reasons": dict(self.quarantine_reasons),
            "source": self.source,
            "workspace": self.workspace,
            "run_id": self.run_id,
            "file": self.file,
            "mapping": dict(self.mapping),
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Plan:
    """Decisions taken once per file from its first rows."""

    columns: list[str]
    mapping: dict[str, str]
    source: str
    brand: str | None
    time_format: TimeFormat | None
    label_scale: str | None
    extra_columns: list[str]
    file_label: str
    warnings: list[str]


def _build_plan(
    head: pd.DataFrame,
    *,
    mapping: Mapping[str, str | None] | None,
    brand: str | None,
    source: str,
    time_format: str | None,
    file_label: str,
) -> _Plan:
    columns = [str(c) for c in head.columns]
    if not columns:
        raise InputFileError("no columns found (is the header row missing?)", file=file_label)
    try:
        resolved = resolve_mapping(columns, guess_mapping(head), mapping)
    except ValueError as exc:
        raise InputFileError(str(exc), file=file_label) from None
    warnings: list[str] = mapping_notes(head, resolved)
    if "text" not in resolved:
        raise InputFileError(
            f"no text column: none of the columns {columns} looks like post text; "
            "name it with --map text=COLUMN",
            file=file_label, column="text",
        )
    if "label_confidence" in resolved and "label" not in resolved:
        resolved.pop("label_confidence")  # a confidence without its label: kept in extra
    if brand is not None and "brand" in resolved:
        warnings.append(f"brand {brand!r} given for the whole file; column {resolved['brand']!r} kept in extra")
        resolved.pop("brand")
    if "id" in resolved and len(head):
        ids = head[resolved["id"]]
        if bool(mangled_ids(ids).any()):
            example = ids[mangled_ids(ids)].iloc[0]
            warnings.append(
                f"column {resolved['id']!r} holds ids mangled to scientific notation (e.g. {example!r}); "
                "they are kept in extra and not used as ids"
            )
            resolved.pop("id")
    fmt: TimeFormat | None = None
    if "time" in resolved:
        column = resolved["time"]
        filled = head[column].astype(str).str.strip()
        filled = filled[filled != ""]
        if time_format:
            try:
                share = float(parse_times(filled, time_format).notna().mean()) if len(filled) else 1.0
            except ValueError as exc:
                raise InputFileError(f"time format {time_format!r} is not valid ({exc})", file=file_label,
                                     column=column) from None
            if share == 0.0:
                raise InputFileError(
                    f"time format {time_format!r} reads none of the values such as {filled.iloc[0]!r}",
                    file=file_label, column=column,
                )
            fmt = TimeFormat(time_format, share)
        else:
            try:
                fmt = infer_time_format(head[column], column=column)
            except ValueError as exc:
                message = str(exc).removeprefix(f"column {column!r}: ")
                raise InputFileError(message, file=file_label, column=column) from None
            if fmt is None and (head[column].astype(str).str.strip() != "").any():
                example = head[column][head[column].astype(str).str.strip() != ""].iloc[0]
                raise InputFileError(
                    f"no known date format reads values such as {example!r}; pass --time-format",
                    file=file_label, column=column,
                )
    elif time_format:
        warnings.append("a time format was given but no time column is mapped")
    scale = infer_label_scale(head[resolved["label"]]) if "label" in resolved and len(head) else None
    if "time" not in resolved:
        warnings.append("no time column: posts have no time and the time pages cannot show them")
    mapped = set(resolved.values())
    return _Plan(
        columns=columns,
        mapping=resolved,
        source=source,
        brand=brand,
        time_format=fmt,
        label_scale=scale,
        extra_columns=[c for c in columns if c not in mapped],
        file_label=file_label,
        warnings=warnings,
    )


def _optional(values: pd.Series) -> pd.Series:
    strings = values.astype("str")
    return strings.where(strings.str.strip() != "")


class _Run:
    """One ingest run into a staging database (see :func:`_execute`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plan: _Plan, file_name: str, salt: str,
                 run_id: str | None = None) -> None:
        self.con, self.plan, self.file_name = con, plan, file_name
        self.run_id = run_id or uuid.uuid4().hex
        self.rows_read = self.stored = self.duplicates = 0
        self.reasons: Counter[str] = Counter()
        self.salt = salt
        con.execute("SELECT 1").fetchall()  # finish any result a store helper left open (see _posts_count)
        con.execute(
            "INSERT INTO ingest_runs (run_id, source, file_name, started_at, mapping, status) "
            "VALUES (?, ?, ?, now()::TIMESTAMP, ?, 'running')",
            [self.run_id, plan.source, file_name, json.dumps(plan.mapping)],
        ).fetchall()

    # -- quarantine -----------------------------------------------------------------
    def _quarantine(self, rows: list[tuple[int | None, str | None, str, str]]) -> None:
        if not rows:
            return
        frame = pd.DataFrame(rows, columns=["row_number", "column_name", "raw_row", "reason"])
        frame["row_number"] = frame["row_number"].astype("Int64")
        self.con.register("_ingest_quarantine", frame)
        try:
            self.con.execute(
                "INSERT INTO quarantine (run_id, source_file, row_number, column_name, raw_row, reason, quarantined_at) "
                "SELECT ?, ?, row_number, column_name, raw_row::JSON, reason, now()::TIMESTAMP FROM _ingest_quarantine",
                [self.run_id, self.file_name],
            ).fetchall()
        finally:
            self.con.unregister("_ingest_quarantine")
        self.reasons.update(frame["reason"])

    # -- one chunk ----------------------------------------------------------------
    def add(self, chunk: Chunk) -> None:
        plan, m = self.plan, self.plan.mapping
        frame = chunk.frame
        n = len(frame)
        self.rows_read += n + len(chunk.invalid)
        self._quarantine([(r.row_number, None, json.dumps({"record": r.text}), r.reason) for r in chunk.invalid])
        if n == 0:
            return
        for column in frame.columns:  # JSON Lines records may bring new keys: they go to extra
            if column not in plan.columns:
                plan.columns.append(column)
                plan.extra_columns.append(column)
        for column in plan.columns:  # ... or lack keys
            if column not in frame.columns:
                frame[column] = ""
        frame = frame.reset_index(drop=True)
        reason = np.full(n, None, dtype=object)
        where = np.full(n, None, dtype=object)

        def flag(mask: np.ndarray, why: str, column: str) -> None:
            hit = np.asarray(mask, dtype=bool) & pd.isna(reason)
            reason[hit] = why
            where[hit] = column

        for column in plan.columns:
            values = frame[column]
            flag((values.str.len() > MAX_FIELD_CHARS).to_numpy(), "over-long field", column)
        original = frame[m["text"]].astype(str)
        text = clean_texts(original)
        flag((text == "").to_numpy(), "empty text", m["text"])
        created = None
        if "time" in m and plan.time_format is not None:
            raw = frame[m["time"]]
            created = parse_times(raw, plan.time_format.pattern)
            unread = ((raw.astype(str).str.strip() != "") & created.isna()).to_numpy()
            if unread.any():  # a date too far out for the store (9999-12-31) is its row's problem, said as such
                far = np.zeros(n, dtype=bool)
                far[unread] = out_of_range(raw[unread], plan.time_format.pattern).to_numpy()
                flag(far, f"date out of range (dates run from {FIRST_DAY:%Y-%m-%d} to {LAST_DAY:%Y-%m-%d})", m["time"])
            flag(unread, "unparseable date", m["time"])
        labels = None
        if "label" in m:
            labels, unknown = normalise_labels(frame[m["label"]], scale=plan.label_scale)
            flag(unknown.to_numpy(), "unknown label", m["label"])
        bad = ~pd.isna(reason)
        if bad.any():
            raw_rows = frame.loc[bad, plan.columns]
            numbers = chunk.row_numbers[bad]
            self._quarantine(
                [
                    (int(num), col, json.dumps(dict(zip(plan.columns, values)), ensure_ascii=False), why)
                    for num, col, why, values in zip(numbers, where[bad], reason[bad], raw_rows.itertuples(index=False, name=None))
                ]
            )
        good = ~bad
        if not good.any():
            return
        staged = pd.DataFrame(
            {
                "row_number": chunk.row_numbers[good],
                "source_id": _ids(frame[m["id"]][good]) if "id" in m else None,
                "brand": (pd.Series(plan.brand, index=frame.index[good], dtype=object) if plan.brand is not None
                          else _optional(frame[m["brand"]][good]) if "brand" in m else None),
                "created_at": created[good] if created is not None else pd.Series(pd.NaT, index=frame.index[good], dtype="datetime64[ns]"),
                "text": text[good],
                "original_text": original[good],
                "author": _optional(frame[m["author"]][good]) if "author" in m else None,
                "segment": _optional(frame[m["group"]][good]) if "group" in m else None,
                "gold_label": labels[good] if labels is not None else None,
                "gold_confidence": _confidence(frame[m["label_confidence"]][good]) if "label_confidence" in m else np.nan,
                **{c: (_optional(frame[m[c]][good]) if c in m else None) for c in _COLUMNS},
                **{f"e{i}": _optional(frame[c][good]) for i, c in enumerate(plan.extra_columns)},
            },
            index=frame.index[good],
        )
        # Duplicates inside the chunk (same identity as the post id); earlier chunks and earlier
        # ingests are caught by the primary key in _insert.
        repeated = staged.duplicated(subset=_IDENTITY, keep="first")
        if repeated.any():
            self.duplicates += int(repeated.sum())
            staged = staged[~repeated.to_numpy()]
        self._insert(staged)

    def _insert(self, staged: pd.DataFrame) -> None:
        plan = self.plan
        extra_sql = (
            "json_object(" + ", ".join(f"?, e{i}" for i in range(len(plan.extra_columns))) + ")"
            if plan.extra_columns else "NULL"
        )
        origin = f"source:{plan.mapping['label']}" if "label" in plan.mapping else None
        before = _posts_count(self.con)

        staged = staged.copy()
        codes, scores = detect_languages(staged["text"].to_numpy(dtype=object, na_value=None).tolist())
        staged["detected_language"], staged["language_score"] = codes, scores
        arrays, names = [], []
        for name in staged.columns:
            values = staged[name]
            if name == "row_number":
                arrays.append(pa.array(values.to_numpy(dtype=np.int64)))
            elif name == "created_at":
                arrays.append(pa.array(values.to_numpy(dtype="datetime64[ns]"), type=pa.timestamp("ns")))
            elif name in ("gold_confidence", "language_score"):
                arrays.append(pa.array(values.to_numpy(dtype=float, na_value=np.nan), from_pandas=True))
            elif isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
                arrays.append(pa.array(values, type=pa.string(), from_pandas=True))  # zero-copy
            else:
                arrays.append(pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True))
            names.append(name)
        self.con.register("_ingest_chunk", pa.table(arrays, names=names))
        try:
            self.con.execute(
                f"""
                INSERT INTO posts (post_id, source, source_id, brand, created_at, text, original_text, author_hash,
                                   region, timezone, language, segment, aspect, gold_label, gold_origin,
                                   gold_confidence, extra, ingest_run, detected_language, language_score)
                WITH staged AS (
                    SELECT ?::VARCHAR AS source, source_id::VARCHAR AS source_id, brand::VARCHAR AS brand,
                           created_at::TIMESTAMP AS created_at, text::VARCHAR AS text,
                           original_text::VARCHAR AS original_text,
                           CASE WHEN author IS NULL THEN NULL ELSE sha256(?::VARCHAR || author::VARCHAR) END AS author_hash,
                           region::VARCHAR AS region, timezone::VARCHAR AS timezone, language::VARCHAR AS language,
                           segment::VARCHAR AS segment, aspect::VARCHAR AS aspect, gold_label::VARCHAR AS gold_label,
                           gold_confidence::DOUBLE AS gold_confidence, {extra_sql} AS extra,
                           detected_language::VARCHAR AS detected_language, language_score::DOUBLE AS language_score
                    FROM _ingest_chunk
                ), keyed AS (
                    SELECT {POST_ID_SQL} AS post_id, * FROM staged
                )
                SELECT post_id, source, source_id, brand, created_at, text, original_text, author_hash,
                       region, timezone, language, segment, aspect, gold_label,
                       CASE WHEN gold_label IS NULL THEN NULL ELSE ?::VARCHAR END,
                       CASE WHEN gold_label IS NULL THEN NULL ELSE gold_confidence END,
                       extra, ?, detected_language, language_score
                FROM keyed
                ON CONFLICT DO NOTHING
                """,
                [plan.source, self.salt, *plan.extra_columns, origin, self.run_id],
            ).fetchall()
        finally:
            self.con.unregister("_ingest_chunk")
        inserted = _posts_count(self.con) - before
        self.stored += inserted
        self.duplicates += len(staged) - inserted

    def finish(self) -> None:
        quarantined = sum(self.reasons.values())
        if self.stored + self.duplicates + quarantined != self.rows_read:  # pragma: no cover - invariant
            raise RuntimeError(
                f"ingest lost rows: {self.stored} stored + {self.duplicates} duplicates + "
                f"{quarantined} quarantined != {self.rows_read} read"
            )
        self.con.execute(
            "UPDATE ingest_runs SET finished_at = now()::TIMESTAMP, rows_read = ?, stored = ?, duplicates = ?, "
            "quarantined = ?, status = 'ok' WHERE run_id = ?",
            [self.rows_read, self.stored, self.duplicates, quarantined, self.run_id],
        ).fetchall()


def _posts_count(con: duckdb.DuckDBPyConnection) -> int:
    # fetchall, not fetchone: DuckDB >= 2 refuses register() while a result is unfinished
    return int(con.execute("SELECT count(*) FROM posts").fetchall()[0][0])


def _ids(values: pd.Series) -> pd.Series:
    out = _optional(values)
    return out.where(~mangled_ids(values), None)


def _confidence(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    return numbers.where(numbers.between(0, 1)).astype(float)


def _workspace_path(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    row = rows[0] if rows else None
    return str(row[0]) if row and row[0] else ":memory:"


@contextmanager
def _no_duckdb_progress_bar(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB draws its own progress bar on stdout for long statements; it would corrupt --json output."""
    bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false").fetchall()
    try:
        yield
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}").fetchall()


STAGING_PREFIX = "brandlens-ingest-"
"""Name prefix of an ingest's staging folder (in the system's temporary folder)."""


@contextmanager
def _staging_database() -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A private, empty, migrated DuckDB file the run is staged in; deleted afterwards."""
    folder = private_temp_folder(STAGING_PREFIX)  # mode 0700; a killed ingest's folder is removed by the next
    path = folder / "staging.duckdb"
    con = duckdb.connect(str(path))
    try:
        store.migrate(con)
        con.execute("SET enable_progress_bar = false").fetchall()
        yield con, path
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


_PUBLISH = (
    "INSERT INTO posts SELECT * FROM _staging.posts ON CONFLICT DO NOTHING",
    "INSERT INTO quarantine SELECT * FROM _staging.quarantine",
)


def _publish(con: duckdb.DuckDBPyConnection, staging: Path, run: _Run) -> int:
    """Copy a staged run into the workspace in one transaction; returns the posts stored.

    Posts another ingest stored meanwhile (or earlier) are duplicates by the primary key.
    """
    con.execute(f"ATTACH '{staging}' AS _staging (READ_ONLY)")
    try:
        with store.transaction(con):
            before = _posts_count(con)
            for statement in _PUBLISH:
                con.execute(statement).fetchall()
            stored = _posts_count(con) - before
            con.execute(
                "INSERT INTO ingest_runs SELECT run_id, source, file_name, started_at, now()::TIMESTAMP, rows_read, "
                "?, duplicates + ?, quarantined, mapping, status FROM _staging.ingest_runs WHERE run_id = ?",
                [stored, run.stored - stored, run.run_id],
            ).fetchall()
    finally:
        con.execute("DETACH _staging")
    return stored


def _execute(
    target: duckdb.DuckDBPyConnection | Workspace,
    chunks: Iterable[Chunk],
    plan: _Plan,
    *,
    file_name: str,
    total: int,
    progress: ProgressCallback | None,
    by_bytes: bool,
    run_id: str | None = None,
) -> IngestSummary:
    """Stage the whole file in a private database, then publish it in one short transaction.

    Reading, checking, cleaning and detecting languages happen in the staging database
    with no connection to the workspace open, so other processes (the dashboard, a
    scoring job) use the workspace meanwhile; the workspace is written once, in one
    transaction, at the end: all of the file or nothing. SIGINT/SIGTERM are held back for
    that commit, and the summary of an interrupted run says whether it committed.
    """
    workspace = as_workspace(target)
    started = time.perf_counter()
    salt = ""
    if "author" in plan.mapping:
        with workspace.writing() as con:  # created on first use: one short write
            salt = author_salt(con)
    with _staging_database() as (staging, staging_path):
        run = _Run(staging, plan, file_name, salt, run_id)
        report(progress, 0, total, "starting")
        try:
            for chunk in chunks:
                run.add(chunk)
                done = min(chunk.bytes_read, total) if by_bytes else run.rows_read
                report(progress, done, total, f"{run.rows_read:,} rows")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"undecodable text ({exc.reason})", file=plan.file_label) from None
        run.finish()
        staging.close()
        staged = run.stored
        with workspace.writing() as con, deferred_interrupts("the file was not committed") as held:
            with _no_duckdb_progress_bar(con):
                run.stored = _publish(con, staging_path, run)
            held.committed = (f"the file was committed before that: {run.stored:,} posts stored "
                              f"(ingest run {run.run_id}); nothing was lost")
            run.duplicates += staged - run.stored
            workspace_path = _workspace_path(con)
    report(progress, total, total, f"{run.rows_read:,} rows")
    return IngestSummary(
        rows_read=run.rows_read,
        stored=run.stored,
        duplicates=run.duplicates,
        quarantined=sum(run.reasons.values()),
        quarantine_reasons=dict(sorted(run.reasons.items())),
        source=plan.source,
        workspace=workspace_path,
        run_id=run.run_id,
        file=file_name,
        mapping=dict(plan.mapping),
        warnings=list(plan.warnings),
        seconds=time.perf_counter() - started,
    )


def ingest_file(
    target: duckdb.DuckDBPyConnection | Workspace,
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str | None] | None = None,
    brand: str | None = None,
    source: str | None = None,
    time_format: str | None = None,
    progress: ProgressCallback | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    file_name: str | None = None,
    run_id: str | None = None,
) -> IngestSummary:
    """Ingest a CSV/TSV, Excel, JSON Lines or Parquet export into the workspace.

    Parameters
    ----------
    target : duckdb.DuckDBPyConnection or Workspace
        An open workspace (:func:`analytics.store.connect`), not inside a transaction, or a
        :class:`analytics.store.sharing.WorkspaceFile` (opened only for the final commit).
    path : str or path-like
        The export file.
    mapping : mapping of str to str, optional
        ``field -> column`` overriding the guessed mapping (:func:`guess_mapping`) field by
        field; a field mapped to ``""`` or ``None`` is left unmapped.
    brand : str, optional
        One brand for every row (a brand column is then kept in ``extra``).
    source : str, optional
        Source name, part of every post id; default: the file name without extension.
    time_format : str, optional
        strftime pattern (or ``"ISO8601"``, ``"epoch-seconds"``) for the time column,
        for files whose format cannot be told from the data.
    progress : callable, optional
        ``progress(done_bytes, total_bytes, message)``.
    chunk_rows : int, default 100_000
        Rows read per chunk (memory use grows with it).
    file_name : str, optional
        The name recorded in ``ingest_runs`` and ``quarantine`` and used in messages
        (default: ``path``); an upload passes its own name, not the private copy's path.
    run_id : str, optional
        The ingest run's id (default: a new one). The scheduled pipeline chooses it before
        the ingest, so after a kill it can tell whether the file was committed.

    Returns
    -------
    IngestSummary

    Raises
    ------
    InputFileError
        For files that cannot be read as posts; the message names file, row and column.
        The workspace is unchanged.
    """
    file = Path(path)
    if brand is not None and not str(brand).strip():
        raise ValueError("brand must be a non-empty name when given")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    head = read_head(file, n_rows=_HEAD_ROWS)
    plan = _build_plan(
        head, mapping=mapping, brand=brand, source=source or file.stem or file.name,
        time_format=time_format, file_label=file_name or str(file),
    )
    total = file.stat().st_size
    mixed = non_utf8_lines(file)
    if mixed:  # decoded line by line: said, never silent
        shown = ", ".join(f"{n:,}" for n in mixed[:10]) + (f" and {len(mixed) - 10:,} more" if len(mixed) > 10 else "")
        plan.warnings.append(f"the file is UTF-8 except line(s) {shown}, read as Windows-1252; check those rows")
    return _execute(target, iter_chunks(file, chunk_rows=chunk_rows), plan, file_name=file_name or str(file),
                    total=total, progress=progress, by_bytes=True, run_id=run_id)


def _frame_chunks(frame: pd.DataFrame, chunk_rows: int) -> Iterator[Chunk]:
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows].reset_index(drop=True)
        yield Chunk(part, np.arange(start + 1, start + len(part) + 1, dtype=np.int64))


def ingest_frame(
    target: duckdb.DuckDBPyConnection | Workspace,
    df: pd.DataFrame,
    *,
    source: str,
    mapping: Mapping[str, str | None] | None = None,
    brand: str | None = None,
    time_format: str | None = None,
    progress: ProgressCallback | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> IngestSummary:
    """Ingest an in-memory frame exactly like a file (same checks, ids and summary).

    Parameters are those of :func:`ingest_file`; ``source`` is required and is also the
    ``file_name`` recorded in ``ingest_runs`` and ``quarantine``. Datetime columns may be
    typed (``datetime64``, tz-aware or naive UTC); other values are read as strings.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> _ = store.migrate(con)
    >>> frame = pd.DataFrame({"text": ["great app", "", "slow delivery"], "brand": ["A", "A", "B"]})
    >>> s = ingest_frame(con, frame, source="demo")
    >>> s.stored, s.quarantined, s.quarantine_reasons
    (2, 1, {'empty text': 1})
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(source, str) or not source.strip():
        raise ValueError("source must be a non-empty string")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    strings = _as_strings(df.reset_index(drop=True))
    plan = _build_plan(
        strings.iloc[:_HEAD_ROWS], mapping=mapping, brand=brand, source=source,
        time_format=time_format, file_label=source,
    )
    return _execute(target, _frame_chunks(strings, chunk_rows), plan, file_name=source,
                    total=len(strings), progress=progress, by_bytes=False)


def read_preview(
    path: str | os.PathLike[str], *, n_rows: int = 20
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The first ``n_rows`` rows of a file and the mapping :func:`ingest_file` would guess.

    Raises
    ------
    InputFileError
        For files that cannot be read (as :func:`ingest_file` would).
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    head = read_head(path, n_rows=max(n_rows, _HEAD_ROWS))
    return head.iloc[:n_rows].reset_index(drop=True), guess_mapping(head)
