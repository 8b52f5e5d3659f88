"""One workspace file, many processes: short connections opened with a bounded wait.

DuckDB lets one process write a database file, or several processes read it, never both
at once (its file lock). BrandLens keeps DuckDB embedded and shares the file by time,
not by a server: nobody keeps a connection open while it thinks. A page opens a
read-only connection for one run and closes it; a job reads its next chunk, closes,
computes (minutes of model time), then opens a read-write connection for one short
transaction and closes again. So a scoring job of hours holds the lock for the
milliseconds of each chunk's ``INSERT``, and the dashboard reads in between.

Whoever finds the lock taken waits and retries (random exponential backoff, with
tenacity) for at most ``wait`` seconds, telling the user once who holds the file; after
that it raises :class:`WorkspaceBusy`, a plain message, never a DuckDB traceback.

:class:`WorkspaceFile` is that discipline for a path; :class:`SharedConnection` gives the
same two methods over one already open connection (tests, in-memory workspaces), so a
function written against :class:`Workspace` works on either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from analytics.core.errors import BrandLensError

DEFAULT_WAIT_SECONDS = float(os.environ.get("BRANDLENS_LOCK_WAIT", "120"))
"""How long anyone waits for a busy workspace before giving up (``$BRANDLENS_LOCK_WAIT``)."""

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


class WorkspaceBusy(BrandLensError):
    """Another process kept the workspace longer than we were willing to wait."""


def is_busy_error(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB refusing the file because someone else has it open.

    Two forms: another process holds the file lock (``IOException``), or this process
    has the file open with the other mode (``ConnectionException``: a page reading while
    another session of the same dashboard writes). Both pass when the other side closes.
    """
    text = str(exc)
    if isinstance(exc, duckdb.IOException) and "Could not set lock on file" in text:
        return True
    return isinstance(exc, duckdb.ConnectionException) and "different configuration" in text


def lock_holder(exc: BaseException) -> str:
    """Who holds the workspace, from DuckDB's lock message: ``"`brandlens score` (PID 123)"``.

    The command line comes from ``/proc`` where there is one; else the executable's name.
    """
    found = _LOCK_HOLDER.search(str(exc))
    if not found:
        return "another session of this dashboard" if isinstance(exc, duckdb.ConnectionException) else "another process"
    pid = found["pid"]
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        words = [os.path.basename(a.decode(errors="replace")) for a in argv if a]
    except OSError:
        words = [os.path.basename(found["exe"])]
    if "brandlens" in words:
        words = words[words.index("brandlens"):][:2]
    elif len(words) > 1 and words[1] in ("-m", "-c"):
        words = words[:3]
    return f"`{' '.join(words[:3])}` (PID {pid})"


def busy_message(exc: BaseException, waited: float | None = None) -> str:
    """The one plain sentence for a busy workspace."""
    holder = lock_holder(exc)
    if waited is None:
        return f"the workspace is busy: {holder} is using it; retrying"
    return (f"the workspace is busy: {holder} kept it for more than {waited:.0f} s; "
            "try again when it has finished (or raise $BRANDLENS_LOCK_WAIT)")


def connect_shared(
    path: str | os.PathLike[str],
    *,
    read_only: bool,
    wait: float = DEFAULT_WAIT_SECONDS,
    on_wait: Callable[[str], None] | None = None,
    migrate: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open ``path``, retrying while another process (or session) has it, for at most ``wait`` s.

    ``on_wait(message)`` is called once, on the first refusal, with :func:`busy_message`.
    With ``migrate`` the workspace is brought to the current schema first (a read-only
    connection cannot migrate: the file is upgraded by a short read-write open, then
    opened read-only again). Raises
    :class:`WorkspaceBusy` when the wait runs out.
    """
    from analytics.store.schema import SCHEMA_VERSION, schema_version
    from analytics.store.schema import migrate as migrate_schema

    told: list[bool] = []

    def tell(state) -> None:
        if on_wait is not None and not told:
            told.append(True)
            on_wait(busy_message(state.outcome.exception()))

    def open_once() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=read_only)
        if not read_only:
            make_workspace_private(path)
        if not migrate:
            return con
        try:
            if not read_only:
                migrate_schema(con)
            elif schema_version(con) < SCHEMA_VERSION:  # read-only cannot migrate: upgrade first, then reopen
                con.close()
                writer = duckdb.connect(str(path))
                try:
                    migrate_schema(writer)
                finally:
                    writer.close()
                con = duckdb.connect(str(path), read_only=True)
        except BaseException:
            con.close()
            raise
        return con

    retrying = Retrying(
        retry=retry_if_exception(is_busy_error),
        stop=stop_after_delay(max(wait, 0.0)),
        wait=wait_random_exponential(multiplier=0.05, max=1.0),
        before_sleep=tell,
        reraise=True,
    )
    try:
        return retrying(open_once)
    except (duckdb.IOException, duckdb.ConnectionException) as exc:
        if is_busy_error(exc):
            raise WorkspaceBusy(busy_message(exc, waited=wait)) from None
        raise


def make_workspace_private(path: str | os.PathLike[str]) -> None:
    """The workspace file and its write-ahead log readable by their owner only (0600): they hold posts,
    e-mail addresses and webhook URLs. Done on every read-write open, so a log DuckDB created since is
    covered too."""
    from analytics.core.private import make_private

    make_private(path)
    make_private(f"{path}.wal")


class Workspace(Protocol):
    """What a long job needs of a workspace: a short read, a short write."""

    def reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def writing(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...


@dataclass(frozen=True)
class WorkspaceFile:
    """A workspace file shared with other processes: every use opens, works briefly, closes.

    ``reading()`` yields a read-only connection; ``writing()`` a read-write one (the caller
    keeps its work to one :func:`analytics.store.transaction`). Both wait for a busy file
    as :func:`connect_shared` does.
    """

    path: Path
    wait: float = DEFAULT_WAIT_SECONDS
    on_wait: Callable[[str], None] | None = field(default=None, compare=False)

    @contextmanager
    def _open(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect_shared(self.path, read_only=read_only, wait=self.wait, on_wait=self.on_wait)
        try:
            yield con
        finally:
            con.close()

    def reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._open(read_only=True)

    def writing(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._open(read_only=False)


@dataclass(frozen=True)
class SharedConnection:
    """:class:`Workspace` over one connection the caller already holds (tests, in-memory)."""

    con: duckdb.DuckDBPyConnection

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        yield self.con

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        yield self.con


def as_workspace(target: duckdb.DuckDBPyConnection | Workspace) -> Workspace:
    """A :class:`Workspace` for a connection or a workspace handle alike."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return SharedConnection(target)
    return target


def data_version(path: str | os.PathLike[str]) -> str:
    """A cheap fingerprint of the workspace's contents: size and modification time of its files.

    Any committed write changes the database file or its write-ahead log, so caches keyed
    by this string see new posts on their next read, without opening the database (which
    would take the lock). A checkpoint changes it too: one needless reload, never a stale one.
    """
    parts = []
    for name in (str(path), str(path) + ".wal"):
        try:
            st = os.stat(name)
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "/".join(parts)
