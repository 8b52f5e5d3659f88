"""Ctrl-C and SIGTERM that end a job truthfully.

A signal can arrive at any instruction; what a user needs to know afterwards is whether
the step they interrupted committed. Two tools:

- :func:`terminate_as_interrupt` makes SIGTERM (systemd stopping a service, ``kill``) behave
  like Ctrl-C, as :class:`Terminated`, so the same clean-up and message run;
- :func:`deferred_interrupts` holds both signals back around a commit, so a transaction
  is never cut between "the database committed" and "we know it did"; the signal is raised
  as soon as the block ends, as :class:`Interrupted` carrying what had been committed.

Jobs that commit in steps raise :class:`Interrupted` with a ``committed`` sentence
(``"12,288 of 50,000 posts scored and committed"``), which the CLI prints.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what was committed before it (``None``: nothing is known)."""

    def __init__(self, committed: str | None = None, signum: int = signal.SIGINT) -> None:
        super().__init__(committed or "")
        self.committed = committed
        self.signum = int(signum)


class Terminated(Interrupted):
    """SIGTERM, raised like Ctrl-C (exit 143)."""

    def __init__(self, committed: str | None = None) -> None:
        super().__init__(committed, signal.SIGTERM)


def interrupted_with(exc: KeyboardInterrupt, committed: str) -> Interrupted:
    """``exc`` again, now saying what had been committed (keeps SIGTERM as SIGTERM)."""
    signum = getattr(exc, "signum", signal.SIGINT)
    return Terminated(committed) if signum == signal.SIGTERM else Interrupted(committed, signum)


def exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


_terminated = threading.Event()  # set once SIGTERM arrived (DuckDB turns the exception into "Query interrupted")


def _raise_terminated(signum: int, frame: object) -> None:
    _terminated.set()
    raise Terminated()


def interrupt_from(exc: BaseException) -> KeyboardInterrupt | None:
    """``exc`` as the signal it stands for, or ``None`` when it is no interruption.

    A signal that lands inside a DuckDB statement comes out as DuckDB's "Query interrupted"
    error, not as the ``KeyboardInterrupt`` the handler raised: this gives it back its signal
    (SIGTERM when one arrived, else Ctrl-C), so a job says "stopped (SIGTERM)" and exits 143.
    """
    if isinstance(exc, KeyboardInterrupt):
        return exc
    import duckdb

    if isinstance(exc, getattr(duckdb, "InterruptException", ())) or (
            isinstance(exc, (RuntimeError, duckdb.Error)) and "Query interrupted" in str(exc)):
        return Terminated() if _terminated.is_set() else Interrupted()
    return None


def terminate_as_interrupt() -> None:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (a no-op elsewhere)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@dataclass
class HeldSignals:
    """What :func:`deferred_interrupts` held back, and what the block says it committed."""

    committed: str | None = None
    signals: list[int] = field(default_factory=list)


@contextmanager
def deferred_interrupts(committed: str | None = None) -> Iterator[HeldSignals]:
    """Hold SIGINT and SIGTERM back for the block (one commit); raise the first one after it.

    The block may set ``held.committed`` to what it committed; a held signal is then raised
    as :class:`Interrupted` (or :class:`Terminated`) carrying that sentence. If the block
    itself fails, its exception goes on as it is. Outside the main thread (a dashboard
    session) Python cannot handle signals: a no-op. A signal the process ignores (a job
    started with ``nohup`` or in the background of a script) stays ignored.
    """
    held = HeldSignals(committed)
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, frame: object) -> None:
        held.signals.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield held
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if held.signals:
        first = held.signals[0]
        raise Terminated(held.committed) if first == signal.SIGTERM else Interrupted(held.committed, first)
