"""User data is data: helpers that keep it from becoming markup or formulas on its way out."""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet cell starting with one of these is read as a formula (OWASP CSV injection)."""


def spreadsheet_cell(value: object) -> object:
    """A text cell as a spreadsheet will show it, never run it: formula-like text gets a leading ``'``.

    Examples
    --------
    >>> spreadsheet_cell('=HYPERLINK("http://evil.example")')
    '\\'=HYPERLINK("http://evil.example")'
    >>> spreadsheet_cell("fine"), spreadsheet_cell(3)
    ('fine', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet (:func:`spreadsheet_cell`)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(spreadsheet_cell)
    return out
