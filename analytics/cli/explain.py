"""``brandlens explain``: SHAP token attributions for one post or text."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="token attributions (SHAP) for one post of the workspace or a given text",
        description="Explain a post (--workspace W --post ID, cached in the workspace) or --text with SHAP's "
        "partition explainer over the model's probabilities.",
    )
    add_workspace_argument(parser)
    parser.add_argument("--post", default=None, help="post_id in the workspace")
    parser.add_argument("--text", default=None, help="a text to explain (not cached)")
    parser.add_argument("--model", default="default", help="model spec (default: default)")
    parser.add_argument("--max-evals", type=positive_int, default=None, help="model evaluations (default: 4*tokens+1, >= 20)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.explain.cache import cached_explanation
    from analytics.explain.shap_text import explain_texts
    from analytics.models import load_model
    from analytics.store import lookups

    if (args.post is None) == (args.text is None):
        raise BrandLensError("give exactly one of --post ID (with --workspace) or --text TEXT")
    settings = {} if args.max_evals is None else {"max_evals": args.max_evals}
    cached = False
    if args.text is not None:
        if not args.text.strip():
            raise BrandLensError("--text is empty")
        if args.workspace is not None:  # an adapted model lives in its workspace
            with open_workspace(args.workspace, mode="read") as con:
                model = load_model(args.model, con=con)
        else:
            model = load_model(args.model)
        exp = explain_texts(model, [args.text], **settings)[0]
    else:
        with open_workspace(args.workspace, mode="write") as con:  # writes the explanation cache
            model = load_model(args.model, con=con)
            text = lookups.post_text(con, args.post)
            if text is None:
                raise BrandLensError(f"post {args.post!r} not found in the workspace")
            exp, cached = cached_explanation(con, model, text, post_id=args.post, **settings)
    payload = {"model": args.model, "post_id": args.post, "cached": cached, **exp.to_dict()}
    if args.json:
        print_json(payload)
        return 0
    print(f"model {args.model}: predicted {exp.predicted} "
          + " ".join(f"{c}={p:.3f}" for c, p in payload["probabilities"].items())
          + f" ({exp.seconds:.2f} s{', cached' if cached else ''})")
    for tok in payload["tokens"]:
        print(f"  {tok['token']!r:<20} neg={tok['negative']:+.3f} neu={tok['neutral']:+.3f} pos={tok['positive']:+.3f}")
    return 0
