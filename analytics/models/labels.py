"""Map a classifier's own labels onto BrandLens's three classes.

Hugging Face models name their outputs in ``config.id2label``. This module reads those
names and returns a :class:`LabelMapping` that turns the model's softmax output into
probabilities over :data:`analytics.core.labels.CLASSES` (negative, neutral, positive).

The naming rule
---------------
Names are compared case-insensitively after stripping spaces:

* ``negative`` / ``neg``, ``neutral`` / ``neu``, ``positive`` / ``pos`` name a class
  directly, in any order of the output indices;
* when *every* name is a generic ``LABEL_<i>`` (the default Hugging Face writes when a
  model was trained without names), the index order is taken as the common convention:
  3 outputs = negative, neutral, positive (cardiffnlp/twitter-roberta-sentiment);
  2 outputs = negative, positive (SST-2 models);
* anything else (star ratings, emotions, a mix of names) is refused with a message that
  lists the names, because guessing would put wrong numbers on every page.

The two-class rule
------------------
A model with only negative and positive outputs gives ``(q_neg, q_pos)``. BrandLens maps
them to three classes by calling the mass the two classes share *neutral*::

    p_neutral  = 2 * min(q_neg, q_pos)  = 1 - |q_pos - q_neg|
    p_positive = max(0, q_pos - q_neg)
    p_negative = max(0, q_neg - q_pos)

The rows still sum to 1; an undecided model (``q_pos = 0.5``) gives ``p_neutral = 1``; a
confident one keeps its confidence; the predicted class is neutral exactly when
``0.25 < q_pos < 0.75``; and ``p_positive`` only grows with ``q_pos``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analytics.core.errors import BrandLensError
from analytics.core.labels import CLASSES

_SYNONYMS: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
_GENERIC = re.compile(r"^label_(\d+)$")
_GENERIC_ORDER: dict[int, tuple[str, ...]] = {
    2: ("negative", "positive"),
    3: ("negative", "neutral", "positive"),
}


@dataclass(frozen=True)
class LabelMapping:
    """How a model's output columns become probabilities over :data:`CLASSES`.

    Attributes
    ----------
    source_classes : tuple of str
        The class each output column of the model stands for, in output order.
    rule : str
        ``"three-class"`` (a column permutation) or ``"two-class"`` (the rule in the
        module docstring).
    """

    source_classes: tuple[str, ...]
    rule: str

    @property
    def n_outputs(self) -> int:
        return len(self.source_classes)

    def to_classes(self, proba: np.ndarray) -> np.ndarray:
        """Turn the model's softmax output ``(n, n_outputs)`` into ``(n, 3)`` in :data:`CLASSES` order."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] != self.n_outputs:
            raise ValueError(f"proba must have shape (n, {self.n_outputs}), got {proba.shape}")
        if self.rule == "three-class":
            order = [self.source_classes.index(c) for c in CLASSES]
            return proba[:, order]
        q_neg = proba[:, self.source_classes.index("negative")]
        q_pos = proba[:, self.source_classes.index("positive")]
        diff = q_pos - q_neg
        out = np.column_stack([np.maximum(0.0, -diff), 1.0 - np.abs(diff), np.maximum(0.0, diff)])
        return out / out.sum(axis=1, keepdims=True)


def label_mapping(id2label: Mapping[int, str] | Mapping[str, str], *, where: str = "the model") -> LabelMapping:
    """Read a model's ``id2label`` and return how its outputs map onto :data:`CLASSES`.

    Parameters
    ----------
    id2label : mapping of int to str
        The model config's ``id2label`` (keys may be strings, as in ``config.json``).
    where : str, default "the model"
        Names the model in error messages (its id or directory).

    Returns
    -------
    LabelMapping

    Raises
    ------
    BrandLensError
        When the names do not follow the rule in the module docstring.

    Examples
    --------
    >>> label_mapping({0: "Positive", 1: "NEGATIVE", 2: "neutral"}).source_classes
    ('positive', 'negative', 'neutral')
    >>> label_mapping({0: "LABEL_0", 1: "LABEL_1"}).rule
    'two-class'
    """
    if not id2label:
        raise BrandLensError(f"{where} has no id2label in its config; cannot tell which output is which class")
    try:
        items = sorted((int(k), str(v)) for k, v in id2label.items())
    except (TypeError, ValueError) as exc:
        raise BrandLensError(f"{where}: id2label keys must be integers, got {list(id2label)}") from exc
    if [k for k, _ in items] != list(range(len(items))):
        raise BrandLensError(f"{where}: id2label keys must be 0..{len(items) - 1}, got {[k for k, _ in items]}")
    names = [v.strip().lower() for _, v in items]
    generic = [_GENERIC.match(n) for n in names]
    if all(generic) and [int(m.group(1)) for m in generic] == list(range(len(names))):  # type: ignore[union-attr]
        if len(names) not in _GENERIC_ORDER:
            raise BrandLensError(
                f"{where} has {len(names)} unnamed outputs ({[v for _, v in items]}); "
                "only 2 (negative, positive) or 3 (negative, neutral, positive) can be read without names"
            )
        source = _GENERIC_ORDER[len(names)]
    else:
        unknown = [v for (_, v), n in zip(items, names) if n not in _SYNONYMS]
        if unknown:
            raise BrandLensError(
                f"{where} has output labels BrandLens cannot map to negative/neutral/positive: {unknown} "
                f"(all labels: {[v for _, v in items]})"
            )
        source = tuple(_SYNONYMS[n] for n in names)
    if len(set(source)) != len(source):
        raise BrandLensError(f"{where} names a class twice in id2label: {[v for _, v in items]}")
    if set(source) == set(CLASSES):
        return LabelMapping(source_classes=tuple(source), rule="three-class")
    if set(source) == {"negative", "positive"}:
        return LabelMapping(source_classes=tuple(source), rule="two-class")
    raise BrandLensError(
        f"{where} must output negative and positive (and optionally neutral); its labels are {[v for _, v in items]}"
    )
