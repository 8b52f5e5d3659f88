"""The user's own counterfactuals: swap brand names or identity terms in posts and re-score.

Measured: for each post in the sample that contains a swappable term, the score
``P(positive) - P(negative)`` of the original and of each swapped version; reported as the
mean ``|Δscore|`` (with a bootstrap interval over posts) and the share of swaps whose
predicted label changes. A model that does not care which brand is named moves ~0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.bootstrap import bootstrap_indices, percentile_interval
from analytics.core.estimate import Estimate
from analytics.core.labels import CLASSES

IDENTITY_SWAPS: tuple[tuple[str, str], ...] = (
    ("he", "she"), ("him", "her"), ("his", "her"), ("man", "woman"), ("men", "women"),
    ("boy", "girl"), ("husband", "wife"), ("father", "mother"), ("brother", "sister"), ("son", "daughter"),
)
"""Identity-term pairs swapped in both directions (whole words, case kept for the first letter)."""


@dataclass(frozen=True)
class SwapResult:
    kind: str
    n_posts: int
    n_swaps: int
    mean_abs_delta: Estimate
    mean_delta: Estimate
    label_flip_share: Estimate
    examples: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "n_posts": self.n_posts, "n_swaps": self.n_swaps,
                "mean_abs_delta": self.mean_abs_delta.to_dict(), "mean_delta": self.mean_delta.to_dict(),
                "label_flip_share": self.label_flip_share.to_dict()}


def _swap_word(text: str, a: str, b: str) -> str:
    def repl(m):
        w = m.group(0)
        target = b if w.lower() == a.lower() else a
        return target.capitalize() if w[0].isupper() else target

    return re.sub(rf"\b({re.escape(a)}|{re.escape(b)})\b", repl, text, flags=re.IGNORECASE)


def swap_variants(text: str, *, brands=(), identity: bool = True) -> list[tuple[str, str]]:
    """``(kind, swapped text)`` for each brand the text names (replaced by every other brand) and identity swap."""
    out = []
    for b in brands:
        if re.search(rf"\b{re.escape(b)}\b", text, flags=re.IGNORECASE):
            for other in brands:
                if other != b:
                    out.append(("brand", re.sub(rf"\b{re.escape(b)}\b", other, text, flags=re.IGNORECASE)))
    if identity:
        swapped = text
        for a, b in IDENTITY_SWAPS:
            swapped = _swap_word(swapped, a, b)
        if swapped != text:
            out.append(("identity", swapped))
    return out


def counterfactual_swaps(
    model, texts, *, brands=(), identity: bool = True, n_boot: int = 1000, random_state: int = 0
) -> dict[str, SwapResult]:
    """Re-score swapped versions of ``texts``; one :class:`SwapResult` per kind (``brand``, ``identity``)."""
    texts = [t for t in texts if isinstance(t, str)]
    brands = [b for b in brands if b]
    rows = [(i, kind, s) for i, t in enumerate(texts) for kind, s in swap_variants(t, brands=brands, identity=identity)]
    if not rows:
        return {}
    used = sorted({i for i, _, _ in rows})
    orig = np.asarray(model.predict_proba([texts[i] for i in used]), dtype=float)
    orig_by = dict(zip(used, orig))
    swapped = np.asarray(model.predict_proba([s for _, _, s in rows]), dtype=float)
    pos, neg = CLASSES.index("positive"), CLASSES.index("negative")
    frame = pd.DataFrame({"post": [i for i, _, _ in rows], "kind": [k for _, k, _ in rows],
                          "original": [texts[i] for i, _, _ in rows], "swapped": [s for _, _, s in rows]})
    o = np.array([orig_by[i] for i, _, _ in rows])
    frame["delta"] = (swapped[:, pos] - swapped[:, neg]) - (o[:, pos] - o[:, neg])
    frame["flip"] = o.argmax(1) != swapped.argmax(1)
    out = {}
    for kind, part in frame.groupby("kind"):
        d, f = part["delta"].to_numpy(), part["flip"].to_numpy(float)
        idx = bootstrap_indices(len(d), n_boot=n_boot, random_state=random_state)
        est = lambda v: Estimate(float(v.mean()), percentile_interval(v[idx].mean(1)))  # noqa: E731
        top = part.reindex(part["delta"].abs().sort_values(ascending=False).index).head(10)
        out[kind] = SwapResult(kind, part["post"].nunique(), len(part), est(np.abs(d)), est(d), est(f),
                               top.reset_index(drop=True))
    return out
