"""Argument checks at the public boundary, with messages that name the bad argument."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from analytics.core.labels import CLASSES


def check_labels(name: str, labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """Return ``labels`` as an array of class names, or raise naming ``name`` and the bad values."""
    arr = np.asarray(labels, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = sorted({str(v) for v in arr if v not in CLASSES})
    if bad:
        raise ValueError(f"{name} holds labels outside {list(CLASSES)}: {bad[:5]}")
    return arr


def check_proba(name: str, proba: np.ndarray, n_rows: int | None = None) -> np.ndarray:
    """Return ``proba`` as a float array of shape (n, 3) whose rows sum to 1."""
    arr = np.asarray(proba, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(CLASSES):
        raise ValueError(f"{name} must have shape (n, {len(CLASSES)}), got {arr.shape}")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n_rows}")
    if not np.all(np.isfinite(arr)) or np.any(arr < -1e-9):
        raise ValueError(f"{name} must hold finite, non-negative probabilities")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(f"{name} rows must sum to 1")
    return arr


def check_same_length(**arrays: Sequence[object] | np.ndarray) -> int:
    """Return the common length of the named arrays, or raise naming the ones that differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arguments differ in length: {lengths}")
    return next(iter(lengths.values()), 0)


def check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_positive_int(name: str, value: object, *, optional: bool = False) -> None:
    """Raise unless ``value`` is an ``int`` of at least 1 (``None`` too when ``optional``).

    Examples
    --------
    >>> check_positive_int("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
