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
from collections.abc import Sequence

from analytics.core.errors import BrandLensError


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


def existing_workspace(workspace: str | None):
    """The workspace path the ``--workspace`` option names, or a clear error when the file is absent."""
    from analytics import store

    path = store.resolve_workspace(workspace)
    if not path.exists():
        raise BrandLensError(f"workspace {path} does not exist; create it with `brandlens ingest` or `brandlens demo-data`")
    return path


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
