"""Work a machine does once, for all its processes: the first builds, the others wait and reuse.

A model's first use on a machine converts its encoder and builds its ONNX graph: tens of
seconds and gigabytes of memory. When the dashboard and a scoring job (or several Ray
workers) start on a new machine together, each would do that work at once, at that memory
each. :func:`one_builder` makes them take turns on an exclusive ``flock``: the kernel releases
it when the holder's process ends in any way, ``kill -9`` included, so a killed build never
blocks the next. The caller checks again, under the lock, whether the work is done.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def one_builder(lock: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` for the block, waiting (and saying so) while another process holds it.

    ``what`` names the work in the waiting message. A lock file that cannot be made (a cache this
    user cannot write) does not stop the work: the block runs unshared, as it would without a lock.
    """
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"BrandLens: another process is building {what}; waiting for it", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
