"""The labelled posts of a workspace joined with one model's predictions (SQL, parameters only)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from analytics.store import GROUP_COLUMNS, post_filter
from analytics.core.labels import CLASSES

PROBA_COLUMNS = [f"p_{c}" for c in CLASSES]


TRAINED_LABELS = ("exclude", "cross-fitted")
"""How :func:`labelled_predictions` treats labels a workspace model was trained on."""

ACTIVE_CHOICE = "queue:active"
"""``chosen_by`` of labels the queue picked for being informative: not a representative sample."""


def labelled_predictions(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    brand: str | list[str] | tuple[str, ...] | None = None,
    min_label_confidence: float | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    trained: str = "exclude",
    representative_only: bool = True,
    readable_only: bool = False,
) -> pd.DataFrame:
    """Labelled posts with ``model_id``'s probabilities, one row a post.

    The gold label is the ``gold_labels`` view's: a person's correction wins over the
    source's label. ``end`` is exclusive.

    A model is never scored on labels it was trained on: with ``trained="exclude"`` (the
    default) the posts an adapted model trained on (``model_labels``, split ``train``) are left
    out; with ``trained="cross-fitted"`` they stay with their out-of-fold probabilities
    (``crossfit_predictions``) where those exist, so a KPI correction can use every label
    without measuring the confusion on training data. ``representative_only`` (default) leaves out
    labels the queue chose for being informative (``chosen_by = 'queue:active'``), which are
    not a sample of the posts; ``readable_only`` leaves out posts detected in a language
    the model does not read (:mod:`analytics.models.languages`).

    Columns: ``post_id, brand, created_at, text, gold, gold_origin, gold_confidence, chosen_by,
    split, language, p_negative, p_neutral, p_positive, predicted`` and the group columns
    (``split`` is ``train``/``holdout`` for an adapted model's labels, else missing;
    ``language`` the detected one).
    """
    from analytics.core.checks import check_choice
    from analytics.models.languages import language_sql

    check_choice("trained", trained, TRAINED_LABELS)
    if min_label_confidence is not None and not 0 <= min_label_confidence <= 1:
        raise ValueError(f"min_label_confidence must be within [0, 1], got {min_label_confidence}")
    brands = [brand] if isinstance(brand, str) else list(brand or [])
    scope, scope_params = post_filter(brands=brands, start=start, end=end)
    where, params = ["pr.model_id = ?", *scope], [model_id, *scope_params]
    if min_label_confidence is not None:
        where.append("coalesce(g.confidence, 1.0) >= ?")
        params.append(min_label_confidence)
    if trained == "exclude":
        where.append("coalesce(ml.split, '') <> 'train'")
    else:
        where.append("(coalesce(ml.split, '') <> 'train' OR cf.post_id IS NOT NULL)")
    if representative_only:
        where.append("g.chosen_by <> ?")
        params.append(ACTIVE_CHOICE)
    if readable_only:
        clause, extra = language_sql("p", model_id)
        where.append(clause)
        params.extend(extra)
    groups = ", ".join(f"p.{c}" for c in GROUP_COLUMNS)
    proba = ", ".join(
        f"CASE WHEN ml.split = 'train' THEN cf.p_{c} ELSE pr.p_{c} END AS p_{c}" for c in CLASSES
    )
    frame = con.execute(
        f"""
        SELECT p.post_id, p.brand, p.created_at, p.text, g.label AS gold, g.origin AS gold_origin,
               g.confidence AS gold_confidence, g.chosen_by, ml.split, p.detected_language AS detected_language,
               {proba}, pr.label AS predicted, {groups}
        FROM gold_labels g
        JOIN posts p USING (post_id)
        JOIN predictions pr USING (post_id)
        LEFT JOIN model_labels ml ON ml.model_id = pr.model_id AND ml.post_id = p.post_id
        LEFT JOIN crossfit_predictions cf ON cf.model_id = pr.model_id AND cf.post_id = p.post_id
        WHERE {' AND '.join(where)}
        ORDER BY p.post_id
        """,
        params,
    ).df()
    trained_rows = frame["split"].eq("train").to_numpy()
    if trained_rows.any():  # the crisp label of a cross-fitted row is its out-of-fold prediction
        frame.loc[trained_rows, "predicted"] = np.array(CLASSES)[probabilities(frame[trained_rows]).argmax(1)]
    return frame


def probabilities(frame: pd.DataFrame) -> np.ndarray:
    """The (n, 3) probability matrix of a :func:`labelled_predictions` frame, rows renormalised."""
    proba = frame[PROBA_COLUMNS].to_numpy(dtype=float)
    return proba / proba.sum(axis=1, keepdims=True)
