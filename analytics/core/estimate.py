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


def _plain(x: float) -> float | None:
    """A JSON-safe float: NaN becomes None."""
    x = float(x)
    return None if np.isnan(x) else x
