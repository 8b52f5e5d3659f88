"""Which words drive negative sentiment: SHAP over a sample, aggregated per token, with log-odds beside it.

* ``shap_negative_drivers``: mean attribution to ``negative`` per (lower-cased, stripped)
  token over the explanations of a sample of posts, with the number of posts it occurs in.
* ``log_odds_ranking``: the weighted log-odds ratio with an informative Dirichlet prior
  (Monroe, Colaresi & Quinn 2008) of each word in predicted-negative posts against the
  other posts, as z-scores; the prior is the word counts of all posts. A sanity check that
  needs no model internals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.labels import CLASSES
from analytics.core.progress import ProgressCallback, report

_WORD = re.compile(r"[#@]?\w[\w']*", re.UNICODE)


def _norm(token: str) -> str:
    return token.strip().strip(".,!?;:\"'()[]").lower()


def shap_negative_drivers(explanations: Sequence, *, min_posts: int = 2, top: int = 20) -> pd.DataFrame:
    """Columns ``token, mean_attribution, posts`` sorted by mean attribution to negative (descending)."""
    neg = CLASSES.index("negative")
    rows = []
    for k, e in enumerate(explanations):
        for tok, v in zip(e.tokens, e.values[:, neg]):
            t = _norm(tok)
            if t:
                rows.append((k, t, float(v)))
    if not rows:
        return pd.DataFrame(columns=["token", "mean_attribution", "posts"])
    f = pd.DataFrame(rows, columns=["post", "token", "value"])
    agg = f.groupby("token").agg(mean_attribution=("value", "mean"), posts=("post", "nunique")).reset_index()
    agg = agg[agg["posts"] >= min_posts]
    return agg.sort_values("mean_attribution", ascending=False).head(top).reset_index(drop=True)


def log_odds_ranking(texts: Sequence[str], is_negative: Sequence[bool], *, min_count: int = 3, top: int = 20) -> pd.DataFrame:
    """Columns ``token, z, count_negative, count_other`` sorted by z (informative Dirichlet prior)."""
    if len(texts) != len(is_negative):
        raise ValueError(f"texts has {len(texts)} entries, is_negative {len(is_negative)}")
    c_neg, c_oth = Counter(), Counter()
    for t, n in zip(texts, is_negative):
        words = [w.lower() for w in _WORD.findall(t or "")]
        (c_neg if n else c_oth).update(words)
    prior = c_neg + c_oth
    if not prior:
        return pd.DataFrame(columns=["token", "z", "count_negative", "count_other"])
    vocab = [w for w, c in prior.items() if c >= min_count]
    a = np.array([prior[w] for w in vocab], float)
    a0 = a.sum()
    yi = np.array([c_neg[w] for w in vocab], float)
    yj = np.array([c_oth[w] for w in vocab], float)
    ni, nj = sum(c_neg.values()), sum(c_oth.values())
    delta = np.log((yi + a) / (ni + a0 - yi - a)) - np.log((yj + a) / (nj + a0 - yj - a))
    var = 1 / (yi + a) + 1 / (yj + a)
    out = pd.DataFrame({"token": vocab, "z": delta / np.sqrt(var), "count_negative": yi.astype(int),
                        "count_other": yj.astype(int)})
    return out.sort_values("z", ascending=False).head(top).reset_index(drop=True)


@dataclass(frozen=True)
class NegativeDrivers:
    """Words driving negative sentiment in a set of scored posts: SHAP over a sample, log-odds over all."""

    shap: pd.DataFrame
    """:func:`shap_negative_drivers` of the explained sample."""
    log_odds: pd.DataFrame
    """:func:`log_odds_ranking` of every post given."""
    n_explained: int
    n_posts: int


def negative_drivers(
    model,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    n_sample: int = 30,
    progress: ProgressCallback | None = None,
) -> NegativeDrivers:
    """Explain the first ``n_sample`` predicted-negative posts one by one (progress per post) and rank words.

    ``texts`` and ``labels`` are the posts and the model's predicted labels, in a fixed
    order (the caller's sample order); SHAP runs on the negative ones, log-odds on all.
    """
    from analytics.explain.shap_text import explain_texts

    is_negative = [label == "negative" for label in labels]
    negatives = [t for t, neg in zip(texts, is_negative) if neg][:n_sample]
    explanations = []
    for i, text in enumerate(negatives):
        explanations.extend(explain_texts(model, [text]))
        report(progress, i + 1, len(negatives), f"{i + 1}/{len(negatives)} posts")
    return NegativeDrivers(shap_negative_drivers(explanations), log_odds_ranking(list(texts), is_negative),
                           len(explanations), len(texts))
