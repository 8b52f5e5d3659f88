"""Benchmark: vectorised bootstrap of every headline metric vs a plain loop calling scikit-learn.

Synthetic labelled posts (``--n`` posts, three classes, a model with some signal and tied
scores as lexicon models give). Same data, same stratified resample indices
(:func:`analytics.bootstrap.bootstrap_indices`), same run:

* **vectorised** — :func:`analytics.evaluation.evaluate_predictions` with ``--n-boot``
  resamples: point values from scikit-learn, all resamples at once on count tensors
  (confusion matrices, score groups for AUC/AP, bins for ECE, Brier).
* **baseline** — a Python loop over resamples calling scikit-learn for every headline
  figure (``point_metrics``: accuracy, macro F1, F1^PN, macro recall, both kappas, MCC,
  one-vs-rest AUC, average precision, ECE, Brier) on the resampled arrays. It is timed on
  ``--baseline-boot`` resamples (default 50) and extrapolated linearly to ``--n-boot``;
  the table says so. Also a loop computing only the confusion-based figures with
  scikit-learn, against our vectorised confusion path alone.

Peak memory of the vectorised run is measured with ``tracemalloc`` (numpy allocations).
Usage::

    nice -n 10 python benchmarks/bootstrap.py --n 20000 --n-boot 1000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
    recall_score,
)

from analytics.bootstrap import bootstrap_indices
from analytics.evaluation import evaluate_predictions
from analytics.evaluation.metrics import (
    confusion_metrics,
    label_codes,
    multiplicities,
    point_metrics,
)
from analytics.store import CLASSES


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gold labels (names) and (n, 3) probabilities of a fair model, a fifth of them tied."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba[: n // 5] = np.round(proba[: n // 5], 1) + 1e-3
    proba /= proba.sum(axis=1, keepdims=True)
    return np.array(CLASSES)[y], proba


def sklearn_confusion_figures(y: np.ndarray, pred: np.ndarray) -> list[float]:
    return [
        accuracy_score(y, pred),
        f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0),
        f1_score(y, pred, labels=[0, 2], average="macro", zero_division=0),
        recall_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0),
        cohen_kappa_score(y, pred, labels=[0, 1, 2]),
        cohen_kappa_score(y, pred, labels=[0, 1, 2], weights="quadratic"),
        matthews_corrcoef(y, pred),
    ]


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="posts (default 20,000)")
    parser.add_argument("--n-boot", type=int, default=1000, help="resamples (default 1,000)")
    parser.add_argument("--baseline-boot", type=int, default=50,
                        help="resamples the sklearn loop is timed on, then extrapolated (default 50)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs (default 2)")
    args = parser.parse_args()

    labels, proba = synthetic(args.n)
    y = label_codes(labels)
    pred = proba.argmax(axis=1)
    indices = bootstrap_indices(args.n, n_boot=args.n_boot, strata=y, random_state=0)
    base_idx = indices[: args.baseline_boot]

    # all headline figures
    t_vec = timed(lambda: evaluate_predictions(labels, proba, n_boot=args.n_boot, random_state=0), args.repeat)
    t_loop = timed(lambda: [point_metrics(y[row], proba[row]) for row in base_idx], 1)
    t_loop_full = t_loop * args.n_boot / len(base_idx)

    # confusion-based figures only
    codes = np.eye(9, dtype=np.float32)[y * 3 + pred]

    def vectorised_confusion() -> None:
        for s in range(0, args.n_boot, 250):
            confusion_metrics((multiplicities(indices[s : s + 250], args.n) @ codes).reshape(-1, 3, 3))

    t_cvec = timed(vectorised_confusion, args.repeat)
    t_cloop = timed(lambda: [sklearn_confusion_figures(y[row], pred[row]) for row in base_idx], 1)
    t_cloop_full = t_cloop * args.n_boot / len(base_idx)

    tracemalloc.start()
    evaluate_predictions(labels, proba, n_boot=args.n_boot, random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"bootstrap of {args.n:,} posts x {args.n_boot:,} resamples (stratified by gold class), best of {args.repeat}")
    print(f"baseline loop timed on {len(base_idx)} resamples and extrapolated x{args.n_boot / len(base_idx):g}\n")
    print(f"{'figures':<34}{'vectorised s':>14}{'sklearn loop s':>16}{'ratio':>9}")
    print(f"{'all 11 headline + per-class':<34}{t_vec:>14.2f}{t_loop_full:>16.1f}{t_loop_full / t_vec:>8.0f}x")
    print(f"{'7 confusion-based only':<34}{t_cvec:>14.2f}{t_cloop_full:>16.1f}{t_cloop_full / t_cvec:>8.0f}x")
    print(f"\npeak numpy/python memory of the vectorised run (tracemalloc): {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
