"""Progress reporting without a UI dependency.

Long-running library functions take ``progress: ProgressCallback | None`` and call it as
``progress(done, total, message)``. The CLI passes :func:`tqdm_progress`; pages pass a
callback that drives ``st.progress``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[int, int, str], None]


def report(progress: ProgressCallback | None, done: int, total: int, message: str = "") -> None:
    """Call ``progress`` when one was given."""
    if progress is not None:
        progress(done, total, message)


@contextmanager
def tqdm_progress(description: str, *, unit: str = "rows", disable: bool = False) -> Iterator[ProgressCallback]:
    """A progress callback backed by a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, disable=disable, dynamic_ncols=True)

    def callback(done: int, total: int, message: str) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield callback
    finally:
        bar.close()
