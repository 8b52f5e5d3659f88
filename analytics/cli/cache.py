"""``brandlens cache``: what the model cache holds on disk, and pruning what no process has used."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    from analytics.core.held import IDLE_DAYS

    parser = subparsers.add_parser(
        "cache",
        help="show the model cache's size (converted encoders, ONNX graphs, unpacked adapted models); --prune it",
        description="The model cache ($BRANDLENS_CACHE or ~/.cache/brandlens) holds what BrandLens builds from "
        "installed packages and workspaces: converted encoders, saved tokenizers, ONNX Runtime graphs and "
        "unpacked adapted models. Anything removed is built again when next needed. Graphs and unpacked models "
        f"are pruned on their own after a new one is built, once no process has opened them for {IDLE_DAYS} days; "
        "--prune does it now. A file a running dashboard or job uses is never removed.",
    )
    parser.add_argument("--prune", action="store_true",
                        help="remove the graphs and unpacked models not opened for --idle-days and not in use")
    parser.add_argument("--idle-days", type=_idle_days, default=IDLE_DAYS,
                        help=f"with --prune: days unopened before removal (default {IDLE_DAYS}; 0: all not in use)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def _idle_days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected 0 or more days, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from analytics.models.backbones import cache_root
    from analytics.models.cache import cache_parts, prune_cache

    pruned = prune_cache(idle_days=args.idle_days) if args.prune else None
    parts = cache_parts()
    if args.json:
        payload: dict[str, object] = {"cache": str(cache_root()), "bytes": sum(p.bytes for p in parts),
                                      "parts": [p.to_dict() for p in parts]}
        if pruned is not None:
            payload["pruned"] = {name: {"files": list(p.files), "bytes": p.bytes} for name, p in pruned.items()}
        print_json(payload)
        return 0
    if pruned is not None:
        for name, p in pruned.items():
            print(f"pruned {name}: {len(p.files)} removed, {_size(p.bytes)} freed")
    print(f"model cache {cache_root()}: {_size(sum(p.bytes for p in parts))}")
    for p in parts:
        entries = f"{p.entries:>4} {'entry  ' if p.entries == 1 else 'entries'}"
        kept = "" if p.pruned else " (kept: one per installed version)"
        print(f"  {p.name:<11}{_size(p.bytes):>10}  {entries}  {p.what}{kept}")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"
