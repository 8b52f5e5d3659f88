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


@contextmanager
def open_workspace(workspace: str | None, *, mode: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The one way every command opens its workspace; the connection is closed on exit.

    ``mode`` is ``"read"`` (read-only; the file must exist), ``"write"`` (the file must
    exist: a mistyped path must not silently create and migrate an empty workspace) or
    ``"create"`` (``ingest`` and ``demo-data``: created and migrated when absent). A file
    that is not a DuckDB workspace, or one another process holds, becomes a message.
    """
    import duckdb

    from analytics import store

    if mode not in ("read", "write", "create"):
        raise ValueError(f"mode must be 'read', 'write' or 'create', got {mode!r}")
    path = store.resolve_workspace(workspace) if mode == "create" else existing_workspace(workspace)
    try:
        con = store.connect(path, read_only=mode == "read")
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.SerializationException) as exc:
        raise BrandLensError(f"cannot open workspace {path}: {exc}") from exc
    try:
        yield con
    finally:
        con.close()


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrandLensError as exc:
        print(f"brandlens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"brandlens {args.command}: interrupted; the workspace is unchanged by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
