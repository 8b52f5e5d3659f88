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

    def to_dict(self) -> dict[str, object]:
        return {"value": _plain(self.value), "ci95": [_plain(self.ci95[0]), _plain(self.ci95[1])]}

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


def _plain(x: float) -> float | None:
    """A JSON-safe float: NaN becomes None."""
    x = float(x)
    return None if np.isnan(x) else x
