"""Typed results that analytics returns and dashboards render.

A calculation returns one of these small types, never a figure; ``dashboard/`` maps
each type to a Plotly figure. ``to_dict`` gives the JSON shapes the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval.

    ``to_dict`` gives ``{"value": x, "ci95": [lo, hi]}``, the shape every ``--json``
    output uses for a figure with an interval.
    """

    value: float
    ci95: tuple[float, float]
    note: str | None = None
    """Why there is no figure (``too few labelled posts (n = 3): needs 30``); ``None`` for a real figure."""

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"value": _plain(self.value), "ci95": [_plain(self.ci95[0]), _plain(self.ci95[1])]}
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def too_few(cls, n: int, needed: int, what: str = "labelled posts") -> Estimate:
        """No figure: ``n`` is below the ``needed`` minimum; the note says so in words (value and interval NaN).

        >>> Estimate.too_few(3, 30).to_dict()
        {'value': None, 'ci95': [None, None], 'note': 'too few labelled posts (n = 3): needs 30'}
        """
        return cls(float("nan"), (float("nan"), float("nan")), too_few_text(n, needed, what))

    @property
    def missing(self) -> bool:
        """Whether there is no figure (too few posts, or a figure undefined on this sample)."""
        return bool(np.isnan(self.value))

    def text(self, fmt: str = ".3f", *, interval: str = "[{lo}, {hi}]") -> str:
        """The figure with its interval for a page or report (``0.812 [0.701, 0.890]``), or its note.

        >>> Estimate(0.5, (0.25, 0.75)).text(".2f")
        '0.50 [0.25, 0.75]'
        >>> Estimate.too_few(2, 30).text()
        'too few labelled posts (n = 2): needs 30'
        """
        if np.isnan(self.value):
            return self.note or "n/a"
        if self.note is not None or np.isnan(self.ci95[0]):  # a figure without an interval says why
            return f"{format(self.value, fmt)} ({self.note or 'no interval'})"
        lo, hi = (format(x, fmt) for x in self.ci95)
        return f"{format(self.value, fmt)} " + interval.format(lo=lo, hi=hi)

    @classmethod
    def bootstrapped(cls, value: float, interval: tuple[float, float]) -> Estimate:
        """``value`` with its percentile ``interval``, unless every resample gave the same value.

        A degenerate bootstrap (a perfect AUC, one class only) has an interval of zero width that
        claims certainty the sample cannot give: the figure then keeps no interval and says why.

        >>> Estimate.bootstrapped(1.0, (1.0, 1.0)).text()
        '1.000 (no interval: every bootstrap resample gives the same value)'
        """
        lo, hi = interval
        if not np.isnan(lo) and lo == hi:
            return cls(float(value), (float("nan"), float("nan")), DEGENERATE)
        return cls(float(value), (float(lo), float(hi)))

    @property
    def half_width(self) -> float:
        return (self.ci95[1] - self.ci95[0]) / 2

    def columns(self, name: str) -> dict[str, float]:
        """The estimate as table columns ``name``, ``name_lo``, ``name_hi`` (see :func:`interval_columns`)."""
        lo, hi = interval_columns(name)
        return {name: float(self.value), lo: float(self.ci95[0]), hi: float(self.ci95[1])}

    @classmethod
    def from_columns(cls, row, name: str) -> Estimate:
        """The estimate a table row holds in ``name``, ``name_lo``, ``name_hi``."""
        lo, hi = interval_columns(name)
        return cls(float(row[name]), (float(row[lo]), float(row[hi])))


def interval_columns(name: str) -> tuple[str, str]:
    """Names of the columns holding the 95% interval of ``name`` in a table derived from estimates.

    Tables (KPIs per brand and period, slices, groups) hold an interval as three columns;
    an :class:`Estimate` is the one type, these names its one table shape.

    Examples
    --------
    >>> interval_columns("net_corrected")
    ('net_corrected_lo', 'net_corrected_hi')
    >>> Estimate(0.5, (0.4, 0.6)).columns("accuracy")
    {'accuracy': 0.5, 'accuracy_lo': 0.4, 'accuracy_hi': 0.6}
    """
    return f"{name}_lo", f"{name}_hi"


DEGENERATE = "no interval: every bootstrap resample gives the same value"
"""The note of a figure whose bootstrap has no spread (see :meth:`Estimate.bootstrapped`)."""


def too_few_text(n: int, needed: int, what: str = "labelled posts") -> str:
    """The one wording of a figure withheld for its sample size: ``too few labelled posts (n = 3): needs 30``."""
    return f"too few {what} (n = {n:,}): needs {needed:,}"


PROPORTION_METHOD = "wilson"
"""Interval of a proportion (accuracy, a share of posts): Wilson's score interval.

Valid at small n and never of zero width, unlike the bootstrap percentile interval (which is
``[1, 1]`` when 5 of 5 labels are right). ``benchmarks/small_n.py`` measured its coverage of a
true accuracy at 0.91-0.97 for n = 5..100 (Jeffreys' 0.92-0.97; the percentile bootstrap
0.53-0.67 at n = 5 and 0.78-0.83 at n = 10)."""


def proportion_interval(successes: int, n: int, *, method: str = PROPORTION_METHOD,
                        level: float = 0.95) -> tuple[float, float]:
    """The ``level`` interval of the proportion ``successes / n`` (statsmodels' ``proportion_confint``).

    ``method`` is ``"wilson"`` (default) or ``"jeffreys"``; ``(nan, nan)`` when ``n`` is 0.

    >>> [round(x, 3) for x in proportion_interval(2, 2)]
    [0.342, 1.0]
    """
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, {n}], got {successes}")
    lo, hi = proportion_confint(int(successes), int(n), alpha=1 - level, method=method)
    return (float(max(lo, 0.0)), float(min(hi, 1.0)))


def proportion_estimate(successes: int, n: int, *, method: str = PROPORTION_METHOD) -> Estimate:
    """``successes / n`` with its :func:`proportion_interval` (NaN with no interval when ``n`` is 0)."""
    if n <= 0:
        return Estimate(float("nan"), (float("nan"), float("nan")))
    return Estimate(successes / n, proportion_interval(successes, n, method=method))


def _plain(x: float) -> float | None:
    """A JSON-safe float: NaN becomes None."""
    x = float(x)
    return None if np.isnan(x) else x
