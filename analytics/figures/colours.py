"""The colours every chart and the PDF report use: one per class, a palette for brands."""

from __future__ import annotations

from collections.abc import Sequence

CLASS_COLOURS: dict[str, str] = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
"""One colour per sentiment class (red, grey, green), the same on every page and in the report."""

RAW_COLOUR = "#9e9e9e"
"""Raw (uncorrected) figures beside corrected ones."""

SMALL_COLOUR = "#cfd8dc"
"""Groups and slices too small to rank."""

PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def brand_colours(brands: Sequence[str]) -> dict[str, str]:
    """A stable colour per brand in the given order (our brand, listed first, gets blue).

    Examples
    --------
    >>> brand_colours(["Ours", "Rival"])
    {'Ours': '#1f77b4', 'Rival': '#ff7f0e'}
    """
    return {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(brands)}


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` as a CSS ``rgba()`` string with the given opacity (interval bands)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
