"""``brandlens train``: fine-tune the default model on the SemEval pool and write its card."""

from __future__ import annotations

import argparse
import sys

from analytics.cli import add_json_argument, print_json, positive_int
from analytics.core.errors import BrandLensError
from analytics.models.backbones import BACKBONES, DEFAULT_BACKBONE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune the default sentiment model")
    parser.add_argument("--data", required=True, help="the semeval2017 folder (e.g. ../shared/data/semeval2017)")
    parser.add_argument("--variant", choices=["lora", "top-layers", "full"], default="top-layers")
    parser.add_argument("--out", default="data/models/e5-sentiment", help="artifact directory")
    parser.add_argument("--encoder", choices=sorted(BACKBONES), default=DEFAULT_BACKBONE,
                        help=f"pretrained encoder to fine-tune (default: {DEFAULT_BACKBONE})")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--max-steps", type=positive_int, default=None)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None, help="encoder learning rate (default per variant)")
    parser.add_argument("--max-length", type=positive_int, default=64, help="training window in tokens")
    parser.add_argument("--top-layers", type=positive_int, default=2, help="layers retrained by the top-layers variant")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch CPU threads (default: torch's; 1 is faster on a busy machine)")
    parser.add_argument("--vader-data", default=None,
                        help="also train on VADER's human-rated sets: the unpacked sdist of PyPI "
                             "vaderSentiment==3.3.2, or its hutto_ICWSM_2014 folder (optional)")
    parser.add_argument("--airline", default=None, help="airline export to report on in the card (optional)")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the test-set figures")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="wall-clock budget (caching included); stops after an evaluation")
    parser.add_argument("--checkpoint", action="store_true",
                        help="rewrite the artifact in --out each time validation F1^PN improves")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="train nothing: measure the artifact in --out and add the figures to its card")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.core.progress import tqdm_progress
    from analytics.training.pipeline import evaluate_artifact, run_training
    from analytics.training.trainer import TrainingConfig

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    command = ["brandlens", *sys.argv[1:]]
    if args.evaluate_only:
        try:
            card = evaluate_artifact(args.out, args.data, airline_path=args.airline, command=command)
        except FileNotFoundError as exc:
            raise BrandLensError(str(exc)) from exc
        test = card["evaluation"]["semeval2016_test"]
        if args.json:
            print_json(card["evaluation"])
        else:
            print(f"{args.out}: SemEval-2016 test F1^PN {test['f1_pn']['value']:.4f} {test['f1_pn']['ci95']}")
        return 0
    config = TrainingConfig(
        variant=args.variant, encoder=args.encoder, epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        learning_rate=args.learning_rate, max_length=args.max_length, n_top_layers=args.top_layers, seed=args.seed,
        max_minutes=args.max_minutes,
    )
    try:
        with tqdm_progress(f"train {args.variant}", unit="steps") as progress:
            card = run_training(args.data, args.out, config, airline_path=args.airline, vader_dir=args.vader_data,
                                evaluate=not args.no_evaluate, checkpoint=args.checkpoint, command=command,
                                progress=progress)
    except FileNotFoundError as exc:  # the SemEval folder or the VADER sets are not where the user said
        raise BrandLensError(str(exc)) from exc
    if args.json:
        print_json(card)
    else:
        print(f"wrote {args.out} (validation F1^PN {card['training']['best_validation_f1_pn']:.4f})")
    return 0
