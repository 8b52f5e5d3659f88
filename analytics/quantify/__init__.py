"""Quantification: class prevalences of sets of posts, corrected for the classifier's error.

The package exports the available methods in :data:`METHODS` (name -> class), which
fills the Brand monitor's selector and the CLI's ``--method`` choices, and
:data:`DEFAULT_METHOD`, the correction used unless one is chosen.

Examples
--------
>>> import numpy as np
>>> from analytics.quantify import make_quantifier
>>> rng = np.random.default_rng(0)
>>> proba = rng.dirichlet(np.ones(3), size=200)
>>> labels = np.array(["negative", "neutral", "positive"])[proba.argmax(1)]
>>> prevalence = make_quantifier("PACC").fit(proba, labels).predict(proba)
>>> prevalence.shape, bool(np.isclose(prevalence.sum(), 1.0))
((3,), True)
"""

from __future__ import annotations

from analytics.quantify.aggregative import ACC, CC, EMQ, PACC, sld_em
from analytics.quantify.base import (
    MIN_LABELLED,
    MIN_PER_CLASS,
    AggregativeQuantifier,
    conditional_means,
    simplex_lstsq,
)
from analytics.quantify.intervals import (
    GroupOutputs,
    GroupPrevalence,
    quantify_groups,
    quantify_with_interval,
)
from analytics.core.checks import check_choice

METHODS: dict[str, type[AggregativeQuantifier]] = {m.name: m for m in (CC, ACC, PACC, EMQ)}
"""Every available quantifier by name; ``CC`` is the raw figure, the others correct it."""

CORRECTION_METHODS: tuple[str, ...] = ("PACC", "ACC", "EMQ")
"""The corrected methods, default first (the order of the page's selector)."""

DEFAULT_METHOD = "PACC"
"""The default correction (see ``benchmarks/kpi_correction.py`` for the airline check behind the choice)."""


def make_quantifier(name: str) -> AggregativeQuantifier:
    """A new, unfitted quantifier by registry name."""
    check_choice("method", name, METHODS)
    return METHODS[name]()


__all__ = [
    "ACC", "CC", "EMQ", "PACC", "METHODS", "CORRECTION_METHODS", "DEFAULT_METHOD", "MIN_LABELLED",
    "MIN_PER_CLASS", "AggregativeQuantifier", "GroupOutputs", "GroupPrevalence", "conditional_means",
    "make_quantifier", "quantify_groups", "quantify_with_interval", "simplex_lstsq", "sld_em",
]
