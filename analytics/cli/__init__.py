"""The ``brandlens`` command: one sub-command per module in this package.

Each module ``analytics/cli/<name>.py`` defines ``register(subparsers)`` which adds its
sub-parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and
returning an exit code). Modules import heavy libraries (torch, transformers) inside
their ``func`` so that ``brandlens --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.core.errors import BrandLensError

if TYPE_CHECKING:
    import duckdb

    from analytics.store.sharing import WorkspaceFile


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brandlens", description="Brand sentiment analytics whose numbers can be trusted."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def add_workspace_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--workspace`` option every workspace command shares."""
    parser.add_argument(
        "--workspace",
        "-w",
        default=None,
        help="DuckDB workspace file (default: $BRANDLENS_WORKSPACE or ~/.brandlens/workspace.duckdb)",
    )


def existing_workspace(workspace: str | None) -> Path:
    """The workspace path the ``--workspace`` option names, or a clear error when the file is absent."""
    from analytics import store

    path = store.resolve_workspace(workspace)
    if not path.exists():
        raise BrandLensError(f"workspace {path} does not exist; create it with `brandlens ingest` or `brandlens demo-data`")
    return path


def _tell_busy(message: str) -> None:
    print(f"brandlens: {message}", file=sys.stderr, flush=True)


@contextmanager
def open_workspace(workspace: str | None, *, mode: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The one way a short command opens its workspace; the connection is closed on exit.

    ``mode`` is ``"read"`` (read-only; the file must exist), ``"write"`` (the file must
    exist: a mistyped path must not silently create and migrate an empty workspace) or
    ``"create"`` (``ingest`` and ``demo-data``: created and migrated when absent). A file
    another process is using is waited for (a line on stderr says who has it; at most
    ``$BRANDLENS_LOCK_WAIT`` seconds, see :mod:`analytics.store.sharing`); a file that is not
    a DuckDB workspace becomes a message. Long jobs use :func:`workspace_file` instead and
    open a connection per step.
    """
    import duckdb

    from analytics import store
    from analytics.store.sharing import connect_shared

    if mode not in ("read", "write", "create"):
        raise ValueError(f"mode must be 'read', 'write' or 'create', got {mode!r}")
    path = store.resolve_workspace(workspace) if mode == "create" else existing_workspace(workspace)
    if mode == "create":
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder made here is private
    try:
        con = connect_shared(path, read_only=mode == "read", on_wait=_tell_busy)
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.SerializationException,
            duckdb.CatalogException) as exc:
        raise BrandLensError(f"cannot open workspace {path}: {exc}") from exc
    try:
        yield con
    finally:
        con.close()


def workspace_file(workspace: str | None, *, create: bool = False) -> WorkspaceFile:
    """The workspace of a long job, opened per step (:class:`analytics.store.sharing.WorkspaceFile`).

    The file must exist unless ``create``; it is migrated now (one short write), so each
    later read-only step sees the current schema; a busy file is waited for.
    """
    import duckdb

    from analytics import store
    from analytics.store.sharing import WorkspaceFile, connect_shared

    path = store.resolve_workspace(workspace) if create else existing_workspace(workspace)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder made here is private
    try:
        connect_shared(path, read_only=False, on_wait=_tell_busy).close()
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.SerializationException) as exc:
        raise BrandLensError(f"cannot open workspace {path}: {exc}") from exc
    return WorkspaceFile(path, on_wait=_tell_busy)


def positive_int(text: str) -> int:
    """``argparse`` type of every count option: an integer of at least 1, else argparse's usage error."""
    from analytics.core.checks import check_positive_int

    try:
        value = int(text)
        check_positive_int("value", value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    return value


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON object")


def print_json(payload: object) -> None:
    """Print the ``--json`` result on stdout (progress bars go to stderr)."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()  # a closed pipe is reported here, inside main(), not at interpreter exit


def main(argv: Sequence[str] | None = None) -> int:
    from analytics.core.signals import exit_code, interrupt_from, terminate_as_interrupt

    parser = build_parser()
    args = parser.parse_args(argv)
    terminate_as_interrupt()
    try:
        return int(args.func(args) or 0)
    except BrandLensError as exc:
        print(f"brandlens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"brandlens {args.command}: {_interrupt_message(exc)}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:
        # the reader of our stdout went away (`| head`): nothing left to say, and nobody to say it to
        _silence_stdout()
        return 0
    except Exception as exc:
        interrupt = interrupt_from(exc)  # Ctrl-C or SIGTERM inside a long DuckDB statement
        if interrupt is not None:
            print(f"brandlens {args.command}: {_interrupt_message(interrupt)}", file=sys.stderr)
            return exit_code(interrupt)
        raise


def _interrupt_message(exc: KeyboardInterrupt) -> str:
    import signal

    what = "stopped (SIGTERM)" if getattr(exc, "signum", signal.SIGINT) == signal.SIGTERM else "interrupted"
    committed = getattr(exc, "committed", None)
    if committed:
        return f"{what}; {committed}"
    return f"{what}; the workspace is unchanged by the unfinished step"


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
