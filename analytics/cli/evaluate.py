"""``brandlens evaluate``: metrics with 95% bootstrap intervals on the workspace's labelled posts."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate models on the labelled posts")
    add_workspace_argument(parser)
    parser.add_argument("--model", action="append", default=None, help="model id (repeatable; default: all)")
    parser.add_argument("--brand", action="append", default=None, help="restrict to a brand (repeatable)")
    parser.add_argument("--min-label-confidence", type=float, default=None,
                        help="only labels whose annotator confidence is at least this")
    parser.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples (default 1000)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics import store
    from analytics.evaluation.metrics import HEADLINE_METRICS
    from analytics.evaluation.workspace import evaluate_workspace

    path = store.resolve_workspace(args.workspace)
    with open_workspace(path, mode="read") as con:
        results = evaluate_workspace(con, models=args.model, brand=args.brand,
                                     min_label_confidence=args.min_label_confidence, n_boot=args.n_boot)
    n_labelled = max(r.n for r in results.values())
    if args.json:
        print_json({"workspace": str(path), "n_labelled": n_labelled,
                    "models": [{"model": m, **r.to_dict()} for m, r in results.items()]})
        return 0
    print(f"workspace {path}: {n_labelled:,} labelled posts")
    header = f"{'metric':<26}" + "".join(f"{m:>28}" for m in results)
    print(header)
    for name in HEADLINE_METRICS:
        cells = "".join(f"{r.metrics[name].text('.3f'):>28}" for r in results.values())
        print(f"{name:<26}{cells}")
    return 0
