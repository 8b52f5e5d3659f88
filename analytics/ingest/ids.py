"""Source ids and the stable post id.

Spreadsheets turn long numeric ids into scientific notation (``570306133677760513`` becomes
``5.70306E+17``), which maps many posts onto one value. Such ids are detected and never used:
``source_id`` stays empty and the raw value is kept in ``posts.extra``.

Every post's key is ``post_id = md5(source, source_id, brand, created_at, text, author_hash)``
(joined with the unit separator ``\\x1f``): stable across re-ingests of the same file, so a second
ingest adds nothing, and independent of row order. It is computed in DuckDB (:data:`POST_ID_SQL`)
so that hashing is vectorised.
"""

from __future__ import annotations

import pandas as pd

_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$"

POST_ID_SQL = (
    "md5(concat_ws(chr(31), source, coalesce(source_id, ''), coalesce(brand, ''), "
    "coalesce(strftime(created_at, '%Y-%m-%dT%H:%M:%S.%f'), ''), text, coalesce(author_hash, '')))"
)
"""SQL expression for the post id over a relation with the ``posts`` column names."""


def mangled_ids(values: pd.Series) -> pd.Series:
    """True where an id was mangled to scientific notation by a spreadsheet.

    Examples
    --------
    >>> mangled_ids(pd.Series(["5.70306E+17", "570306133677760513", ""])).tolist()
    [True, False, False]
    """
    return values.astype(str).str.strip().str.match(_SCIENTIFIC)
