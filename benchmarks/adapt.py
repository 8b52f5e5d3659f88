"""Adapting the default model to a domain's labels: before/after, learning curve, forgetting, honest KPIs.

Airline export (``../shared/data/airline/Tweets.csv``, never trained on), everything in one run:

1. a seeded sample of 1,000 labelled tweets adapts the model (``analytics.training.adapt``,
   the recipe ``brandlens adapt`` runs: 20% of them held out, 80% trained on); the other
   13,640 tweets are the held-out test set: macro-F1 of base vs adapted;
2. learning curve at 100/250/500/1,000 labels on one fixed test set (4,000 tweets), labels
   chosen at random vs by the labelling queue's rule (uncertainty + diversity per airline,
   a quarter at random) as a team uses it: in rounds, each round's batch chosen with the
   uncertainty of the model adapted on the labels so far (the first with the base model's);
3. forgetting: SemEval-2016 test F1^PN (a seeded 4,000-tweet sample) after adapting;
4. the corrected per-airline negative share against the crowd truth: MAE and 95% coverage
   for the base model (confusion on the 1,000 labels) and the adapted one (confusion on
   the 200 labels it never trained on), PACC, over the 13,640 test tweets;
5. seconds to adapt 1,000 labels (reading them through the frozen layers + training).

Run alone on an idle machine: ``.venv/bin/python benchmarks/adapt.py`` (~15-25 min on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = Path(os.environ.get("BRANDLENS_REFERENCE_DATA", ROOT.parent / "shared" / "data"))


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(1), average="macro"))


def f1_pn(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(np.mean(f1_score(y, proba.argmax(1), labels=[0, 2], average=None)))


def queue_choice(pool: np.ndarray, proba: np.ndarray, brands: np.ndarray, texts: list[str], n: int, seed: int) -> np.ndarray:
    """The labelling queue's rule on in-memory data: 25% random, the rest uncertain + diverse per airline."""
    from analytics.labelling.queue import RANDOM_SHARE, _diverse_uncertain, allocate, margins
    from analytics.models.encoder import embed_texts

    rng = np.random.default_rng(seed)
    n_random = int(round(n * RANDOM_SHARE))
    random_part = rng.choice(pool, size=n_random, replace=False)
    rest = np.setdiff1d(pool, random_part)
    frame = pd.DataFrame({"i": rest, "brand": brands[rest], "margin": margins(proba[rest]),
                          "text": [texts[i] for i in rest]})
    picks = [random_part]
    for brand, k in allocate(frame["brand"].value_counts(), n - n_random).items():
        chosen = _diverse_uncertain(frame[frame["brand"] == brand], k, embed_texts, seed)
        picks.append(chosen["i"].to_numpy())
    return np.concatenate(picks)


def queue_rounds(pool: np.ndarray, proba: np.ndarray, brands: np.ndarray, texts: list[str], sizes: list[int],
                 adapt, seed: int) -> dict[int, np.ndarray]:
    """The queue as a team uses it: label a batch, adapt, let the adapted model choose the next batch.

    ``adapt(chosen) -> proba of every text`` retrains on the labels so far; the first batch is
    chosen with the base model's ``proba``. Returns the chosen indices at each size.
    """
    chosen = np.array([], dtype=int)
    out = {}
    for size in sorted(sizes):
        remaining = np.setdiff1d(pool, chosen)
        chosen = np.sort(np.concatenate([chosen, queue_choice(remaining, proba, brands, texts, size - len(chosen),
                                                              seed)]))
        out[size] = chosen
        if size != max(sizes):
            proba = adapt(chosen)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--curve", type=int, nargs="+", default=[100, 250, 500, 1000])
    parser.add_argument("--curve-test", type=int, default=4000)
    parser.add_argument("--semeval", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--curve-seeds", type=int, nargs="+", default=[1, 2],
                        help="one learning curve per seed (the random draw and the queue's k-means)")
    args = parser.parse_args()
    airline_path = REFERENCE / "airline" / "Tweets.csv"
    if not airline_path.exists():
        sys.exit(f"skipped: the airline export {airline_path} is absent (reference data, ../shared/data)")
    import torch

    from analytics.core.labels import CLASSES, label_codes
    from analytics.quantify import make_quantifier
    from analytics.quantify.intervals import quantify_groups, GroupOutputs
    from analytics.reference import load_airline, load_semeval, sample_indices
    from analytics.training.adapt import AdaptConfig, _window_proba, prepare, split_holdout, train_top_layers
    from analytics.models.windows import combine_windows

    torch.set_num_threads(args.threads)
    air = load_airline(airline_path)
    texts, y, brands = air["text"].tolist(), label_codes(air["label"].tolist()), air["airline"].to_numpy()
    print(f"airline export: {len(air):,} tweets; reading them once through the frozen layers ...", file=sys.stderr)
    t0 = time.perf_counter()
    prepared = prepare(texts)
    print(f"  {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(air))
    labelled, test = np.sort(order[: args.labels]), np.sort(order[args.labels:])

    # 1. adapt on 1,000 labels exactly as `brandlens adapt` does (80/20 split of them)
    config = AdaptConfig(epochs=args.epochs)
    train_rel, held_rel = split_holdout(air["label"].to_numpy()[labelled], [True] * len(labelled),
                                        holdout=config.holdout, seed=config.seed)
    train, held = labelled[train_rel], labelled[held_rel]
    t0 = time.perf_counter()
    read_1000 = prepare([texts[i] for i in labelled])  # what adapt reads for 1,000 labels
    read_seconds = time.perf_counter() - t0
    del read_1000
    t0 = time.perf_counter()
    model, proba_adapted = train_top_layers(prepared, air["label"].tolist(), train, config)
    train_seconds = time.perf_counter() - t0
    base = prepared.proba_base
    rows = [("base default model", macro_f1(y[test], base[test]), float((base[test].argmax(1) == y[test]).mean())),
            (f"adapted on {len(train)} labels ({len(held)} held out)", macro_f1(y[test], proba_adapted[test]),
             float((proba_adapted[test].argmax(1) == y[test]).mean()))]
    print(f"\n## 1. Airline, {args.labels:,} labelled tweets (seed 0), the other {len(test):,} held out\n")
    print("| model | macro-F1 | accuracy |\n|---|---|---|")
    for name, f1, acc in rows:
        print(f"| {name} | {f1:.3f} | {acc:.3f} |")
    print(f"\nSeconds to adapt {args.labels:,} labels on {args.threads} CPU threads: {read_seconds + train_seconds:.0f} "
          f"({read_seconds:.0f} reading through the frozen layers + {train_seconds:.0f} training, {args.epochs} epochs); "
          f"device {prepared.device}")

    # 3. forgetting on SemEval
    semeval_root = REFERENCE / "semeval2017"
    if semeval_root.exists():
        sem = load_semeval(semeval_root, split="test")
        pick = sample_indices(len(sem), min(args.semeval, len(sem)), random_state=0)
        sem_texts = sem["text"].iloc[pick].tolist()
        sem_y = label_codes(sem["label"].iloc[pick].tolist())
        sem_prepared = prepare(sem_texts)
        sem_adapted = combine_windows(_window_proba(model, sem_prepared.states, sem_prepared.n_lower, "cpu"),
                                      sem_prepared.bare, sem_prepared.owner, len(sem_texts))
        print(f"\n## 3. Forgetting: SemEval-2016 test F1^PN on a seeded {len(sem_texts):,}-tweet sample\n")
        print(f"| model | F1^PN |\n|---|---|\n| base | {f1_pn(sem_y, sem_prepared.proba_base):.3f} |\n"
              f"| adapted to airline | {f1_pn(sem_y, sem_adapted):.3f} |")
    else:
        print(f"\n(SemEval skipped: {semeval_root} absent)")

    # 4. corrected KPIs per airline over the test tweets
    airlines = sorted(set(brands[test]))
    groups = [test[brands[test] == a] for a in airlines]
    truth = np.array([(y[g] == 0).mean() for g in groups])
    print("\n## 4. Corrected per-airline negative share (PACC) against the crowd truth, 13,640 test tweets\n")
    print("| model | confusion measured on | raw MAE | corrected MAE | 95% coverage (6 airlines) |\n|---|---|---|---|---|")
    for name, proba, lab in (("base", base, labelled), ("base", base, held), ("adapted", proba_adapted, held)):
        outputs = GroupOutputs.from_sums(
            np.array([len(g) for g in groups]),
            np.stack([np.bincount(proba[g].argmax(1), minlength=3) for g in groups]),
            np.stack([proba[g].sum(0) for g in groups]),
            np.stack([proba[g].T @ proba[g] for g in groups]),
        )
        prev = quantify_groups(make_quantifier("PACC"), proba[lab], np.array(CLASSES)[y[lab]], outputs, n_boot=1000,
                               random_state=0)
        raw = np.array([prev.estimate(i, "negative", corrected=False).value for i in range(len(groups))])
        est = [prev.estimate(i, "negative") for i in range(len(groups))]
        corr = np.array([e.value for e in est])
        cover = np.mean([e.ci95[0] <= t <= e.ci95[1] for e, t in zip(est, truth)])
        where = f"{len(lab)} labels" + (" it never trained on" if name == "adapted" else "")
        print(f"| {name} | {where} | {np.abs(raw - truth).mean():.3f} | {np.abs(corr - truth).mean():.3f} | {cover:.0%} |")

    # 2. learning curve
    fixed_test = test[: args.curve_test]
    pool = np.setdiff1d(np.arange(len(air)), fixed_test)
    print(f"\n## 2. Learning curve: macro-F1 on one fixed set of {len(fixed_test):,} test tweets "
          f"(labels drawn from the other {len(pool):,})\n")
    curve_config = AdaptConfig(epochs=args.epochs)
    all_labels = air["label"].tolist()

    fitted: dict[bytes, np.ndarray] = {}

    def adapt(chosen: np.ndarray) -> np.ndarray:  # each labelled set is trained once
        key = np.sort(chosen).tobytes()
        if key not in fitted:
            fitted[key] = train_top_layers(prepared, all_labels, np.sort(chosen), curve_config)[1]
        return fitted[key]

    seeds = args.curve_seeds
    rounds = {seed: queue_rounds(pool, base, brands, texts, args.curve, adapt, seed=seed) for seed in seeds}
    print("| labels | " + " | ".join(f"random (seed {s}) | queue (seed {s})" for s in seeds)
          + " | random, mean | queue, mean |\n|---|" + "---|" * (2 * len(seeds) + 2))
    for n in args.curve:
        cells = []
        for seed in seeds:
            for strategy in ("random", "queue"):
                chosen = (np.random.default_rng(seed).choice(pool, size=n, replace=False) if strategy == "random"
                          else rounds[seed][n])
                cells.append(macro_f1(y[fixed_test], adapt(np.sort(chosen))[fixed_test]))
        means = [float(np.mean(cells[0::2])), float(np.mean(cells[1::2]))]
        print(f"| {n:,} | " + " | ".join(f"{c:.3f}" for c in cells + means) + " |", flush=True)
    print(f"| 0 (base) | {macro_f1(y[fixed_test], base[fixed_test]):.3f} |" + " |" * (2 * len(seeds) + 1))


if __name__ == "__main__":
    main()
