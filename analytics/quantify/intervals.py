"""Prevalence estimates with 95% intervals that carry both sources of error.

A corrected share is uncertain for two reasons: the misclassification rates are
measured on a finite labelled sample, and the posts themselves are a sample. Every
bootstrap resample here therefore re-draws *both*: the labelled posts (stratified by
true class, :func:`analytics.core.bootstrap.bootstrap_indices`) and the refitted correction,
and the unlabelled posts of each group. The unlabelled side is drawn from per-group
sufficient statistics, so it stays vectorised for millions of posts:

- predicted-class counts: a resample of ``n`` posts has multinomial counts -- the exact
  bootstrap distribution of the counts;
- mean posteriors (PACC): normal with the posts' covariance over ``n`` (the central
  limit approximation of the bootstrap of a mean);
- EMQ, which is not a function of a mean: multinomial weights over the group's
  (distinct or binned) posterior rows, at most :data:`EMQ_MAX_BOOT` resamples, with the
  recalibration map fitted once and the training prior refitted per labelled resample.

The labelled side is resampled post by post while ``n_labelled * n_boot`` stays below
:data:`EXACT_LABELLED_LIMIT`, and from per-class sufficient statistics above it (the same
multinomial / normal draws, per true class). One generator seeded by ``random_state``
drives every draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from analytics.core.bootstrap import DEFAULT_N_BOOT, bootstrap_indices
from analytics.quantify.base import (
    N_CLASSES,
    AggregativeQuantifier,
    conditional_means,
    crisp,
    label_indices,
    simplex_lstsq,
)
from analytics.quantify.aggregative import sld_em
from analytics.core.estimate import Estimate
from analytics.core.labels import CLASSES
from analytics.core.checks import check_proba, check_same_length


EMQ_MAX_BOOT = 100
"""EMQ reruns EM on every resample, so its intervals use at most this many resamples."""


@dataclass(frozen=True)
class GroupOutputs:
    """Per-group summaries of the classifier's outputs on unlabelled posts.

    Attributes
    ----------
    n : ndarray of shape (G,)
        Posts per group.
    counts : ndarray of shape (G, 3)
        Posts per predicted class.
    proba_mean : ndarray of shape (G, 3)
        Mean posterior per class.
    proba_cov : ndarray of shape (G, 3, 3)
        Covariance of the posteriors across the group's posts.
    rows_group, rows_proba, rows_weight : ndarray, optional
        Distinct (or binned) posterior rows, their group index and how many posts each
        stands for; needed only by non-linear methods (EMQ).
    """

    n: np.ndarray
    counts: np.ndarray
    proba_mean: np.ndarray
    proba_cov: np.ndarray
    rows_group: np.ndarray | None = None
    rows_proba: np.ndarray | None = None
    rows_weight: np.ndarray | None = None

    @classmethod
    def from_rows(cls, proba: np.ndarray, group: np.ndarray | None = None) -> GroupOutputs:
        """Summaries of posterior rows ``proba`` (n, 3) split by integer ``group`` labels 0..G-1."""
        proba = np.asarray(proba, dtype=float)
        group = np.zeros(len(proba), dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
        g = int(group.max()) + 1 if len(group) else 0
        n = np.bincount(group, minlength=g).astype(float)
        counts = np.stack([np.bincount(group, weights=c, minlength=g) for c in crisp(proba).T], axis=1)
        sums = np.stack([np.bincount(group, weights=c, minlength=g) for c in proba.T], axis=1)
        outer = np.einsum("ni,nj->nij", proba, proba).reshape(len(proba), -1)
        sq = np.stack([np.bincount(group, weights=c, minlength=g) for c in outer.T], axis=1)
        return cls.from_sums(n, counts, sums, sq.reshape(g, N_CLASSES, N_CLASSES),
                             rows_group=group, rows_proba=proba, rows_weight=np.ones(len(proba)))

    @classmethod
    def from_sums(
        cls,
        n: np.ndarray,
        counts: np.ndarray,
        sums: np.ndarray,
        sum_outer: np.ndarray,
        **rows: np.ndarray | None,
    ) -> GroupOutputs:
        """Summaries from SQL aggregates: counts, sums of posteriors and of their pairwise products."""
        n = np.asarray(n, dtype=float)
        safe = np.maximum(n, 1.0)
        mean = np.asarray(sums, dtype=float) / safe[:, None]
        cov = np.asarray(sum_outer, dtype=float) / safe[:, None, None] - np.einsum("gi,gj->gij", mean, mean)
        return cls(n=n, counts=np.asarray(counts, dtype=float), proba_mean=mean, proba_cov=cov, **rows)

    def __len__(self) -> int:
        return len(self.n)


@dataclass(frozen=True)
class GroupPrevalence:
    """Prevalence estimates for G groups, raw (CC) and corrected, with bootstrap samples.

    ``raw``/``corrected`` have shape (G, 3); ``raw_samples``/``corrected_samples``
    (n_boot, G, 3). ``method`` is the method actually used for ``corrected`` (``"CC"``
    after a fallback, with ``fallback_reason`` saying why).
    """

    method: str
    raw: np.ndarray
    corrected: np.ndarray
    raw_samples: np.ndarray
    corrected_samples: np.ndarray
    fallback_reason: str | None = None
    n_labelled: int = 0
    labelled_counts: dict[str, int] = field(default_factory=dict)

    def estimate(self, group: int, cls: str, *, corrected: bool = True) -> Estimate:
        """The share of class ``cls`` in ``group`` with its percentile interval."""
        k = CLASSES.index(cls)
        value = (self.corrected if corrected else self.raw)[group, k]
        samples = (self.corrected_samples if corrected else self.raw_samples)[:, group, k]
        return Estimate(float(value), _interval(samples))

    def net(self, group: int, *, corrected: bool = True) -> Estimate:
        """Net sentiment (positive share minus negative share) in ``group`` with its interval."""
        pos, neg = CLASSES.index("positive"), CLASSES.index("negative")
        point = self.corrected if corrected else self.raw
        samples = self.corrected_samples if corrected else self.raw_samples
        return Estimate(float(point[group, pos] - point[group, neg]),
                        _interval(samples[:, group, pos] - samples[:, group, neg]))

    def intervals(self, *, corrected: bool = True) -> np.ndarray:
        """Percentile intervals of every share, shape (G, 3, 2)."""
        samples = self.corrected_samples if corrected else self.raw_samples
        return np.moveaxis(np.quantile(samples, [0.025, 0.975], axis=0), 0, -1)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [0.025, 0.975])
    return (float(lo), float(hi))


def _unlabelled_draws(
    groups: GroupOutputs, *, probabilistic: bool, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap draws of each group's mean output, shape (n_boot, G, 3)."""
    n = np.maximum(groups.n, 1.0)
    if not probabilistic:
        pvals = groups.counts / n[:, None]
        pvals = pvals / pvals.sum(axis=1, keepdims=True)
        draws = rng.multinomial(n.astype(np.int64), pvals, size=(n_boot, len(groups)))
        return draws / n[None, :, None]
    vals, vecs = np.linalg.eigh(groups.proba_cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))[:, None, :]  # cov = root @ root.T
    z = rng.standard_normal((n_boot, len(groups), N_CLASSES))
    return groups.proba_mean[None] + np.einsum("gij,bgj->bgi", root, z) / np.sqrt(n)[None, :, None]


def _labelled_resamples(
    proba: np.ndarray, y: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of class-stratified resamples of the labelled posts, shape (n_boot, n)."""
    return bootstrap_indices(len(y), n_boot=n_boot, strata=y, random_state=rng)


EXACT_LABELLED_LIMIT = 2_000_000
"""Up to this many resampled labelled posts (n_labelled x n_boot) the labelled side is resampled post
by post (:func:`analytics.core.bootstrap.bootstrap_indices`); above it, from per-class sufficient statistics."""


def _refitted_rates(outputs: np.ndarray, y: np.ndarray, *, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Misclassification matrices refitted on ``n_boot`` class-stratified resamples of the labelled posts.

    Small labelled sets are resampled post by post. Large ones (``n_labelled * n_boot`` above
    :data:`EXACT_LABELLED_LIMIT`, e.g. 20,000 labels) use the per-class statistics instead: a
    stratified resample of class ``j`` has multinomial predicted-class counts (exact for crisp
    outputs) and a mean posterior that is normal with the class's covariance over ``n_j``.
    """
    if len(y) * n_boot <= EXACT_LABELLED_LIMIT:
        idx = _labelled_resamples(outputs, y, n_boot=n_boot, rng=rng)
        return conditional_means(outputs[idx], y[idx])
    group = GroupOutputs.from_rows(outputs, y)  # one "group" per true class
    probabilistic = not np.all((outputs == 0) | (outputs == 1))
    draws = _unlabelled_draws(group, probabilistic=probabilistic, n_boot=n_boot, rng=rng)  # (B, 3 true, 3 out)
    m = np.swapaxes(draws, -1, -2)  # M[i, j]: output i for true class j
    return np.where(group.n[None, None, :] > 0, m, np.eye(N_CLASSES))


def quantify_groups(
    method: AggregativeQuantifier,
    proba_labelled: np.ndarray,
    y_labelled: Sequence[str] | np.ndarray,
    groups: GroupOutputs,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
) -> GroupPrevalence:
    """Raw and corrected prevalences of every group, with bootstrap samples of both.

    Parameters
    ----------
    method : AggregativeQuantifier
        An unfitted quantifier (fitted here on the labelled posts).
    proba_labelled : ndarray of shape (n, 3)
        Classifier probabilities on the labelled posts.
    y_labelled : array-like of shape (n,)
        Their true labels.
    groups : GroupOutputs
        The unlabelled posts, summarised per group.
    n_boot : int, default 1000
        Bootstrap resamples (labelled and unlabelled posts re-drawn together).
    random_state : int or None, default 0
        Seed of every draw.

    Returns
    -------
    GroupPrevalence
    """
    check_same_length(proba_labelled=proba_labelled, y_labelled=y_labelled)
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    if len(groups) == 0:
        raise ValueError("groups is empty: no posts to quantify")
    proba_l = check_proba("proba_labelled", proba_labelled)
    method.fit(proba_l, y_labelled)
    y = label_indices(y_labelled)
    rng = np.random.default_rng(random_state)

    n = np.maximum(groups.n, 1.0)
    raw = groups.counts / n[:, None]
    raw_samples = _unlabelled_draws(groups, probabilistic=False, n_boot=n_boot, rng=rng)
    counts = {c: int(k) for c, k in zip(CLASSES, np.bincount(y, minlength=N_CLASSES))}
    common = dict(n_labelled=len(y), labelled_counts=counts)
    if method.fallback_reason_ is not None or not method.needs_labels:
        return GroupPrevalence("CC", raw, raw, raw_samples, raw_samples,
                               fallback_reason=method.fallback_reason_, **common)

    outputs_l = method.classify(proba_l)
    if method.linear:
        q = groups.proba_mean if method.probabilistic else raw
        q_samples = (
            _unlabelled_draws(groups, probabilistic=True, n_boot=n_boot, rng=rng)
            if method.probabilistic else raw_samples
        )
        m_samples = _refitted_rates(outputs_l, y, n_boot=n_boot, rng=rng)  # (B, 3, 3)
        corrected = simplex_lstsq(method.misclassification_, q)
        corrected_samples = simplex_lstsq(m_samples[:, None], q_samples)
    else:
        # not stratified: EMQ's fitted state is the labelled class mix, which must vary between resamples
        idx = bootstrap_indices(len(y), n_boot=min(n_boot, EMQ_MAX_BOOT), random_state=rng)
        corrected, corrected_samples = _emq_groups(method, outputs_l, idx, groups, rng=rng)
    return GroupPrevalence(method.name, raw, corrected, raw_samples, corrected_samples, **common)


def _emq_groups(
    method: AggregativeQuantifier,
    outputs_l: np.ndarray,
    idx: np.ndarray,
    groups: GroupOutputs,
    *,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """EMQ per group: point estimates and bootstrap samples (refitted prior x re-weighted rows).

    The recalibration map is kept fixed across resamples; each labelled resample changes
    the training prior (its mean recalibrated posterior) and each group's rows are
    re-weighted by multinomial counts.
    """
    if groups.rows_proba is None:
        raise ValueError(f"{method.name} needs the posterior rows of every group (GroupOutputs.rows_proba)")
    n_em = idx.shape[0]
    priors = method.calibrated(outputs_l)[idx].mean(axis=1)  # (n_em, 3): refitted training priors
    calibrated = method.calibrated(groups.rows_proba)
    corrected = np.empty((len(groups), N_CLASSES))
    samples = np.empty((n_em, len(groups), N_CLASSES))
    order = np.argsort(groups.rows_group, kind="stable")
    bounds = np.searchsorted(groups.rows_group[order], np.arange(len(groups) + 1))
    for g in range(len(groups)):  # a loop over groups; rows stay vectorised
        rows = order[bounds[g] : bounds[g + 1]]
        if len(rows) == 0:
            corrected[g] = np.nan
            samples[:, g] = np.nan
            continue
        proba, weight = calibrated[rows], groups.rows_weight[rows]
        corrected[g] = sld_em(proba, method.train_prior_, weights=weight)
        w = rng.multinomial(int(round(weight.sum())), weight / weight.sum(), size=n_em)
        samples[:, g] = sld_em(proba, priors, weights=w)
    return corrected, samples


def quantify_with_interval(
    method: AggregativeQuantifier,
    proba_labelled: np.ndarray,
    y_labelled: Sequence[str] | np.ndarray,
    proba_unlabelled: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
) -> GroupPrevalence:
    """:func:`quantify_groups` for one set of unlabelled posts given as rows (one group)."""
    proba_u = check_proba("proba_unlabelled", proba_unlabelled)
    if len(proba_u) == 0:
        raise ValueError("proba_unlabelled is empty: no posts to quantify")
    return quantify_groups(method, proba_labelled, y_labelled, GroupOutputs.from_rows(proba_u),
                           n_boot=n_boot, random_state=random_state)
