"""One pass of the scheduled pipeline (``brandlens run``): inbox → posts → predictions → topics → alerts → people.

Each step holds the workspace only for its own short transactions
(:mod:`analytics.store.sharing`), so the dashboard keeps working while a pass runs. One
pass at a time per workspace (:mod:`.runlock`, an OS lock a killed process cannot leave
held); a second one is refused, saying who holds it.

0. passes an earlier process left ``running`` (it was killed: ``kill -9``, a power cut) are
   marked ``interrupted`` with what they had committed; files they left ``pending`` are
   re-read if their ingest never committed, else their owed work (topics, alerts) is done
   now — an alert is never lost because a pass died between the ingest and the alerts;
1. the inbox's files not seen before (by content hash, :mod:`.inbox`) are ingested one by
   one, each all-or-nothing; a bad file is recorded as failed with its message and the
   pass goes on with the next. A file is recorded ``pending`` with its ingest run's id
   before the ingest and ``ingested`` only once its alerts were looked for;
2. unscored posts are scored with the workspace's model;
3. new posts are assigned to the existing topics (no re-clustering);
4. alerts are detected for the periods the new posts touch and stored once
   (:mod:`.events`); on the workspace's first pass everything found is historical;
5. every alert still owed to a channel is sent (:mod:`analytics.notify.deliveries`),
   failures of earlier passes included; a claim per alert and channel keeps two
   processes from sending one alert twice;
6. the pass is recorded in ``pipeline_runs`` (the Data page lists them), with a checkpoint
   after each committed step, so a killed pass's row says what it had committed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.core.progress import ProgressCallback
from analytics.core.signals import interrupt_from, interrupted_with
from analytics.monitor.events import find_alerts
from analytics.monitor.inbox import forget_uncommitted, mark_done, new_files, pending_files, record_file
from analytics.monitor.runlock import run_lock
from analytics.notify.deliveries import deliver_owed
from analytics.notify.send import RETRY, RetryPolicy
from analytics.store import get_setting, transaction
from analytics.store.sharing import WorkspaceFile

Reporter = Callable[[str], None]


@dataclass
class RunSummary:
    """What one pass did; :meth:`to_dict` is the ``brandlens run --json`` object (a public interface)."""

    run_id: str
    model: str
    files: list[dict[str, object]] = field(default_factory=list)
    already_seen: list[str] = field(default_factory=list)
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    scored: int = 0
    topics_assigned: int = 0
    alerts_new: int = 0
    alerts_historical: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "running"
    interrupted_runs: list[dict[str, str]] = field(default_factory=list)
    owed_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "model": self.model,
            "files": self.files,
            "already_seen": self.already_seen,
            "rows_read": self.rows_read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "scored": self.scored,
            "topics_assigned": self.topics_assigned,
            "alerts": {"new": self.alerts_new, "sent": self.alerts_sent, "failed": self.alerts_failed,
                       "historical": self.alerts_historical},
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "interrupted_runs": self.interrupted_runs,
            "owed_files": self.owed_files,
        }

    def committed(self) -> str:
        """What an interrupted pass had committed, in one sentence."""
        return committed_sentence(self.to_dict())


def committed_sentence(summary: dict[str, object]) -> str:
    """What a pass (its ``--json`` object, perhaps a checkpoint) had committed, in one sentence."""
    done = [f["file"] for f in summary.get("files", []) if f.get("status") == "ingested"]
    return (f"this run had committed {len(done)} file(s) ({int(summary.get('stored', 0)):,} posts) and "
            f"{int(summary.get('scored', 0)):,} predictions; the next run goes on from there")


def mark_killed_runs(con: duckdb.DuckDBPyConnection, *, found_by: str) -> list[dict[str, str]]:
    """Mark passes left ``running`` as ``interrupted``, each with what it had committed.

    Called by a pass holding the run lock: no other pass can be running, so a ``running``
    row is one whose process died without recording its end (``kill -9``, a crash).
    """
    marked = []
    for run_id, raw in con.execute(
            "SELECT run_id, summary FROM pipeline_runs WHERE status = 'running' AND run_id <> ?", [found_by]).fetchall():
        checkpoint = (json.loads(raw) if isinstance(raw, str) else raw) or {}
        recorded = {f.get("file") for f in checkpoint.get("files", [])}
        for name, stored, rows, duplicates, quarantined, ingest_run in con.execute(  # committed after the checkpoint
                "SELECT f.file_name, r.stored, r.rows_read, r.duplicates, r.quarantined, r.run_id FROM inbox_files f "
                "JOIN ingest_runs r ON r.run_id = f.ingest_run_id WHERE f.pipeline_run_id = ? ORDER BY r.started_at",
                [run_id]).fetchall():
            if name not in recorded:
                checkpoint.setdefault("files", []).append(
                    {"file": name, "status": "ingested", "rows_read": rows, "stored": stored,
                     "duplicates": duplicates, "quarantined": quarantined, "ingest_run": ingest_run})
                checkpoint["stored"] = int(checkpoint.get("stored", 0)) + int(stored or 0)
        done = [f["file"] for f in checkpoint.get("files", []) if f.get("status") == "ingested"]
        committed = (f"it had committed {len(done)} file(s) ({int(checkpoint.get('stored', 0)):,} posts)"
                     f"{': ' + ', '.join(done) if done else ''}; what they owed (scores, topics, alerts) is "
                     "done by this run")
        note = f"the pass ended without finishing (its process was killed); found by run {found_by}: {committed}"
        checkpoint["status"] = "interrupted"
        checkpoint["errors"] = [*checkpoint.get("errors", []), note]
        con.execute("UPDATE pipeline_runs SET status = 'interrupted', summary = ?, errors = ? WHERE run_id = ?",
                    [json.dumps(checkpoint), json.dumps(checkpoint["errors"]), run_id])
        marked.append({"run_id": run_id, "committed": committed})
    return marked


def workspace_model(con: duckdb.DuckDBPyConnection) -> str:
    """The model the workspace uses: the chosen one, else the one with predictions, else ``default``."""
    from analytics.store.lookups import model_ids

    return get_setting(con, "active_model") or next(iter(model_ids(con)), "default")


def _write_row(con: duckdb.DuckDBPyConnection, summary: RunSummary, *, inbox: Path, started: dt.datetime) -> None:
    con.execute(
        """
        INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,
            model_id = excluded.model_id, summary = excluded.summary, errors = excluded.errors
        """,
        [summary.run_id, started, None if summary.status == "running" else dt.datetime.now(dt.UTC).replace(tzinfo=None),
         summary.status, str(inbox), summary.model, json.dumps(summary.to_dict()), json.dumps(summary.errors)],
    )


def _record(workspace: WorkspaceFile, summary: RunSummary, *, inbox: Path, started: dt.datetime) -> None:
    with workspace.writing() as con:
        _write_row(con, summary, inbox=inbox, started=started)


def run_once(
    workspace: WorkspaceFile,
    inbox: str | Path,
    *,
    model: str | None = None,
    policy: RetryPolicy = RETRY,
    say: Reporter | None = None,
    progress: Callable[[str], ProgressCallback | None] | None = None,
) -> RunSummary:
    """One pass over ``inbox`` (see the module docstring); never raises for one bad file.

    ``say`` gets a line per step; ``progress(step)`` may return a progress callback for
    the ingest and scoring steps. Raises :class:`analytics.monitor.runlock.RunLocked`
    when another pass holds the workspace (the CLI's ``--wait`` waits for it instead).
    """
    inbox = Path(inbox)
    with run_lock(workspace.path):
        summary = RunSummary(uuid.uuid4().hex[:12], model or "")
        started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        clock = time.perf_counter()
        try:
            _pass(workspace, inbox, summary, started_at, policy=policy, tell=say or (lambda line: None),
                  bar=progress or (lambda step: None))
            summary.status = "done"
            summary.seconds = time.perf_counter() - clock
            _record(workspace, summary, inbox=inbox, started=started_at)
        except BaseException as exc:
            interrupt = interrupt_from(exc)  # a signal, perhaps turned by DuckDB into "Query interrupted"
            if interrupt is not None:
                summary.status = "interrupted"
                summary.seconds = time.perf_counter() - clock
                _record_quietly(workspace, summary, inbox=inbox, started=started_at)
                raise interrupted_with(interrupt, summary.committed()) from None
            summary.status = "failed"
            summary.errors.append(f"{type(exc).__name__}: {exc}")
            summary.seconds = time.perf_counter() - clock
            _record_quietly(workspace, summary, inbox=inbox, started=started_at)
            raise
    return summary


def _pass(
    workspace: WorkspaceFile,
    inbox: Path,
    summary: RunSummary,
    started_at: dt.datetime,
    *,
    policy: RetryPolicy,
    tell: Reporter,
    bar: Callable[[str], ProgressCallback | None],
) -> None:
    """The steps of :func:`run_once`, filling ``summary`` as they commit."""
    from analytics.brand.topics import assign_new_posts
    from analytics.ingest import ingest_file
    from analytics.models import load_model
    from analytics.scoring.local import count_unscored, score_workspace

    with workspace.reading() as con:
        first_run = not con.execute(
            "SELECT count(*) FROM pipeline_runs WHERE status IN ('done', 'failed')").fetchall()[0][0]
        summary.model = summary.model or workspace_model(con)
    model_id = summary.model
    with workspace.writing() as con, transaction(con):  # what a killed pass left behind, then this pass's row
        summary.interrupted_runs = mark_killed_runs(con, found_by=summary.run_id)
        left = pending_files(con)
        forget_uncommitted(con, left)
        _write_row(con, summary, inbox=inbox, started=started_at)
    for run in summary.interrupted_runs:
        tell(f"an earlier pass ({run['run_id']}) was killed: {run['committed']}")
    owed_runs = [f.ingest_run_id for f in left if f.committed and f.ingest_run_id]
    summary.owed_files = [f.file_name for f in left if f.committed]
    if summary.owed_files:
        tell(f"finishing what a killed pass owed for {', '.join(summary.owed_files)}")
    with workspace.reading() as con:
        fresh, seen = new_files(con, inbox)
    summary.already_seen = [p.name for p in seen]

    ingest_runs: list[str] = []
    for file in fresh:
        tell(f"ingesting {file.path.name}")
        ingest_id = uuid.uuid4().hex
        with workspace.writing() as con:
            record_file(con, file, pipeline_run_id=summary.run_id, ingest_run_id=ingest_id, status="pending")
        try:
            result = ingest_file(workspace, file.path, progress=bar(f"ingest {file.path.name}"), run_id=ingest_id)
        except (BrandLensError, ValueError, OSError) as exc:
            message = str(exc)
            summary.files.append({"file": file.path.name, "status": "failed", "error": message})
            summary.errors.append(f"{file.path.name}: {message}")
            with workspace.writing() as con:
                record_file(con, file, pipeline_run_id=summary.run_id, ingest_run_id=None, status="failed",
                            error=message)
            continue
        ingest_runs.append(result.run_id)
        summary.files.append({"file": file.path.name, "status": "ingested", "rows_read": result.rows_read,
                              "stored": result.stored, "duplicates": result.duplicates,
                              "quarantined": result.quarantined, "ingest_run": result.run_id})
        summary.rows_read += result.rows_read
        summary.stored += result.stored
        summary.duplicates += result.duplicates
        summary.quarantined += result.quarantined
        _record(workspace, summary, inbox=inbox, started=started_at)  # checkpoint: what is committed

    with workspace.reading() as con:
        unscored, _ = count_unscored(con, model_id)
        sentiment = load_model(model_id, con=con) if unscored else None
    if sentiment is not None:
        tell(f"scoring {unscored:,} posts with {model_id}")
        summary.scored = score_workspace(workspace, sentiment, progress=bar(f"score {model_id}")).scored
        _record(workspace, summary, inbox=inbox, started=started_at)

    touched = ingest_runs + owed_runs
    if summary.stored or summary.scored or owed_runs:  # complaint topics take the newly scored negatives too
        tell("assigning new posts to the existing topics")
        summary.topics_assigned = assign_new_posts(workspace).n_assigned

    if touched or first_run:
        with workspace.reading() as con:
            since = None if first_run else con.execute(
                "SELECT min(created_at) FROM posts WHERE list_contains(?, ingest_run)", [touched]
            ).fetchall()[0][0]
            has_predictions = con.execute(
                "SELECT count(*) > 0 FROM predictions WHERE model_id = ?", [model_id]).fetchall()[0][0]
        with workspace.writing() as con, transaction(con):  # the alerts and "these files are done" commit together
            if has_predictions and (first_run or since is not None):
                found = find_alerts(con, model_id=model_id, since=_period_floor(since), first_run=first_run)
                summary.alerts_new, summary.alerts_historical = len(found.new), len(found.historical)
            mark_done(con, touched)
        if summary.alerts_new:
            tell(f"{summary.alerts_new} new alert(s)")

    counts = deliver_owed(workspace, policy=policy)
    summary.alerts_sent, summary.alerts_failed = counts.sent, counts.failed
    if counts.failed:
        summary.errors.append(f"{counts.failed} delivery attempt(s) failed; they are retried on the next run")


def _record_quietly(workspace: WorkspaceFile, summary: RunSummary, *, inbox: Path, started: dt.datetime) -> None:
    try:
        _record(workspace, summary, inbox=inbox, started=started)
    except Exception:  # the run's own failure is the news; a busy workspace must not hide it
        pass


def _period_floor(since: dt.datetime | None) -> dt.datetime | None:
    """The start of the week ``since`` falls in: weekly alert periods it touches start there."""
    if since is None:
        return None
    day = pd.Timestamp(since).normalize()
    return (day - pd.Timedelta(days=day.weekday())).to_pydatetime()


def pipeline_runs(con: duckdb.DuckDBPyConnection, *, limit: int = 50) -> pd.DataFrame:
    """Recorded passes, newest first: when, status, files, counts, errors (for the Data page)."""
    frame = con.execute(
        "SELECT run_id, started_at, finished_at, status, inbox, model_id, summary FROM pipeline_runs "
        "ORDER BY started_at DESC LIMIT ?", [int(limit)]).df()
    rows = []
    for record in frame.to_dict("records"):
        s = json.loads(record["summary"]) if isinstance(record["summary"], str) else (record["summary"] or {})
        alerts = s.get("alerts", {})
        rows.append({
            "started_at": record["started_at"], "finished_at": record["finished_at"], "status": record["status"],
            "files": ", ".join(f"{f['file']} ({f['status']})" for f in s.get("files", [])) or "none new",
            "stored": s.get("stored", 0), "duplicates": s.get("duplicates", 0), "quarantined": s.get("quarantined", 0),
            "scored": s.get("scored", 0), "alerts new": alerts.get("new", 0), "alerts sent": alerts.get("sent", 0),
            "delivery failures": alerts.get("failed", 0), "errors": "; ".join(s.get("errors", [])),
            "run_id": record["run_id"],
        })
    return pd.DataFrame(rows, columns=["started_at", "finished_at", "status", "files", "stored", "duplicates",
                                       "quarantined", "scored", "alerts new", "alerts sent", "delivery failures",
                                       "errors", "run_id"])
