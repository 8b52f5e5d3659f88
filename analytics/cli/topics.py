"""``brandlens topics``: build the workspace's topics (source aspects, complaint and general topics)."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, positive_int, print_json, workspace_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "topics",
        help="build topics: the posts' source aspects, plus complaint and general topics discovered for the rest",
        description="Store topics for every post, as the Topics page's 'Build topics' does: the source's aspect "
        "column for the posts that have one; for the others, complaint topics among the posts a model predicts "
        "negative and general topics among all of them (multilingual-e5 embeddings and TF-IDF clustered on a seeded "
        "sample, every post assigned by a stored TF-IDF model). New posts join these topics with `brandlens run` "
        "without re-clustering. The workspace is written once, at the end.",
    )
    add_workspace_argument(parser)
    parser.add_argument("--model", default=None,
                        help="model whose negative predictions complaint topics cover (default: 'default' if scored)")
    parser.add_argument("--n-topics", type=positive_int, default=None,
                        help="topics per kind (default: round(sqrt(sample)/8) within 4..12)")
    parser.add_argument("--sample", type=positive_int, default=4000, help="posts clustered per kind (default: 4000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and k-means (default: 0)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.brand.topics import build_topics
    from analytics.core.errors import BrandLensError
    from analytics.core.progress import tqdm_progress

    workspace = workspace_file(args.workspace)
    with workspace.reading() as con:
        if not con.execute("SELECT count(*) FROM posts").fetchall()[0][0]:
            raise BrandLensError(f"workspace {workspace.path} has no posts; ingest some first")
    with tqdm_progress("building topics", unit="steps") as bar:
        try:
            built = build_topics(workspace, progress=bar, model_id=args.model, n_topics=args.n_topics,
                                 sample=args.sample, random_state=args.seed)
        except ValueError as exc:
            raise BrandLensError(str(exc)) from exc
    if args.json:
        print_json(built.to_dict())
    else:
        for s in built.summaries:
            silhouette = "" if s.silhouette is None else f", silhouette {s.silhouette:.3f}"
            far = "" if s.far_share is None else f", {s.far_share:.0%} far from every topic"
            print(f"{s.n_topics} topics ({s.method}) over {s.n_posts:,} posts{silhouette}{far}")
        for method, why in built.skipped.items():
            print(f"no {method} topics: {why}")
    return 0
