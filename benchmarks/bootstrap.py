"""Bootstrap intervals for evaluation: vectorised resampling against a plain Python loop.

Both compute the 95% interval of every headline metric for 20,000 posts x 1,000
resamples (stratified by gold class, seeded). The baseline is a Python loop over resamples
calling scikit-learn each time; it runs ``--baseline-resamples`` resamples (fewer, it is
slow) and its time is scaled to the full count, which the table says.

    python benchmarks/bootstrap.py [--n 20000] [--resamples 1000] [--baseline-resamples 50]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from analytics.core.bootstrap import bootstrap_indices
from analytics.evaluation.metrics import CURVE_N_BOOT, evaluate_predictions, label_codes, point_metrics
from analytics.core.labels import CLASSES


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.2, 0.45, 0.35])
    logits = rng.normal(size=(n, 3)) + np.eye(3)[y] * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.array(CLASSES)[y], proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--baseline-resamples", type=int, default=50)
    args = parser.parse_args()
    labels, proba = synthetic(args.n)
    y = label_codes(labels)

    start = time.perf_counter()
    evaluate_predictions(labels, proba, n_boot=args.resamples, random_state=0)
    ours = time.perf_counter() - start

    indices = bootstrap_indices(args.n, n_boot=args.baseline_resamples, strata=y, random_state=0)
    start = time.perf_counter()
    for row in indices:
        point_metrics(y[row], proba[row])
    loop = (time.perf_counter() - start) * args.resamples / args.baseline_resamples

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bootstrap of 11 headline metrics + per-class P/R/F1, {args.n:,} posts x {args.resamples:,} resamples")
    print(f"{'contender':<52}{'seconds':>10}{'ratio':>8}")
    print(f"{'baseline: Python loop calling scikit-learn (scaled)':<52}{loop:>10.1f}{1.0:>8.1f}")
    print(f"{'brandlens: vectorised multiplicity matrices':<52}{ours:>10.1f}{loop / ours:>8.1f}x")
    print(f"(baseline timed on {args.baseline_resamples} resamples and scaled to {args.resamples}; peak RSS {peak:,.0f} MB)")
    print(f"(ROC AUC and average-precision intervals use the first {CURVE_N_BOOT} resamples: "
          "analytics.evaluation.metrics.CURVE_N_BOOT)")


if __name__ == "__main__":
    main()
