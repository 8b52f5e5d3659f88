"""Long texts: split token sequences into overlapping windows and combine their scores.

A transformer reads at most ``max_length`` tokens. BrandLens never truncates silently: a
text longer than the window is split into windows of ``size`` tokens that overlap by
``overlap`` tokens, each window is scored, and the text's probabilities are the mean of
its windows' probabilities weighted by each window's length in tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def split_windows(ids: Sequence[int], *, size: int, overlap: int) -> list[list[int]]:
    """Split a token-id sequence into windows of at most ``size`` ids overlapping by ``overlap``.

    The first window starts at token 0 and each next one ``size - overlap`` tokens later,
    until a window reaches the end. An empty sequence gives one empty window (the model
    then reads only its special tokens).

    Examples
    --------
    >>> split_windows(list(range(10)), size=4, overlap=1)
    [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    >>> split_windows([1, 2], size=4, overlap=1)
    [[1, 2]]
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size), got overlap={overlap}, size={size}")
    ids = list(ids)
    if len(ids) <= size:
        return [ids]
    step = size - overlap
    windows = []
    start = 0
    while True:
        windows.append(ids[start : start + size])
        if start + size >= len(ids):
            return windows
        start += step


def split_all(token_ids: Sequence[Sequence[int]], *, size: int, overlap: int) -> tuple[list[list[int]], np.ndarray]:
    """Every text's windows in order, and the index of the text each window belongs to."""
    windows: list[list[int]] = []
    owner: list[int] = []
    for i, ids in enumerate(token_ids):
        parts = split_windows(ids, size=size, overlap=overlap)
        windows.extend(parts)
        owner.extend([i] * len(parts))
    return windows, np.asarray(owner, dtype=np.int64)


def combine_windows(proba: np.ndarray, windows: Sequence[Sequence[int]], owner: np.ndarray, n_texts: int) -> np.ndarray:
    """Each text's probabilities: its windows' probabilities averaged with weights equal to window lengths."""
    proba = np.asarray(proba, dtype=np.float64)
    if len(windows) == n_texts:  # nothing was split: the common case for tweets
        return proba
    weights = np.array([max(len(w), 1) for w in windows], dtype=np.float64)
    sums = np.zeros((n_texts, proba.shape[1]))
    np.add.at(sums, owner, proba * weights[:, None])
    totals = np.bincount(owner, weights=weights, minlength=n_texts)
    return sums / totals[:, None]


def windowed_proba(
    token_ids: Sequence[Sequence[int]],
    predict_ids: Callable[[list[list[int]]], np.ndarray],
    *,
    size: int,
    overlap: int,
) -> np.ndarray:
    """Score sequences of any length with a scorer that accepts at most ``size`` tokens.

    Parameters
    ----------
    token_ids : sequence of sequences of int
        One token-id sequence per text, without special tokens.
    predict_ids : callable
        Scores a list of sequences (each at most ``size`` long) and returns ``(n, k)``
        probabilities.
    size, overlap : int
        Window length and overlap in tokens (see :func:`split_windows`).

    Returns
    -------
    ndarray of shape (len(token_ids), k)
        Each text's window probabilities averaged with weights equal to window lengths
        (:func:`combine_windows`). Training on a workspace's labels uses the same windows.
    """
    windows, owner = split_all(token_ids, size=size, overlap=overlap)
    if not windows:
        return np.zeros((0, 3))
    return combine_windows(predict_ids(windows), windows, owner, len(token_ids))
