"""One ``brandlens run`` at a time per workspace: an OS file lock a killed process cannot leave held.

Two passes over one workspace at once would each read the same owed alerts and send them
twice, and ingest the same new file twice. The pass therefore holds an exclusive
``flock`` on a sidecar file beside the workspace (``<workspace>.run-lock``, mode 0600).
The kernel releases it when the holder's process ends in any way, ``kill -9`` included,
so nothing stale is ever left to clean; the file itself stays (deleting a lock file
while another process waits on it would let two holders in).

The holder writes its PID, host, start time and command into the file, so a refused run
can say who holds the workspace. Within one process the lock is re-entrant (the
``--every`` loop holds it across passes, each pass takes it again).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.core.errors import BrandLensError

LOCK_SUFFIX = ".run-lock"

_held: dict[tuple[str, int], list[int]] = {}  # (resolved lock path, thread) -> [fd, depth]: this process's locks
_guard = threading.Lock()


class RunLocked(BrandLensError):
    """Another ``brandlens run`` holds the workspace (the message says who)."""


def lock_path(workspace: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of ``workspace``."""
    path = Path(workspace)
    return path.with_name(path.name + LOCK_SUFFIX)


def holder(workspace: str | os.PathLike[str]) -> str:
    """Who holds (or last held) the run lock, in words: ``"PID 123 on host (brandlens run …) since …"``."""
    try:
        info = json.loads(lock_path(workspace).read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    command = f" ({info['command']})" if info.get("command") else ""
    return f"PID {info.get('pid', '?')} on {info.get('host', '?')}{command}, since {info.get('since', '?')} UTC"


def _describe_self() -> str:
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv and sys.argv[0] else []
    command = " ".join(argv)
    if "run" in argv:
        command = "brandlens " + " ".join(argv[argv.index("run"):])
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command[:200],
                       "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")})


@contextmanager
def run_lock(
    workspace: str | os.PathLike[str],
    *,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold ``workspace``'s run lock for the block.

    Taken at once or, with ``wait``, waited for (``on_wait(message)`` is told once who
    holds it; Ctrl-C and SIGTERM end the wait). Without ``wait`` a held lock raises
    :class:`RunLocked` saying who holds it.
    """
    path = lock_path(workspace)
    key = (str(path.resolve()), threading.get_ident())  # another thread is another holder (flock refuses it)
    with _guard:
        mine = _held.get(key)
        if mine is not None:
            mine[1] += 1
    if mine is not None:
        try:
            yield
        finally:
            with _guard:
                mine[1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(workspace)
            if not wait:
                raise RunLocked(f"another `brandlens run` is using workspace {workspace}: {who}; "
                                "it ends on its own (or stop it), or pass --wait to wait for it") from None
            if on_wait is not None:
                on_wait(f"waiting for another `brandlens run` on this workspace to finish: {who}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _describe_self().encode(), 0)
        with _guard:
            _held[key] = [fd, 1]
        try:
            yield
        finally:
            with _guard:
                del _held[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
