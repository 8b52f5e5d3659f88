"""Coloured-token HTML with every token escaped: post text is never rendered as HTML."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.core.escape import html_text
from analytics.core.labels import CLASSES


def token_html(tokens: Sequence[str], values: np.ndarray | Sequence[float], *, scale: float | None = None) -> str:
    """A ``<span>`` per token, red for positive attribution to the class shown, blue for negative.

    Every token goes through :func:`analytics.core.escape.html_text` (quotes included), so ``<script>``
    shows as text.

    Examples
    --------
    >>> "<script>" in token_html(["<script>"], [0.5])
    False
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    if len(values) != len(tokens):
        raise ValueError(f"tokens has {len(tokens)} entries, values {len(values)}")
    top = scale if scale is not None else float(np.max(np.abs(values))) if len(values) else 1.0
    top = top or 1.0
    parts = []
    for tok, v in zip(tokens, values):
        alpha = min(1.0, abs(v) / top)
        rgb = "220,38,38" if v > 0 else "37,99,235"
        parts.append(
            f'<span title="{v:+.3f}" style="background: rgba({rgb},{alpha:.2f}); border-radius:3px">'
            f"{html_text(tok)}</span>"
        )
    return '<div style="line-height:1.9; white-space:pre-wrap">' + "".join(parts) + "</div>"


def explanation_html(explanation, *, target: str) -> str:
    """Coloured text of a :class:`~analytics.explain.shap_text.TextExplanation` for class ``target``."""
    if target not in CLASSES:
        raise ValueError(f"target must be one of {CLASSES}, got {target!r}")
    k = CLASSES.index(target)
    return token_html(explanation.tokens, explanation.values[:, k])
