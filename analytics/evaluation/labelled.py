"""The labelled posts of a workspace joined with one model's predictions (SQL, parameters only)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from analytics.store import GROUP_COLUMNS, post_filter
from analytics.core.labels import CLASSES

PROBA_COLUMNS = [f"p_{c}" for c in CLASSES]


def labelled_predictions(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    brand: str | list[str] | tuple[str, ...] | None = None,
    min_label_confidence: float | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
) -> pd.DataFrame:
    """Labelled posts with ``model_id``'s probabilities, one row a post.

    The gold label is the ``gold_labels`` view's: a person's correction wins over the
    source's label. ``end`` is exclusive. Columns: ``post_id, brand, created_at, text, gold,
    gold_origin, gold_confidence, p_negative, p_neutral, p_positive, predicted`` and the
    group columns.
    """
    if min_label_confidence is not None and not 0 <= min_label_confidence <= 1:
        raise ValueError(f"min_label_confidence must be within [0, 1], got {min_label_confidence}")
    brands = [brand] if isinstance(brand, str) else list(brand or [])
    scope, scope_params = post_filter(brands=brands, start=start, end=end)
    where, params = ["pr.model_id = ?", *scope], [model_id, *scope_params]
    if min_label_confidence is not None:
        where.append("coalesce(g.confidence, 1.0) >= ?")
        params.append(min_label_confidence)
    groups = ", ".join(f"p.{c}" for c in GROUP_COLUMNS)
    frame = con.execute(
        f"""
        SELECT p.post_id, p.brand, p.created_at, p.text, g.label AS gold, g.origin AS gold_origin,
               g.confidence AS gold_confidence, pr.p_negative, pr.p_neutral, pr.p_positive,
               pr.label AS predicted, {groups}
        FROM gold_labels g
        JOIN posts p USING (post_id)
        JOIN predictions pr USING (post_id)
        WHERE {' AND '.join(where)}
        ORDER BY p.post_id
        """,
        params,
    ).df()
    return frame


def probabilities(frame: pd.DataFrame) -> np.ndarray:
    """The (n, 3) probability matrix of a :func:`labelled_predictions` frame, rows renormalised."""
    proba = frame[PROBA_COLUMNS].to_numpy(dtype=float)
    return proba / proba.sum(axis=1, keepdims=True)
