"""``brandlens demo-data``: write the synthetic demo workspace."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo-data", help="generate the synthetic demo workspace")
    add_workspace_argument(parser)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--posts", type=positive_int, default=20000, help="number of posts (default 20,000)")
    parser.add_argument("--days", type=positive_int, default=90)
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics import store
    from analytics.demo import generate_demo
    from analytics.core.progress import tqdm_progress

    with open_workspace(args.workspace, mode="create") as con, tqdm_progress("demo-data", disable=args.json) as progress:
        summary = generate_demo(con, seed=args.seed, n_posts=args.posts, days=args.days, progress=progress)
    payload = {**summary.to_dict(), "workspace": str(store.resolve_workspace(args.workspace))}
    if args.json:
        print_json(payload)
    else:
        print(f"demo workspace {payload['workspace']}: {summary.stored:,} posts stored "
              f"({summary.labelled:,} labelled), brands {', '.join(summary.brands)}; crisis "
              f"{summary.crisis['topic']!r} for {summary.our_brand} {summary.crisis['start']}..{summary.crisis['end']}")
    return 0
