"""Uploaded files on their way to the file-based readers: private, short-lived, named by their own name.

The ingest pipeline reads files (CSV, Excel, JSON Lines, Parquet), so an upload is written
to disk for as long as one step needs it and no longer: :func:`private_copy` puts the bytes
in a new folder only this process's user may enter (mode 0700, the file 0600) and deletes
the folder when the block ends, whether the step succeeded or failed. Nothing of an upload
stays in the shared temporary folder, and :func:`without_server_path` keeps that folder out
of the messages a visitor reads.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.core.private import private_temp_folder

FOLDER_PREFIX = "brandlens-upload-"
"""Name prefix of the private folders (one per step, in the system's temporary folder)."""


def upload_name(name: str | None) -> str:
    """The uploaded file's own name, without any folder a browser sent and without control characters.

    Examples
    --------
    >>> upload_name("C:\\\\Users\\\\ana\\\\export.csv"), upload_name("../../etc/x.csv"), upload_name("")
    ('export.csv', 'x.csv', 'upload')
    """
    base = re.split(r"[\\\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base if base not in ("", ".", "..") else "upload"


@contextmanager
def private_copy(data: bytes | memoryview, name: str) -> Iterator[Path]:
    """``data`` as a file called :func:`upload_name` of ``name`` in a private folder, deleted on exit.

    Examples
    --------
    >>> with private_copy(b"text\\nhello\\n", "export.csv") as path:
    ...     oct(path.stat().st_mode & 0o777), oct(path.parent.stat().st_mode & 0o777), path.name
    ('0o600', '0o700', 'export.csv')
    >>> path.exists(), path.parent.exists()
    (False, False)
    """
    folder = private_temp_folder(FOLDER_PREFIX)  # mode 0700; a killed dashboard's copies go with the next upload
    try:
        path = folder / upload_name(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def without_server_path(message: str, path: str | os.PathLike[str]) -> str:
    """``message`` with the private copy's path replaced by the uploaded file's own name.

    Examples
    --------
    >>> without_server_path("file /tmp/brandlens-upload-x1/a.csv, row 3: bad date", "/tmp/brandlens-upload-x1/a.csv")
    'file a.csv, row 3: bad date'
    """
    p = Path(path)
    return message.replace(str(p), p.name).replace(str(p.parent) + os.sep, "").replace(str(p.parent), "")
