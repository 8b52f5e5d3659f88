"""Background jobs of one long-running process (the dashboard's server): long work that outlives a page run.

Scoring or adapting started on a page used to run inside that page's script run: the tab waited
for minutes, and navigating away or reloading lost the work. A :class:`Job` runs in a thread of
the process instead. It belongs to a workspace and to the person who started it (their actor
name, not a browser session), so it survives navigation, reloads and a sign-out, and any page
can show its progress and result. One person cannot start the same kind of job on a workspace
twice while it runs (:class:`JobRunning`).

Nothing here knows about Streamlit: the work is a function ``work(progress) -> JobOutcome`` over
the library (it opens the workspace per step, as CLI jobs do, see
:class:`analytics.store.sharing.WorkspaceFile`); ``dashboard/jobs.py`` draws the jobs.

A job lives as long as the process: a server restart ends it like a killed CLI job (scoring
resumes where its last committed chunk ended; an adaptation is started again).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analytics.core.errors import BrandLensError
from analytics.core.progress import ProgressCallback

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"

KEEP_SECONDS = 3600.0
"""A finished job is listed this long, so its result reaches its owner after a reload or a sign-in."""


@dataclass(frozen=True)
class JobOutcome:
    """What finished work reports: one sentence for its owner and choices for their next page run."""

    message: str
    follow_up: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    """One piece of long work: who started it on which workspace, how far it is, how it ended."""

    id: str
    kind: str
    workspace: str
    owner: str
    label: str
    started_at: float
    done: int = 0
    total: int = 0
    message: str = ""
    status: str = RUNNING
    outcome: JobOutcome | None = None
    error: str | None = None
    finished_at: float | None = None
    seen: bool = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def running(self) -> bool:
        return self.status == RUNNING


class JobRunning(BrandLensError):
    """The same person already runs this kind of job on this workspace."""


class JobRegistry:
    """The jobs of this process: start, list, acknowledge. Thread-safe."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def start(
        self,
        kind: str,
        *,
        workspace: str,
        owner: str,
        label: str,
        work: Callable[[ProgressCallback], JobOutcome],
    ) -> Job:
        """Run ``work`` in a thread and return its :class:`Job` at once.

        Raises :class:`JobRunning` when ``owner`` already runs a ``kind`` job on ``workspace``.
        ``work`` raises :class:`BrandLensError` (or ``ValueError``/``OSError``) for what a user
        can fix; the job then fails with that sentence. Anything else fails it with the
        exception's type named and the traceback logged, never shown.
        """
        with self._lock:
            self._expire()
            for job in self._jobs.values():
                if job.running and (job.kind, job.workspace, job.owner) == (kind, workspace, owner):
                    raise JobRunning(f"{job.label} is already running (started "
                                     f"{time.time() - job.started_at:.0f} s ago): wait for it to finish")
            job = Job(id=f"job-{next(self._ids)}", kind=kind, workspace=workspace, owner=owner, label=label,
                      started_at=time.time())
            self._jobs[job.id] = job
            thread = threading.Thread(target=self._run, args=(job, work), name=f"brandlens-{job.id}", daemon=True)
            self._threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job: Job, work: Callable[[ProgressCallback], JobOutcome]) -> None:
        def progress(done: int, total: int, message: str) -> None:
            job.done, job.total, job.message = int(done), int(total), str(message)

        try:
            outcome = work(progress)
        except (BrandLensError, ValueError, OSError) as exc:
            job.error, job.status = str(exc), FAILED
        except Exception as exc:  # a defect: said in one line, the traceback goes to the server's log
            log.exception("background job %s (%s) failed", job.id, job.label)
            job.error, job.status = f"it stopped on an unexpected {type(exc).__name__}; see the server's log", FAILED
        else:
            job.outcome, job.status = outcome, DONE
        finally:
            job.finished_at = time.time()

    def _expire(self) -> None:
        now = time.time()
        for job_id in [j.id for j in self._jobs.values()
                       if not j.running and j.finished_at is not None and now - j.finished_at > KEEP_SECONDS]:
            self._jobs.pop(job_id, None)
            self._threads.pop(job_id, None)

    def jobs(self, *, workspace: str | None = None, owner: str | None = None) -> list[Job]:
        """Jobs of ``workspace`` (and ``owner``), oldest first: running ones and those finished within the hour."""
        with self._lock:
            self._expire()
            return [j for j in self._jobs.values()
                    if (workspace is None or j.workspace == workspace) and (owner is None or j.owner == owner)]

    def acknowledge(self, job_id: str) -> None:
        """Mark a finished job's result as shown to its owner (it is not announced again)."""
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id].seen = True

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job's thread ended (tests and shutdown); the job as it ended."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self._jobs[job_id]


JOBS = JobRegistry()
"""The process's registry (the dashboard server has one; tests may make their own)."""
