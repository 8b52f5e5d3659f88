"""Files only their owner may read, and the private temporary folders of jobs that may be killed.

A workspace holds posts, the audit trail's e-mail addresses and webhook URLs; a model cache
holds models fine-tuned on those posts. They are made readable by their owner only (files
0600, folders 0700), whatever the umask. A job's temporary folder (an ingest's staging
database, an upload's private copy) is removed when the job ends; a job killed with
``kill -9`` cannot, so each folder records its process, and the next job of the same kind
removes the folders of processes that are gone.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

OWNER_FILE = ".owner"
"""Inside a private temporary folder: ``<pid> <host>`` of the process that made it."""

ORPHAN_AGE_SECONDS = 24 * 3600
"""A folder without an owner record (or from another host) older than this is an orphan."""


def make_private(path: str | os.PathLike[str]) -> None:
    """Give ``path`` mode 0700 (a folder) or 0600 (a file) if this user owns it; quietly nothing otherwise."""
    try:
        st = os.stat(path)
        if st.st_uid != os.getuid():
            return
        wanted = 0o700 if os.path.isdir(path) else 0o600
        if st.st_mode & 0o777 != wanted:
            os.chmod(path, wanted)
    except OSError:
        pass


def private_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` created if needed (with its parents) and made 0700."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private(folder)
    return folder


def private_temp_folder(prefix: str) -> Path:
    """A new 0700 folder in the system's temporary folder that records its process (see :func:`remove_orphans`)."""
    remove_orphans(prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix))  # mode 0700
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {socket.gethostname()}")
    return folder


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs (one not ours to signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(prefix: str, *, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove this user's ``prefix*`` temporary folders whose process is gone; returns them."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = [e for e in base.iterdir() if e.name.startswith(prefix)]
    except OSError:
        return removed
    host = socket.gethostname()
    for entry in entries:
        try:
            st = entry.stat()
            if not entry.is_dir() or st.st_uid != os.getuid():
                continue
            old = time.time() - st.st_mtime > ORPHAN_AGE_SECONDS
            try:
                pid, _, owner_host = (entry / OWNER_FILE).read_text().partition(" ")
                here = owner_host == host
                gone = (int(pid) != os.getpid() and not pid_alive(int(pid))) if here else old
            except (OSError, ValueError):
                gone = old  # no record (an older version, or killed before writing it)
            if gone:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        except OSError:
            continue
    return removed
