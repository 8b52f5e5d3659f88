"""Compare the fine-tuning variants of the default model under one equal budget.

Each variant (LoRA, top layers, full fine-tuning) trains on the same seeded split of the
SemEval pool with the same batch size, window and class weights, for at most ``--epochs``
epochs or ``--max-minutes`` of wall-clock time each (the top-layers variant's one-off
caching of the frozen lower layers counts against its budget), and is scored on the
validation split by F1^PN. Nothing is written to ``data/models``; the table goes to
stdout and, with ``--json``, to a file.

    nice -n 10 .venv/bin/python scripts/compare_variants.py --data ../shared/data/semeval2017 \
        --epochs 1 --max-minutes 30 --threads 2 --json /tmp/variants.json

The variant with the best validation F1^PN is the one to ship, except that the full
fine-tune (~45 MB) ships only if it beats the best small variant by >= 0.01.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FULL_MARGIN = 0.01


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--variants", nargs="+", default=["top-layers", "lora", "full"])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    import torch

    from analytics.reference import load_semeval, train_validation_split
    from analytics.training.trainer import TrainingConfig, config_dict, train_classifier

    if args.threads:
        torch.set_num_threads(args.threads)
    train, validation = train_validation_split(load_semeval(args.data, split="train"))
    hardware = (torch.cuda.get_device_name() if torch.cuda.is_available()
                else f"CPU {platform.machine()}, {torch.get_num_threads()} threads")
    rows = []
    for variant in args.variants:
        config = TrainingConfig(variant=variant, epochs=args.epochs, max_steps=args.max_steps,
                                batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
                                max_minutes=args.max_minutes)
        result = train_classifier(train["text"].tolist(), train["label"].tolist(),
                                  validation["text"].tolist(), validation["label"].tolist(), config)
        steps_per_epoch = -(-len(train) // args.batch_size)
        rows.append({
            "variant": variant,
            "best_validation_f1_pn": round(result.best_validation_f1_pn, 4),
            "best_step": result.best_step,
            "steps": result.steps,
            "epochs_done": round(result.steps / steps_per_epoch, 3),
            "minutes": round(result.seconds / 60, 1),
            "trainable_parameters": result.trainable_parameters,
            "hyperparameters": config_dict(config),
            "history": result.history,
        })
        print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("history", "hyperparameters")}), flush=True)

    print(f"\nValidation F1^PN ({len(validation):,} tweets), {hardware}")
    print(f"{'variant':<12} {'val F1^PN':>9} {'steps':>6} {'epochs':>6} {'minutes':>7} {'trainable':>10}")
    for r in rows:
        print(f"{r['variant']:<12} {r['best_validation_f1_pn']:>9.4f} {r['steps']:>6} {r['epochs_done']:>6} "
              f"{r['minutes']:>7} {r['trainable_parameters']:>10,}")
    small = [r for r in rows if r["variant"] != "full"]
    full = [r for r in rows if r["variant"] == "full"]
    if small:
        best_small = max(small, key=lambda r: r["best_validation_f1_pn"])
        pick = best_small
        if full and full[0]["best_validation_f1_pn"] >= best_small["best_validation_f1_pn"] + FULL_MARGIN:
            pick = full[0]
        print(f"ship: {pick['variant']} (full ships only if it beats the best small variant by >= {FULL_MARGIN})")
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": hardware, "variants": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
