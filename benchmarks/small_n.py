"""How small a labelled sample the intervals can be trusted on: coverage by simulation (issue 22).

A synthetic population of 200,000 posts (three classes, prevalences 0.45/0.30/0.25, as a
review export skews negative) with two models' probabilities: a base model of accuracy ~0.70
and a second one either equally good (the null: no real gain) or better. For each sample
size ``n`` we draw ``--reps`` samples of ``n`` labelled posts and measure:

1. the share of 95% intervals that contain the population's figure (coverage) for accuracy
   (Wilson, Jeffreys and the stratified percentile bootstrap) and for the bootstrap figures
   (macro-F1, Cohen's kappa, ROC AUC), and how often an interval has zero width;
2. for the paired before/after difference in macro-F1 (``brandlens adapt``): how often the
   interval lies above zero when the models are equally good (a false "recommended") and when
   the second is truly better (power), and the interval's coverage.

The minimum sizes in ``analytics.evaluation.metrics.MIN_BOOTSTRAP_N``,
``analytics.brand.kpis.MIN_PERIOD_POSTS`` and ``analytics.training.adapt.MIN_HOLDOUT`` come from
these runs (``--reps 150``, then ``--paired --reps 400 --sizes 20 30 40 50 60 80 100``), a few
minutes each on two cores: ``.venv/bin/python benchmarks/small_n.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.core.estimate import proportion_interval  # noqa: E402
from analytics.core.labels import CLASSES  # noqa: E402
from analytics.evaluation.metrics import evaluate_predictions, paired_difference, point_metrics  # noqa: E402

PREVALENCE = np.array([0.45, 0.30, 0.25])


def population(size: int, rng: np.random.Generator, *, gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold classes and two models' probabilities; ``gain`` adds signal to the second model."""
    y = rng.choice(3, size=size, p=PREVALENCE)

    def model(signal: float, noise: np.ndarray) -> np.ndarray:
        logits = signal * np.eye(3)[y] + noise
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    shared = rng.normal(0, 1.0, size=(size, 3))  # the two models err on similar posts
    a = model(1.4, shared + rng.normal(0, 0.6, size=(size, 3)))
    b = model(1.4 + gain, shared + rng.normal(0, 0.6, size=(size, 3)))
    return y, a, b


def paired(reps: int, n_boot: int, sizes: list[int]) -> None:
    """Only the before/after difference (``--paired``): false "recommended" rate and coverage by size."""
    rng = np.random.default_rng(1)
    names = np.array(CLASSES)
    for gain in (0.0, 0.3):
        y, a, b = population(200_000, rng, gain=gain)
        true_diff = point_metrics(y, b)["macro_f1"] - point_metrics(y, a)["macro_f1"]
        print(f"\n== gain {gain}: true macro-F1 difference {true_diff:+.3f}\n    n | above zero | covers")
        for n in sizes:
            above = cover = 0
            for _ in range(reps):
                idx = rng.choice(len(y), size=n, replace=False)
                d = paired_difference(names[y[idx]], b[idx], a[idx], metrics=["macro_f1"], n_boot=n_boot,
                                      random_state=int(rng.integers(1 << 30)), min_n=1)[0].difference
                above += d.ci95[0] > 0
                cover += d.ci95[0] <= true_diff <= d.ci95[1]
            print(f"{n:>5} | {above / reps:>10.3f} | {cover / reps:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--n-boot", type=int, default=400)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 15, 20, 30, 40, 50, 75, 100])
    parser.add_argument("--paired", action="store_true",
                        help="only the paired difference (the adapt verdict), e.g. --reps 400 --sizes 20 30 40 50 60 80 100")
    args = parser.parse_args()
    if args.paired:
        paired(args.reps, args.n_boot, args.sizes)
        return
    rng = np.random.default_rng(0)
    names = np.array(CLASSES)
    for gain in (0.0, 0.6):
        y, a, b = population(200_000, rng, gain=gain)
        truth_a, truth_b = point_metrics(y, a), point_metrics(y, b)
        true_diff = truth_b["macro_f1"] - truth_a["macro_f1"]
        print(f"\n== second model gain {gain}: accuracy {truth_a['accuracy']:.3f} -> {truth_b['accuracy']:.3f}, "
              f"macro-F1 {truth_a['macro_f1']:.3f} -> {truth_b['macro_f1']:.3f} (difference {true_diff:+.3f})")
        header = ("n", "acc wilson", "acc jeffreys", "acc boot", "macro-F1", "kappa", "AUC", "zero-width boot",
                  "diff above 0", "diff cover")
        print(" | ".join(f"{h:>13}" for h in header))
        for n in args.sizes:
            cover = {k: 0 for k in ("wilson", "jeffreys", "acc", "macro_f1", "cohen_kappa", "roc_auc_macro", "diff")}
            zero = above = valid = 0
            for _ in range(args.reps):
                idx = rng.choice(len(y), size=n, replace=False)
                gold = names[y[idx]]
                r = evaluate_predictions(gold, a[idx], n_boot=args.n_boot, random_state=int(rng.integers(1 << 30)),
                                         min_n=1)
                correct = int((a[idx].argmax(1) == y[idx]).sum())
                for method in ("wilson", "jeffreys"):
                    lo, hi = proportion_interval(correct, n, method=method)
                    cover[method] += lo <= truth_a["accuracy"] <= hi
                for name, key in (("accuracy", "acc"), ("macro_f1", "macro_f1"), ("cohen_kappa", "cohen_kappa"),
                                  ("roc_auc_macro", "roc_auc_macro")):
                    lo, hi = r.metrics[name].ci95
                    cover[key] += bool(lo <= truth_a[name] <= hi)
                zero += r.metrics["macro_f1"].ci95[0] == r.metrics["macro_f1"].ci95[1]
                d = paired_difference(gold, b[idx], a[idx], metrics=["macro_f1"], n_boot=args.n_boot,
                                      random_state=int(rng.integers(1 << 30)), min_n=1)[0].difference
                valid += 1
                above += d.ci95[0] > 0
                cover["diff"] += d.ci95[0] <= true_diff <= d.ci95[1]
            row = [n, *(cover[k] / args.reps for k in ("wilson", "jeffreys", "acc", "macro_f1", "cohen_kappa",
                                                        "roc_auc_macro")), zero / args.reps, above / valid,
                   cover["diff"] / valid]
            print(" | ".join(f"{v:>13}" if isinstance(v, int) else f"{v:>13.3f}" for v in row), flush=True)


if __name__ == "__main__":
    main()
