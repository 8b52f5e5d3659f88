"""Refit VADER's probability mapping on the SemEval training pool and write data/models/vader/.

Usage::

    .venv/bin/python scripts/fit_vader_mapping.py [--data ../shared/data/semeval2017] [--C 1.0]

Reads the training pool with :func:`analytics.datasets.load_semeval` (the SemEval-2016
test set is never used), fits :func:`analytics.models.vader.fit_vader_mapping` and writes
``data/models/vader/mapping.json``. The model card beside it (``MODEL_CARD.md``) quotes
the command; its figures come from ``brandlens evaluate`` and the training notes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from analytics.datasets import load_semeval
    from analytics.models.vader import VADER_MAPPING_PATH, fit_vader_mapping

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "semeval2017"),
                        help="SemEval-2017 task 4A folder (default: ../shared/data/semeval2017)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength (default: 1.0)")
    parser.add_argument("--out", default=str(VADER_MAPPING_PATH), help=f"output file (default: {VADER_MAPPING_PATH})")
    args = parser.parse_args(argv)

    train = load_semeval(args.data, split="train")
    mapping = fit_vader_mapping(
        list(train["text"]),
        list(train["label"]),
        C=args.C,
        fitted_on={
            "data": "SemEval-2017 task 4A training pool (every file but twitter-2016test-A.tsv, test ids removed)",
            "command": "python scripts/fit_vader_mapping.py" + (f" --C {args.C}" if args.C != 1.0 else ""),
        },
    )
    path = mapping.save(args.out)
    print(f"wrote {path} (fitted on {mapping.fitted_on['n_texts']} tweets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
