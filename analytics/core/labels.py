"""The sentiment classes and the one mapping from class names to array indices.

Every probability array, confusion matrix and count vector in BrandLens orders its
columns as :data:`CLASSES`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CLASSES: tuple[str, str, str] = ("negative", "neutral", "positive")
"""Sentiment classes, in the order every probability array and confusion matrix uses."""

N_CLASSES = len(CLASSES)

CLASS_INDEX: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}
"""Class name -> column index in :data:`CLASSES`."""


def label_codes(labels: Sequence[str] | np.ndarray, *, name: str = "labels") -> np.ndarray:
    """Class names to their indices in :data:`CLASSES`; raises naming ``name`` and the bad values.

    Examples
    --------
    >>> label_codes(["positive", "negative", "neutral"]).tolist()
    [2, 0, 1]
    """
    codes = pd.Categorical(np.asarray(labels, dtype=object), categories=list(CLASSES)).codes.astype(np.int64)
    if codes.size and codes.min() < 0:
        bad = sorted({str(v) for v in labels if v not in CLASS_INDEX})
        raise ValueError(f"{name} holds labels outside {list(CLASSES)}: {bad[:5]}")
    return codes
