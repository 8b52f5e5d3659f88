"""Explanation latency per post: SHAP defaults vs ours (same run), and faithfulness.

Usage: ``nice -n 10 python benchmarks/explain.py [--model default] [--n 10] [--n-faithful 50]``

Defaults = ``shap.Explainer(f, Text masker)`` with ``algorithm="auto"``/``max_evals="auto"``
over the model's predict_proba (``explain_text_defaults``). Ours = :func:`explain_texts`
(partition, max_evals = max(4*tokens+1, 20), batched). Faithfulness: Spearman rank
correlation, per post, of our attributions with the defaults' for the predicted class.
Tweets: SemEval test tweets from ../shared/data (first N with 8-40 words).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from scipy.stats import spearmanr

    from analytics.datasets import load_semeval, normalise_tweet
    from analytics.explain.shap_text import explain_text_defaults, explain_texts
    from analytics.models import load_model
    from analytics.store import CLASSES

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--n", type=int, default=10, help="posts for latency")
    ap.add_argument("--n-faithful", type=int, default=50)
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "semeval2017"
    df = load_semeval(root, split="test")
    texts = [normalise_tweet(t) for t in df["text"] if 8 <= len(str(t).split()) <= 40][: max(args.n, args.n_faithful)]
    model = load_model(args.model)
    explain_texts(model, [texts[0]])  # warm-up (numba JIT, model load)
    explain_text_defaults(model, texts[0])
    ours, default, rhos = [], [], []
    for i, t in enumerate(texts[: args.n_faithful]):
        e = explain_texts(model, [t])[0]
        d = explain_text_defaults(model, t)
        if i < args.n:
            ours.append(e.seconds)
            default.append(d.seconds)
        k = CLASSES.index(e.predicted)
        if len(e.tokens) == len(d.tokens) and len(e.tokens) > 2:
            rhos.append(spearmanr(e.values[:, k], d.values[:, k]).statistic)
    ours, default = np.array(ours), np.array(default)
    print(f"model={args.model} posts={len(ours)} (latency), {len(rhos)} (faithfulness)")
    print(f"{'method':<28}{'median s/post':>14}{'p90 s/post':>12}")
    print(f"{'SHAP defaults (auto)':<28}{np.median(default):>14.3f}{np.quantile(default, .9):>12.3f}")
    print(f"{'ours (partition, batched)':<28}{np.median(ours):>14.3f}{np.quantile(ours, .9):>12.3f}")
    print(f"speed-up (median ratio): {np.median(default) / np.median(ours):.1f}x")
    print(f"Spearman rho vs defaults, predicted class: median {np.nanmedian(rhos):.3f}, "
          f"mean {np.nanmean(rhos):.3f} over {len(rhos)} posts")


if __name__ == "__main__":
    main()
