"""``brandlens topics``: build the workspace's complaint topics (source aspects, else discovered)."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "topics",
        help="build topics: the posts' source aspects when they carry them, else discovered by clustering",
        description="Store a topic for every post, as the Topics page's 'Build topics' does: the source's "
        "aspect column when the posts have one, otherwise MiniLM sentence embeddings clustered with k-means "
        "on a seeded sample (k by silhouette unless --n-topics), the rest assigned to the nearest centroid.",
    )
    add_workspace_argument(parser)
    parser.add_argument("--n-topics", type=positive_int, default=None, help="number of discovered topics (default: by silhouette)")
    parser.add_argument("--sample", type=positive_int, default=3000, help="posts the clustering is fitted on (default: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and k-means (default: 0)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.core.progress import tqdm_progress
    from analytics.brand.topics import build_topics

    path = args.workspace
    with open_workspace(path, mode="write") as con:
        if not con.execute("SELECT count(*) FROM posts").fetchall()[0][0]:
            raise BrandLensError(f"workspace {path} has no posts; ingest some first")
        with tqdm_progress("building topics", unit="posts") as bar:
            try:
                summary = build_topics(con, progress=bar, n_topics=args.n_topics, sample=args.sample,
                                       random_state=args.seed)
            except ValueError as exc:
                raise BrandLensError(str(exc)) from exc
    if args.json:
        print_json(summary.to_dict())
    else:
        silhouette = "" if summary.silhouette is None else f", silhouette {summary.silhouette:.3f}"
        print(f"{summary.n_topics} topics ({summary.method}) over {summary.n_posts:,} posts{silhouette}")
    return 0
