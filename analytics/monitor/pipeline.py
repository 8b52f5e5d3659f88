"""One pass of the scheduled pipeline (``brandlens run``): inbox → posts → predictions → topics → alerts → people.

Each step holds the workspace only for its own short transactions
(:mod:`analytics.store.sharing`), so the dashboard keeps working while a pass runs:

1. the inbox's files not seen before (by content hash, :mod:`.inbox`) are ingested one by
   one, each all-or-nothing; a bad file is recorded as failed with its message and the
   pass goes on with the next (a file is remembered after its ingest committed: a crash in
   between re-reads it next time, and every row is then a duplicate — nothing is lost or
   stored twice);
2. unscored posts are scored with the workspace's model;
3. new posts are assigned to the existing topics (no re-clustering);
4. alerts are detected for the periods the new posts touch and stored once
   (:mod:`.events`); on the workspace's first pass everything found is historical;
5. every alert still owed to a channel is sent (:mod:`analytics.notify.deliveries`),
   failures of earlier passes included;
6. the pass is recorded in ``pipeline_runs`` (the Data page lists them).
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
from analytics.core.signals import interrupted_with
from analytics.monitor.events import find_alerts
from analytics.monitor.inbox import new_files, record_file
from analytics.notify.deliveries import deliver_owed
from analytics.notify.send import RETRY, RetryPolicy
from analytics.store import get_setting
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
        }

    def committed(self) -> str:
        """What an interrupted pass had committed, in one sentence."""
        done = [f["file"] for f in self.files if f["status"] == "ingested"]
        return (f"this run had committed {len(done)} file(s) ({self.stored:,} posts) and {self.scored:,} "
                f"predictions; the next run goes on from there")


def workspace_model(con: duckdb.DuckDBPyConnection) -> str:
    """The model the workspace uses: the chosen one, else the one with predictions, else ``default``."""
    from analytics.store.lookups import model_ids

    return get_setting(con, "active_model") or next(iter(model_ids(con)), "default")


def _record(workspace: WorkspaceFile, summary: RunSummary, *, inbox: Path, started: dt.datetime) -> None:
    with workspace.writing() as con:
        con.execute(
            """
            INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,
                summary = excluded.summary, errors = excluded.errors
            """,
            [summary.run_id, started, None if summary.status == "running" else dt.datetime.now(dt.UTC).replace(tzinfo=None),
             summary.status, str(inbox), summary.model, json.dumps(summary.to_dict()), json.dumps(summary.errors)],
        )


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
    the ingest and scoring steps.
    """
    from analytics.brand.topics import assign_new_posts
    from analytics.ingest import ingest_file
    from analytics.models import load_model
    from analytics.scoring.local import count_unscored, score_workspace

    inbox = Path(inbox)
    tell = say or (lambda line: None)
    bar = progress or (lambda step: None)
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    clock = time.perf_counter()
    with workspace.reading() as con:
        fresh, seen = new_files(con, inbox)
        first_run = not con.execute(
            "SELECT count(*) FROM pipeline_runs WHERE status IN ('done', 'failed')").fetchall()[0][0]
        model_id = model or workspace_model(con)
    summary = RunSummary(uuid.uuid4().hex[:12], model_id, already_seen=[p.name for p in seen])
    _record(workspace, summary, inbox=inbox, started=started_at)
    ingest_runs: list[str] = []
    try:
        for file in fresh:
            tell(f"ingesting {file.path.name}")
            try:
                result = ingest_file(workspace, file.path, progress=bar(f"ingest {file.path.name}"))
            except (BrandLensError, ValueError, OSError) as exc:
                message = str(exc)
                summary.files.append({"file": file.path.name, "status": "failed", "error": message})
                summary.errors.append(f"{file.path.name}: {message}")
                with workspace.writing() as con:
                    record_file(con, file, pipeline_run_id=summary.run_id, ingest_run_id=None, status="failed",
                                error=message)
                continue
            with workspace.writing() as con:
                record_file(con, file, pipeline_run_id=summary.run_id, ingest_run_id=result.run_id, status="ingested")
            ingest_runs.append(result.run_id)
            summary.files.append({"file": file.path.name, "status": "ingested", "rows_read": result.rows_read,
                                  "stored": result.stored, "duplicates": result.duplicates,
                                  "quarantined": result.quarantined, "ingest_run": result.run_id})
            summary.rows_read += result.rows_read
            summary.stored += result.stored
            summary.duplicates += result.duplicates
            summary.quarantined += result.quarantined

        with workspace.reading() as con:
            unscored, _ = count_unscored(con, model_id)
            sentiment = load_model(model_id, con=con) if unscored else None
        if sentiment is not None:
            tell(f"scoring {unscored:,} posts with {model_id}")
            summary.scored = score_workspace(workspace, sentiment, progress=bar(f"score {model_id}")).scored

        if summary.stored or summary.scored:  # complaint topics take the newly scored negatives too
            tell("assigning new posts to the existing topics")
            summary.topics_assigned = assign_new_posts(workspace).n_assigned

        if summary.stored or first_run:
            with workspace.reading() as con:
                since = None if first_run else con.execute(
                    "SELECT min(created_at) FROM posts WHERE list_contains(?, ingest_run)", [ingest_runs]
                ).fetchall()[0][0]
                has_predictions = con.execute(
                    "SELECT count(*) > 0 FROM predictions WHERE model_id = ?", [model_id]).fetchall()[0][0]
            if has_predictions and (first_run or since is not None):
                with workspace.writing() as con:
                    found = find_alerts(con, model_id=model_id, since=_period_floor(since), first_run=first_run)
                summary.alerts_new, summary.alerts_historical = len(found.new), len(found.historical)
                if found.new:
                    tell(f"{len(found.new)} new alert(s)")

        counts = deliver_owed(workspace, policy=policy)
        summary.alerts_sent, summary.alerts_failed = counts.sent, counts.failed
        if counts.failed:
            summary.errors.append(f"{counts.failed} delivery attempt(s) failed; they are retried on the next run")
        summary.status = "done"
    except KeyboardInterrupt as exc:
        summary.status = "interrupted"
        summary.seconds = time.perf_counter() - clock
        _record_quietly(workspace, summary, inbox=inbox, started=started_at)
        raise interrupted_with(exc, summary.committed()) from None
    except BaseException as exc:
        summary.status = "failed"
        summary.errors.append(f"{type(exc).__name__}: {exc}")
        summary.seconds = time.perf_counter() - clock
        _record_quietly(workspace, summary, inbox=inbox, started=started_at)
        raise
    summary.seconds = time.perf_counter() - clock
    _record(workspace, summary, inbox=inbox, started=started_at)
    return summary


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
