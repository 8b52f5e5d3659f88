"""``brandlens label-queue``: the next posts to label (for a spreadsheet round-trip or a script)."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "label-queue",
        help="list the next posts to label: the most informative ones plus a random share",
        description=(
            "The posts whose labels would teach the model most (uncertain and diverse, per brand) and a "
            "random quarter marked as such (evaluation and the KPI correction rest on random labels). "
            "--csv writes them with an empty 'label' column: fill it in and `brandlens ingest` the file "
            "back; the labels land as corrections."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--n", type=positive_int, default=50, help="posts to list (default: 50)")
    parser.add_argument("--model", default=None, help="model whose uncertainty chooses (default: the workspace's model)")
    parser.add_argument("--brand", action="append", dest="brands", metavar="BRAND", help="only this brand (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random share and the clustering (default: 0)")
    parser.add_argument("--csv", default=None, metavar="FILE", help="also write the posts to FILE with an empty label column")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from analytics import privacy
    from analytics.core.escape import spreadsheet_frame
    from analytics.labelling.queue import next_posts
    from analytics.store.lookups import default_model_id

    with open_workspace(args.workspace, mode="read") as con:
        model_id = args.model or default_model_id(con)
        if not args.json:
            print(f"choosing {args.n} posts with model {model_id!r} (embedding the uncertain ones)...", file=sys.stderr)
        queue = next_posts(con, model_id, n=args.n, brands=args.brands, seed=args.seed)
        queue["text"] = privacy.display_texts(con, queue["text"].tolist())
    if args.csv:
        spreadsheet_frame(queue[["post_id", "brand", "text", "guess", "chosen_by"]].assign(label="")).to_csv(
            args.csv, index=False)
    if args.json:
        print_json({"model": model_id, "n": len(queue), "posts": [
            {"post_id": r.post_id, "text": r.text, "brand": r.brand, "guess": r.guess,
             "confidence": round(float(r.confidence), 4), "chosen_by": r.chosen_by}
            for r in queue.itertuples()]})
        return 0
    if queue.empty:
        print("nothing to label: every scored post readable by the model is labelled or skipped")
        return 0
    for r in queue.itertuples():
        text = " ".join(str(r.text).split())
        print(f"{r.post_id[:12]}  {str(r.brand)[:16]:<16} {r.guess:<8} {r.confidence:.2f}  {r.chosen_by:<12}  {text[:90]}")
    if args.csv:
        print(f"written to {args.csv}: fill in the label column and `brandlens ingest {args.csv}`", file=sys.stderr)
    return 0
