"""Explanation latency per post: SHAP's defaults vs ours (same run), and faithfulness.

Usage: ``nice -n 10 python benchmarks/explain.py [--model default] [--n 10] [--n-faithful 50]``

Three ways to explain one tweet, on the same model weights and the same CPU cores:

* **SHAP defaults over a transformers pipeline** (the baseline the issue names, SHAP's own
  documented use): ``shap.Explainer(pipeline("text-classification", top_k=None))``, every
  setting left at its default (``algorithm="auto"``, ``max_evals="auto"``, batches of 10).
* **SHAP defaults over our predict_proba** (:func:`explain_text_defaults`): same defaults,
  but the model function is our batched engine; separates the budget from the engine.
* **ours** (:func:`explain_texts`): partition algorithm, ``max(4 x tokens + 1, 20)``
  evaluations, batches of 128 masked texts through the engine.

Faithfulness: Spearman rank correlation, per post, of our attributions with the default
settings' attributions (same model function and masker) for the predicted class.
Tweets: SemEval test tweets from ../shared/data (the first with 8-40 words).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pipeline_explainer(model):
    """``shap.Explainer`` over a ``transformers`` pipeline holding the model's weights, SHAP's defaults."""
    import shap
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from benchmarks.inference import as_pipeline_model

    hf_logging.set_verbosity(hf_logging.CRITICAL)  # "'Wrapped' is not supported for text-classification"
    clf = pipeline("text-classification", model=as_pipeline_model(model), tokenizer=model.tokenizer,
                   top_k=None, device=-1)
    return shap.Explainer(clf)


def main() -> None:
    from scipy.stats import spearmanr

    from analytics.models.text import normalise_tweet
    from analytics.reference import load_semeval
    from analytics.explain.shap_text import explain_text_defaults, explain_texts
    from analytics.models import load_model
    from analytics.models.devices import cpu_cores
    from analytics.core.labels import CLASSES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--n", type=int, default=10, help="posts for latency")
    ap.add_argument("--n-faithful", type=int, default=50)
    args = ap.parse_args()
    root = ROOT.parent / "shared" / "data" / "semeval2017"
    df = load_semeval(root, split="test")
    texts = [normalise_tweet(t) for t in df["text"] if 8 <= len(str(t).split()) <= 40][: max(args.n, args.n_faithful)]

    start = time.perf_counter()
    model = load_model(args.model)
    explain_texts(model, [texts[0]])  # first call: SHAP import, numba compilation, model warm-up
    first_call = time.perf_counter() - start
    explain_text_defaults(model, texts[0])
    via_pipeline = pipeline_explainer(model) if hasattr(model, "tokenizer") else None
    if via_pipeline is not None:
        via_pipeline([texts[0]], silent=True)

    seconds: dict[str, list[float]] = {"pipeline": [], "defaults": [], "ours": []}
    rhos, evals = [], []
    for i, text in enumerate(texts[: max(args.n, args.n_faithful)]):
        ours = explain_texts(model, [text])[0]
        defaults = explain_text_defaults(model, text)
        if i < args.n:
            seconds["ours"].append(ours.seconds)
            seconds["defaults"].append(defaults.seconds)
            evals.append(ours.settings["max_evals"])
            if via_pipeline is not None:
                t = time.perf_counter()
                via_pipeline([text], silent=True)
                seconds["pipeline"].append(time.perf_counter() - t)
        k = CLASSES.index(ours.predicted)
        if len(ours.tokens) == len(defaults.tokens) and len(ours.tokens) > 2:
            rhos.append(spearmanr(ours.values[:, k], defaults.values[:, k]).statistic)

    ours_median = float(np.median(seconds["ours"]))
    print(f"model={args.model}, {cpu_cores()} CPU threads, {len(seconds['ours'])} posts for latency "
          f"(median {np.median(evals):.0f} model evaluations each for ours), {len(rhos)} for faithfulness")
    print(f"first call (model load + SHAP import/JIT + one post): {first_call:.1f} s\n")
    print(f"{'method':<42}{'median s/post':>14}{'p90 s/post':>12}{'x ours':>8}")
    names = {"pipeline": "SHAP defaults, transformers pipeline",
             "defaults": "SHAP defaults, our batched predict_proba", "ours": "ours (partition, 4/token, batched)"}
    for key, name in names.items():
        if seconds[key]:
            median = float(np.median(seconds[key]))
            print(f"{name:<42}{median:>14.3f}{np.quantile(seconds[key], .9):>12.3f}{median / ours_median:>8.1f}")
    print(f"\nSpearman rho of ours vs SHAP defaults (predicted class): median {np.nanmedian(rhos):.3f}, "
          f"mean {np.nanmean(rhos):.3f}, 10th percentile {np.nanquantile(rhos, .1):.3f} over {len(rhos)} posts")


if __name__ == "__main__":
    main()
