"""``brandlens adapt``: fine-tune the model on the workspace's own labels, with an honest before/after."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, positive_int, print_json, workspace_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "adapt",
        help="adapt the default model to the workspace's labels (stored in the workspace, usable as --model ID)",
        description=(
            "Retrain the default model's top layers on the workspace's gold labels (source labels and people's "
            "corrections), holding out a stratified, seeded share of the representative labels that it never "
            "trains on; base and adapted model are compared on it with a paired bootstrap. The adapted model is "
            "stored in the workspace under the printed id: `brandlens score --model ID` scores with it."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--base", default="default", help="model to adapt (default: default)")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of representative labels held out (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hold-out split and training (default: 0)")
    parser.add_argument("--epochs", type=positive_int, default=4, help="passes over the training labels (default: 4)")
    parser.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def _fmt(estimate: dict) -> str:
    if estimate.get("value") is None:
        return str(estimate.get("note") or "n/a")
    lo, hi = estimate["ci95"]
    if lo is None:
        return f"{estimate['value']:.3f} ({estimate.get('note') or 'no interval'})"
    return f"{estimate['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def run(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.core.progress import tqdm_progress
    from analytics.training.adapt import AdaptConfig, adapt_workspace, verdict

    if not 0 < args.holdout < 1:
        raise BrandLensError(f"--holdout must be between 0 and 1, got {args.holdout}")
    config = AdaptConfig(holdout=args.holdout, seed=args.seed, epochs=args.epochs, n_boot=args.n_boot)
    with tqdm_progress("adapting", unit="steps") as bar:
        result = adapt_workspace(workspace_file(args.workspace), base=args.base, config=config, progress=bar)
    payload = result.to_dict()
    payload["verdict"] = verdict({**payload, "config": {"holdout": args.holdout}})
    if args.json:
        print_json(payload)
        return 0
    h = payload["holdout"]
    print(f"{result.model}: {result.method} on {result.n_train:,} labels, {result.n_holdout:,} held out, "
          f"{result.seconds:.0f} s on {result.device}")
    print(f"  held-out macro-F1  base {_fmt(h['base']['macro_f1'])}  adapted {_fmt(h['adapted']['macro_f1'])}  "
          f"difference {_fmt(h['difference']['macro_f1'])}")
    print(f"  held-out accuracy  base {_fmt(h['base']['accuracy'])}  adapted {_fmt(h['adapted']['accuracy'])}")
    print(f"  {payload['verdict']}.")
    print(f"  Score with it: brandlens score --model {result.model}")
    return 0
