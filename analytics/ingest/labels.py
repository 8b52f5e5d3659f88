"""Normalise source labels to ``negative`` / ``neutral`` / ``positive``.

The mapping is explicit (and shown here because users rely on it):

========================  ===========  =========  ===========
source value              negative     neutral    positive
========================  ===========  =========  ===========
words (any case)          negative,    neutral,   positive,
                          neg, bad     neu        pos, good
polarity (-1/0/1)         -1           0          1
1-5 stars, ``4/5``,       1, 2         3          4, 5
``4 stars``               (x < 3)      (x = 3)    (x > 3)
1-10 ratings, ``7/10``    1 .. 4       5, 6       7 .. 10
                          (x < 5)      (5 <= x    (x >= 7)
                                       < 7)
========================  ===========  =========  ===========

Plain numbers are read on one scale for the whole file, chosen from the values seen
(:func:`infer_label_scale`): any negative number means polarity, a maximum of 5 means
stars, a maximum of 10 means ratings. Anything else (``"mixed"``, ``"irrelevant"``, 11) is
an *unknown label* and its row goes to quarantine; an empty value means "unlabelled".
"""

from __future__ import annotations

import re

import pandas as pd

LABEL_WORDS: dict[str, str] = {
    "negative": "negative", "neg": "negative", "bad": "negative",
    "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive", "good": "positive",
}
"""Words (lower case) accepted as labels, and the class each stands for."""

SCALES = ("polarity", "stars", "ratings")

_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(5|10)|stars?|★)?\s*$", re.IGNORECASE)


def _number(value: str) -> tuple[float, str | None] | None:
    match = _FRACTION.match(value)
    if not match:
        return None
    denominator = match.group(2)
    if denominator is None and re.search(r"star|★", value, re.IGNORECASE):
        denominator = "5"
    return float(match.group(1)), {"5": "stars", "10": "ratings"}.get(denominator or "")


def infer_label_scale(values: pd.Series) -> str | None:
    """The numeric scale of a label column: ``"polarity"``, ``"stars"``, ``"ratings"`` or ``None``.

    Examples
    --------
    >>> infer_label_scale(pd.Series(["1", "5", "3"]))
    'stars'
    >>> infer_label_scale(pd.Series(["-1", "0", "1"]))
    'polarity'
    """
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce").dropna()
    if numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    if low < 0:
        return "polarity" if low >= -1 and high <= 1 else None
    if low >= 1 and high <= 5:
        return "stars"
    if low >= 1 and high <= 10:
        return "ratings"
    return None


def _from_number(x: float, scale: str | None) -> str | None:
    if scale == "polarity":
        return {-1.0: "negative", 0.0: "neutral", 1.0: "positive"}.get(x)
    if scale == "stars" and 1 <= x <= 5:
        return "negative" if x < 3 else "neutral" if x == 3 else "positive"
    if scale == "ratings" and 1 <= x <= 10:
        return "negative" if x < 5 else "neutral" if x < 7 else "positive"
    return None


def normalise_label(value: str, *, scale: str | None = None) -> str | None:
    """One label as a class name, or ``None`` when it is unknown.

    Examples
    --------
    >>> normalise_label("Positive"), normalise_label("2", scale="stars"), normalise_label("8/10")
    ('positive', 'negative', 'positive')
    """
    text = value.strip().lower()
    if text in LABEL_WORDS:
        return LABEL_WORDS[text]
    parsed = _number(text)
    if parsed is None:
        return None
    number, explicit = parsed
    return _from_number(number, explicit or scale)


def normalise_labels(values: pd.Series, *, scale: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`normalise_label`.

    Returns
    -------
    labels : pandas.Series
        Class names, ``None`` where the value is empty or unknown.
    unknown : pandas.Series of bool
        True where a non-empty value maps to no class (the row goes to quarantine).
    """
    strings = values.astype(str).str.strip()
    uniques = pd.unique(strings)
    lookup = {u: (normalise_label(u, scale=scale) if u else None) for u in uniques}
    labels = strings.map(lookup)
    unknown = (strings != "") & labels.isna()
    return labels.astype(object).where(labels.notna(), None), unknown


__all__ = ["LABEL_WORDS", "SCALES", "infer_label_scale", "normalise_label", "normalise_labels"]
