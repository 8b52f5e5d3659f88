"""Refit VADER's probability mapping on the SemEval training pool; write its card with test figures.

Usage::

    .venv/bin/python scripts/fit_vader_mapping.py [--data ../shared/data] [--C 1.0] [--n-boot 1000]

Reads the training pool with :func:`analytics.reference.load_semeval` (the SemEval-2016
test set is never used for fitting), fits :func:`analytics.models.vader.fit_vader_mapping`,
writes ``data/models/vader/mapping.json``, then measures the fitted model on the SemEval-2016
4A test set and the airline export (never fitted on) and writes ``MODEL_CARD.md`` beside
it. Figures carry 95% percentile-bootstrap intervals (:mod:`analytics.core.bootstrap`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CARD = """# VADER (lexicon baseline)

Rule-based sentiment from the `vaderSentiment` package (Hutto & Gilbert, 2014), kept beside
our fine-tuned model as the baseline every figure is compared with. Model id: `vader`.

## Probabilities
VADER gives a compound valence in [-1, 1] and the shares of positive, neutral and negative
words. BrandLens turns those four numbers into probabilities for negative, neutral and
positive with a multinomial logistic regression (scikit-learn, L2, C = {C}, balanced class
weights), not with hand-set thresholds. The coefficients are in `mapping.json` beside this
card.

- **Fitted on**: SemEval-2017 task 4A training pool — every file except
  `twitter-2016test-A.tsv`, deduplicated by id, test ids removed: {n_train:,} tweets.
- **Command**: `{command}` ({when}, {seconds:.0f} s on {machine}).
- Reads whole texts: no window, no truncation. Runs on the CPU only.
- `VaderSentiment.lexicon_contributions(text)` gives each token's valence after VADER's
  negation, booster, capitals and "but" rules (for explanations).

## Figures (95% bootstrap intervals, {n_boot} resamples)

| data | n | F1^PN | macro recall | macro-F1 | accuracy |
| --- | ---: | --- | --- | --- | --- |
{rows}

F1^PN is the mean F1 of the positive and negative classes (SemEval-2016 task 4A's official
measure; the task's winner reached 0.633). The airline export was never used for fitting.

## Limits
A lexicon sees words, not context: sarcasm, domain words ("delayed", "cancelled" carry no
valence in its lexicon) and negation more than three words away are missed.
"""


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, *, n_boot: int) -> dict[str, str]:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    from analytics.core.bootstrap import bootstrap_estimate

    fns = {
        "f1_pn": lambda i: f1_score(y_true[i], y_pred[i], labels=["positive", "negative"], average="macro"),
        "macro_recall": lambda i: recall_score(y_true[i], y_pred[i], average="macro"),
        "macro_f1": lambda i: f1_score(y_true[i], y_pred[i], average="macro"),
        "accuracy": lambda i: accuracy_score(y_true[i], y_pred[i]),
    }
    out = {}
    for name, fn in fns.items():
        e = bootstrap_estimate(fn, len(y_true), n_boot=n_boot, random_state=0)
        out[name] = f"{e.value:.3f} [{e.ci95[0]:.3f}, {e.ci95[1]:.3f}]"
    return out


def main(argv: list[str] | None = None) -> int:
    from analytics.reference import load_airline, load_semeval
    from analytics.models.vader import VADER_MAPPING_PATH, VaderSentiment, fit_vader_mapping
    from analytics.core.labels import CLASSES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"),
                        help="reference data folder holding semeval2017/ and airline/ (default: ../shared/data)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength (default: 1.0)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the card (default: 1000)")
    parser.add_argument("--out", default=str(VADER_MAPPING_PATH), help=f"mapping file (default: {VADER_MAPPING_PATH})")
    args = parser.parse_args(argv)

    data = Path(args.data)
    command = "python scripts/fit_vader_mapping.py" + (f" --C {args.C}" if args.C != 1.0 else "")
    start = time.perf_counter()
    train = load_semeval(data / "semeval2017", split="train")
    mapping = fit_vader_mapping(
        list(train["text"]), list(train["label"]), C=args.C,
        fitted_on={"data": "SemEval-2017 task 4A training pool (every file but twitter-2016test-A.tsv, "
                           "test ids removed)", "command": command},
    )
    seconds = time.perf_counter() - start
    path = mapping.save(args.out)
    print(f"wrote {path} (fitted on {mapping.fitted_on['n_texts']} tweets in {seconds:.0f} s)")

    model = VaderSentiment(mapping=mapping)
    rows = []
    sets = [("SemEval-2016 4A test", load_semeval(data / "semeval2017", split="test"))]
    airline = data / "airline" / "Tweets.csv"
    if airline.exists():
        sets.append(("Airline export (crowd labels)", load_airline(airline)))
    for name, frame in sets:
        pred = np.asarray(CLASSES, dtype=object)[model.predict_proba(list(frame["text"])).argmax(axis=1)]
        m = _metrics(np.asarray(frame["label"], dtype=object), pred, n_boot=args.n_boot)
        rows.append(f"| {name} | {len(frame):,} | {m['f1_pn']} | {m['macro_recall']} | {m['macro_f1']} | {m['accuracy']} |")
        print(name, m)
    card = CARD.format(
        C=args.C, n_train=int(mapping.fitted_on["n_texts"]), command=command,
        when=dt.date.today().isoformat(), seconds=seconds,
        machine=f"{platform.machine()} CPU", n_boot=args.n_boot, rows="\n".join(rows),
    )
    (Path(args.out).parent / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {Path(args.out).parent / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
