"""Post explorer: full-text search with filters, and label corrections that flow into evaluation.

Search is DuckDB ``ILIKE`` with the search words as query parameters (``%`` and ``_`` in
them are escaped, so they match literally); DuckDB's ``fts`` extension cannot be installed
offline here, and ``ILIKE`` over a million posts stays well within a page's budget.

Corrections go to ``label_corrections`` (post id, label, origin, time) and never touch
``posts.gold_label``; the ``gold_labels`` view lets the latest correction win, so every
evaluation and the corrected KPIs pick it up on their next query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.store import post_filter
from analytics.core.labels import CLASSES
from analytics.core.checks import check_choice

SORTS = ("confidence_desc", "confidence_asc", "newest", "oldest")
_ORDER = {
    "confidence_desc": "confidence DESC, p.post_id",
    "confidence_asc": "confidence ASC, p.post_id",
    "newest": "p.created_at DESC NULLS LAST, p.post_id",
    "oldest": "p.created_at ASC NULLS LAST, p.post_id",
}
RESULT_COLUMNS = ["post_id", "brand", "created_at", "text", "label", "confidence",
                  "p_negative", "p_neutral", "p_positive", "gold", "topic_id", "language", "source_id"]


@dataclass(frozen=True)
class SearchResult:
    """One page of matching posts and the total count of matches."""

    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_posts(
    con: duckdb.DuckDBPyConnection,
    *,
    model_id: str,
    query: str | None = None,
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    labels: Sequence[str] | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    topic: tuple[str, int] | None = None,
    languages: Sequence[str] | None = None,
    sort: str = "confidence_desc",
    page: int = 1,
    page_size: int = 50,
) -> SearchResult:
    """Posts matching every given filter, one page at a time.

    Parameters
    ----------
    con : duckdb connection
        Workspace.
    model_id : str
        Predictions shown (label, confidence) and filtered on.
    query : str, optional
        Words that must all occur in the text (case-insensitive, literal: quotes, ``%``, ``_``
        and SQL are just characters).
    brands, start, end : optional
        Brand list; time window ``[start, end)``.
    labels : sequence of str, optional
        Predicted labels kept.
    min_confidence, max_confidence : float, optional
        Bounds on the model's confidence (its largest class probability).
    topic : (method, topic_id), optional
        Posts of one topic.
    languages : sequence of str, optional
        Detected languages (ISO 639-1, ``"und"`` for undetermined) to keep.
    sort : {"confidence_desc", "confidence_asc", "newest", "oldest"}
    page, page_size : int
        1-based page and rows per page.

    Returns
    -------
    SearchResult
        ``rows`` with columns :data:`RESULT_COLUMNS` (raw text; mask before display), ``total``.
    """
    check_choice("sort", sort, SORTS)
    if page < 1:
        raise ValueError(f"page must be at least 1, got {page}")
    if not 1 <= page_size <= 1000:
        raise ValueError(f"page_size must be between 1 and 1000, got {page_size}")
    for name, bound in (("min_confidence", min_confidence), ("max_confidence", max_confidence)):
        if bound is not None and not 0.0 <= bound <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {bound}")
    clauses: list[str] = []
    params: list[object] = []
    for word in (query or "").split():
        clauses.append("p.text ILIKE ? ESCAPE '\\'")
        params.append(f"%{_escape_like(word)}%")
    scope, scope_params = post_filter(brands=brands, start=start, end=end)
    clauses += scope
    params += scope_params
    if labels:
        for label in labels:
            check_choice("labels", label, CLASSES)
        clauses.append("pr.label IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(labels))
    if languages:
        clauses.append("coalesce(p.detected_language, 'und') IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(languages))
    if min_confidence is not None:
        clauses.append("greatest(pr.p_negative, pr.p_neutral, pr.p_positive) >= ?")
        params.append(float(min_confidence))
    if max_confidence is not None:
        clauses.append("greatest(pr.p_negative, pr.p_neutral, pr.p_positive) <= ?")
        params.append(float(max_confidence))
    topic_join, topic_params = "LEFT JOIN topics t ON FALSE", []
    if topic is not None:
        topic_join = "JOIN topics t ON t.post_id = p.post_id AND t.method = ? AND t.topic_id = ?"
        topic_params = [str(topic[0]), int(topic[1])]
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    body = f"""
        FROM posts p
        JOIN predictions pr ON pr.post_id = p.post_id AND pr.model_id = ?
        {topic_join}
        LEFT JOIN gold_labels g ON g.post_id = p.post_id
        {where}
    """
    all_params = [model_id, *topic_params, *params]
    total = int(con.execute(f"SELECT count(*) {body}", all_params).fetchall()[0][0])
    rows = con.execute(
        f"""
        SELECT p.post_id, p.source_id, p.brand, p.created_at, p.text, pr.label, p.detected_language AS language,
               greatest(pr.p_negative, pr.p_neutral, pr.p_positive) AS confidence,
               pr.p_negative, pr.p_neutral, pr.p_positive, g.label AS gold, t.topic_id
        {body}
        ORDER BY {_ORDER[sort]}
        LIMIT ? OFFSET ?
        """,
        [*all_params, int(page_size), int((page - 1) * page_size)],
    ).df()
    return SearchResult(rows[RESULT_COLUMNS], total, page, page_size)


CHOSEN_BY: tuple[str, ...] = ("explorer", "queue:active", "queue:random", "file")
"""How a labelled post came to be labelled: found in the explorer, picked by the labelling queue
for being informative (not representative) or at random, or from an imported labelled file."""


def correct_label(
    con: duckdb.DuckDBPyConnection, post_id: str, label: str, *, origin: str, chosen_by: str = "explorer"
) -> dt.datetime:
    """Store a person's label for a post (``label_corrections``); the source label stays untouched.

    Parameters
    ----------
    post_id : str
        An existing post.
    label : {"negative", "neutral", "positive"}
    origin : str
        Who or what corrected it, e.g. ``"explorer:alice"``.
    chosen_by : one of :data:`CHOSEN_BY`, default "explorer"
        How the post was chosen for labelling (evaluation and the KPI correction rest on
        representative labels only, so ``queue:active`` ones are kept apart).

    Returns
    -------
    datetime
        The stored correction time (UTC).

    Raises
    ------
    BrandLensError
        When the post does not exist.
    """
    check_choice("label", label, CLASSES)
    check_choice("chosen_by", chosen_by, CHOSEN_BY)
    if not isinstance(origin, str) or not origin.strip():
        raise ValueError("origin must be a non-empty string naming who corrected the label")
    if not con.execute("SELECT count(*) FROM posts WHERE post_id = ?", [post_id]).fetchall()[0][0]:
        raise BrandLensError(f"no post with id {post_id!r} in the workspace")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    latest = con.execute("SELECT max(corrected_at) FROM label_corrections WHERE post_id = ?", [post_id]).fetchall()[0][0]
    if latest is not None and now <= latest:  # keep the newest correction strictly latest
        now = latest + dt.timedelta(microseconds=1)
    con.execute("INSERT INTO label_corrections (post_id, label, origin, corrected_at, chosen_by) VALUES (?, ?, ?, ?, ?)",
                [post_id, label, origin.strip(), now, chosen_by])
    return now


def correction_history(con: duckdb.DuckDBPyConnection, post_id: str) -> pd.DataFrame:
    """Every correction of one post with the source label: ``label, origin, corrected_at``, newest first."""
    return con.execute(
        "SELECT label, origin, corrected_at FROM label_corrections WHERE post_id = ? ORDER BY corrected_at DESC",
        [post_id],
    ).df()
