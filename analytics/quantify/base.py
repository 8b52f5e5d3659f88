"""The aggregative-quantifier template: fit on labelled classifier outputs, predict prevalences.

A quantifier estimates the class prevalences of a *set* of posts, not the class of each
post. Aggregative quantifiers (Forman 2008; Moreo, Esuli and Sebastiani's QuaPy) work on
the outputs of a classifier that is already trained: :meth:`AggregativeQuantifier.fit`
learns how that classifier errs from posts whose true label is known, and
:meth:`AggregativeQuantifier.predict` turns the outputs on unlabelled posts into
prevalences that correct for those errors.

The sentiment model is never built here: callers pass its probabilities, shape
``(n, 3)`` in the order of :data:`analytics.core.labels.CLASSES`. Subclasses override only
:meth:`~AggregativeQuantifier.aggregation_fit` and :meth:`~AggregativeQuantifier.aggregate`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from analytics.core.labels import CLASSES, label_codes
from analytics.core.checks import check_labels, check_proba, check_same_length

N_CLASSES = len(CLASSES)

MIN_LABELLED = 50
"""Fewest labelled posts a correction is fitted on; below it quantifiers fall back to CC."""

MIN_PER_CLASS = 5
"""Fewest labelled posts of every class a correction is fitted on."""


def label_indices(y: Sequence[str] | np.ndarray) -> np.ndarray:
    """Class names to their indices in :data:`CLASSES` (validated)."""
    return label_codes(check_labels("y_labelled", y), name="y_labelled")


def crisp(proba: np.ndarray) -> np.ndarray:
    """One-hot rows of the most probable class (ties go to the first class in :data:`CLASSES`)."""
    return np.eye(N_CLASSES)[np.argmax(proba, axis=-1)]


def conditional_means(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Misclassification matrix ``M[i, j]`` = mean output for class ``i`` among posts of true class ``j``.

    Works on a batch too: ``outputs`` of shape ``(..., n, 3)`` and integer ``y`` of shape
    ``(..., n)`` give ``(..., 3, 3)``. A class with no labelled post gets the identity
    column (no correction for it).
    """
    onehot = np.eye(N_CLASSES)[y]  # (..., n, 3): true class
    sums = np.swapaxes(outputs, -1, -2) @ onehot  # (..., 3, 3): outputs summed by true class
    counts = onehot.sum(axis=-2)[..., None, :]  # (..., 1, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = sums / counts
    return np.where(counts > 0, m, np.eye(N_CLASSES))


def _faces(k: int) -> list[tuple[int, ...]]:
    return [s for r in range(1, k + 1) for s in itertools.combinations(range(k), r)]


def simplex_lstsq(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Solve ``min ||M p - q||^2`` over the probability simplex, batched and exact.

    The adjustment of ACC/PACC. The raw solution ``M^-1 q`` leaves the simplex whenever
    sampling noise or a near-singular ``M`` push it out, and clipping it afterwards is
    biased; this solves the constrained problem instead. The problem is convex, so its
    minimum lies in the relative interior of one face of the simplex, where it solves the
    equality-constrained problem of that face (a KKT linear system). With three classes
    there are seven faces: every face's solution is computed for the whole batch at once
    (pseudo-inverse, so singular ``M`` is handled), infeasible ones are dropped, and the
    feasible one with the least residual wins. ``tests/test_quantify.py`` checks it
    against ``scipy.optimize.minimize`` (SLSQP).

    Parameters
    ----------
    m : ndarray of shape (..., 3, 3)
        ``M[i, j]``: mean classifier output for class ``i`` on posts of true class ``j``.
        Batch dimensions broadcast against those of ``q``.
    q : ndarray of shape (..., 3)
        Mean classifier output on the unlabelled posts.

    Returns
    -------
    ndarray of shape (broadcast batch, 3)
        Prevalences: non-negative, summing to 1.
    """
    m = np.asarray(m, dtype=float)
    q = np.asarray(q, dtype=float)
    k = m.shape[-1]
    batch = np.broadcast_shapes(m.shape[:-2], q.shape[:-1])
    best = np.zeros(batch + (k,))
    best_loss = np.full(batch, np.inf)
    for face in _faces(k):
        idx = list(face)
        a = m[..., :, idx]  # (..., 3, s)
        s = len(idx)
        kkt = np.zeros(m.shape[:-2] + (s + 1, s + 1))
        kkt[..., :s, :s] = 2 * np.swapaxes(a, -1, -2) @ a
        kkt[..., :s, s] = 1.0
        kkt[..., s, :s] = 1.0
        inv = np.linalg.pinv(kkt)  # only M-dependent: one per labelled resample
        proj = inv[..., :s, :s] @ (2 * np.swapaxes(a, -1, -2))  # (..., s, 3)
        offset = inv[..., :s, s]  # (..., s)
        p_face = (proj @ q[..., None])[..., 0] + offset
        p = np.zeros(batch + (k,))
        p[..., idx] = np.broadcast_to(p_face, batch + (s,))
        feasible = np.all(p_face >= -1e-9, axis=-1) & (np.abs(p_face.sum(-1) - 1) < 1e-6)
        resid = (m @ p[..., None])[..., 0] - q
        loss = np.where(feasible, np.sum(resid**2, axis=-1), np.inf)
        better = loss < best_loss - 1e-15
        best = np.where(better[..., None], p, best)
        best_loss = np.where(better, loss, best_loss)
    best = np.clip(best, 0.0, None)
    return best / best.sum(axis=-1, keepdims=True)


def too_few_labels(y: np.ndarray) -> str | None:
    """Why a correction cannot be fitted on labels ``y`` (class indices), or ``None`` when it can."""
    n = len(y)
    counts = np.bincount(y, minlength=N_CLASSES)
    if n < MIN_LABELLED:
        return (
            f"only {n} labelled post{'s' if n != 1 else ''} with predictions "
            f"(the correction needs at least {MIN_LABELLED}); showing raw classify-and-count"
        )
    short = [f"{c} ({int(k)})" for c, k in zip(CLASSES, counts) if k < MIN_PER_CLASS]
    if short:
        return (
            f"too few labelled posts of class {', '.join(short)} (the correction needs at least "
            f"{MIN_PER_CLASS} of every class); showing raw classify-and-count"
        )
    return None


class AggregativeQuantifier(ABC):
    """Base of the quantifiers: classifier outputs in, class prevalences out.

    Attributes
    ----------
    name : str
        Short name used in the registry, the CLI and the JSON (``"PACC"``).
    title : str
        One line for selectors and notes.
    probabilistic : bool
        Whether the method reads the posterior probabilities (``True``) or the crisp
        predicted class (``False``).
    linear : bool
        Whether :meth:`aggregate` depends on the outputs only through their mean, so
        that group means computed in SQL are enough (CC, ACC, PACC; not EMQ).
    fallback_reason_ : str or None
        Set by :meth:`fit`: why the method fell back to classify-and-count, or ``None``.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    probabilistic: ClassVar[bool] = False
    linear: ClassVar[bool] = True
    needs_labels: ClassVar[bool] = True

    fallback_reason_: str | None = None

    def fit(self, proba_labelled: np.ndarray, y_labelled: Sequence[str] | np.ndarray) -> AggregativeQuantifier:
        """Learn the classifier's errors from labelled posts.

        Parameters
        ----------
        proba_labelled : ndarray of shape (n, 3)
            The classifier's probabilities on the labelled posts, columns in ``CLASSES`` order.
        y_labelled : array-like of shape (n,)
            Their true labels (class names).

        Returns
        -------
        self
            Fitted. With fewer than :data:`MIN_LABELLED` labels, or a class with fewer than
            :data:`MIN_PER_CLASS`, ``fallback_reason_`` says so and :meth:`predict`
            returns classify-and-count.
        """
        check_same_length(proba_labelled=proba_labelled, y_labelled=y_labelled)
        proba = check_proba("proba_labelled", proba_labelled)
        y = label_indices(y_labelled)
        self.n_labelled_ = len(y)
        self.fallback_reason_ = too_few_labels(y) if self.needs_labels else None
        if self.fallback_reason_ is None:
            self.aggregation_fit(self.classify(proba), y)
        return self

    def predict(self, proba_unlabelled: np.ndarray) -> np.ndarray:
        """Class prevalences of the unlabelled posts, shape ``(3,)`` in ``CLASSES`` order, summing to 1."""
        proba = check_proba("proba_unlabelled", proba_unlabelled)
        if len(proba) == 0:
            raise ValueError("proba_unlabelled is empty: no posts to quantify")
        if not hasattr(self, "n_labelled_"):
            raise ValueError(f"{type(self).__name__} is not fitted: call fit() first")
        if self.fallback_reason_ is not None:
            return crisp(proba).mean(axis=0)
        return self.aggregate(self.classify(proba))

    @property
    def method_(self) -> str:
        """The method actually used: the name, or ``"CC"`` after a fallback."""
        return "CC" if self.fallback_reason_ is not None else self.name

    def classify(self, proba: np.ndarray) -> np.ndarray:
        """The classifier outputs the method aggregates: posteriors, or one-hot predicted classes."""
        return proba if self.probabilistic else crisp(proba)

    @abstractmethod
    def aggregation_fit(self, outputs: np.ndarray, y: np.ndarray) -> None:
        """Fit the aggregation on labelled ``outputs`` (n, 3) with class indices ``y`` (n,)."""

    @abstractmethod
    def aggregate(self, outputs: np.ndarray) -> np.ndarray:
        """Prevalences (3,) from the classifier ``outputs`` (n, 3) on unlabelled posts."""
