"""Cache files that a process is using: held with a shared lock, removed only when nobody holds them.

The model cache (``$BRANDLENS_CACHE``) is shared by every BrandLens process of a machine: the
dashboard serves a model for months while scoring jobs come and go, and a prune must never take
a file from under any of them. A process that uses a cached file holds it (:func:`hold_file`): an
open descriptor with a shared ``flock``, which the kernel drops when the process ends in any way.
:func:`remove_unheld` removes only what it can lock exclusively, so a held file is skipped. The
file's modification time records when it was last opened, which is what "idle" means to a prune.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IDLE_DAYS = 30
"""A cached graph or model no process has opened for this many days, and none holds open, is removed by a prune."""

STALE_PARTIAL_SECONDS = 24 * 3600
"""A half-written file or folder of a build older than this was left by a process that was killed."""


@dataclass(frozen=True)
class Pruned:
    """What a prune removed."""

    files: tuple[str, ...]
    """Names of the removed files and folders, in the folder pruned."""
    bytes: int
    """Their total size."""


def hold_file(path: Path) -> int | None:
    """Mark ``path`` as in use by this process: an open descriptor with a shared ``flock``, or ``None`` if it is gone.

    While the descriptor is open :func:`remove_unheld` leaves the file alone. The file's
    modification time is set to now: it is when the file was last opened. ``None`` also when the
    file was removed or moved away (a prune) between opening and locking it.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a prune holds it, then sees whether it was removed
        opened, there = os.fstat(fd), os.stat(path)
        if opened.st_nlink == 0 or (opened.st_ino, opened.st_dev) != (there.st_ino, there.st_dev):
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    try:
        os.utime(path)
    except OSError:  # a read-only cache: used all the same
        pass
    return fd


def remove_unheld(path: Path, *, unused_since: float | None = None, folder: Path | None = None) -> int | None:
    """Remove ``path`` unless a process holds a lock on it (:func:`hold_file`, a build's lock) or, with
    ``unused_since``, it was opened or written after that time; the bytes freed if removed, else ``None``.

    With ``folder``, ``path`` is the file that marks that folder's use (held by its users), or the
    folder itself, and the whole folder goes: it is first renamed aside under the lock, so no process
    finds it half removed.
    """
    try:
        if unused_since is not None and path.stat().st_mtime > unused_since:
            return None
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        st = os.fstat(fd)
        if not st.st_nlink or (unused_since is not None and st.st_mtime > unused_since):  # opened since
            return None
        if folder is None:
            path.unlink()
            return st.st_size
        aside = folder.with_name(f".removed-{folder.name}-{os.getpid()}")
        folder.rename(aside)
    except OSError:  # held by a process that uses it, or not ours to remove
        return None
    finally:
        os.close(fd)
    freed = tree_bytes(aside)
    shutil.rmtree(aside, ignore_errors=True)
    return freed


def prune(candidates: Iterable[tuple[Path, float, Path | None]]) -> Pruned:
    """Remove each candidate ``(path, unused_since, folder)`` that :func:`remove_unheld` finds unheld and unused."""
    removed: list[str] = []
    freed = 0
    for path, unused_since, folder in candidates:
        size = remove_unheld(path, unused_since=unused_since, folder=folder)
        if size is not None:
            removed.append((folder or path).name)
            freed += size
    return Pruned(tuple(sorted(removed)), freed)


def folder_entries(folder: Path) -> list[Path]:
    """What ``folder`` holds, sorted (nothing if it is absent or unreadable)."""
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def tree_bytes(path: Path) -> int:
    """The bytes of the files under ``path`` (``path`` itself if a file); what cannot be read counts 0."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
