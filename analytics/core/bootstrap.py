"""Vectorised bootstrap: resample indices once, evaluate a statistic on every resample.

Every interval in BrandLens comes from here so that seeds, stratification and the
percentile rule are the same everywhere. Resamples are drawn as one integer matrix of
shape ``(n_boot, n)``; statistics that can be written on count matrices stay vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analytics.core.estimate import Estimate

DEFAULT_N_BOOT = 1000


def bootstrap_indices(
    n: int,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    strata: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Indices of ``n_boot`` resamples of ``range(n)``, shape ``(n_boot, n)``.

    With ``strata`` each resample keeps every stratum's size (a stratified bootstrap),
    so class proportions of the gold labels do not wobble between resamples.
    """
    if n <= 0:
        raise ValueError("cannot bootstrap an empty sample")
    if n_boot <= 0:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    rng = np.random.default_rng(random_state)
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    strata = np.asarray(strata)
    if len(strata) != n:
        raise ValueError(f"strata has {len(strata)} entries, expected {n}")
    out = np.empty((n_boot, n), dtype=np.int64)
    start = 0
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        k = len(members)
        out[:, start : start + k] = members[rng.integers(0, k, size=(n_boot, k))]
        start += k
    return out


def percentile_interval(samples: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap ``samples`` (NaNs from degenerate resamples ignored)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def bootstrap_estimate(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    strata: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> Estimate:
    """Point value and percentile interval of ``statistic(indices)``.

    ``statistic`` receives an index array (``np.arange(n)`` for the point value). This is
    the generic, per-resample path; hot metrics use :func:`bootstrap_indices` directly
    with vectorised statistics.
    """
    idx = bootstrap_indices(n, n_boot=n_boot, strata=strata, random_state=random_state)
    point = float(statistic(np.arange(n)))
    samples = np.array([statistic(row) for row in idx], dtype=float)
    return Estimate(point, percentile_interval(samples))
