"""The one interface every sentiment model implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from analytics.core.labels import CLASSES


@runtime_checkable
class SentimentModel(Protocol):
    """A sentiment model: an id, its classes, and probabilities for texts.

    ``predict_proba`` returns an array of shape ``(len(texts), 3)`` whose columns follow
    ``classes_`` == :data:`analytics.core.labels.CLASSES` (negative, neutral, positive) and whose
    rows sum to 1.
    """

    model_id: str
    classes_: tuple[str, ...]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


__all__ = ["CLASSES", "SentimentModel"]
