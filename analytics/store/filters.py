"""The one brand/date filter of posts every query uses (explorer, topics, evaluation, KPIs)."""

from __future__ import annotations

from collections.abc import Sequence

def post_filter(
    *, brands: Sequence[str] | None = None, start: object = None, end: object = None, alias: str = "p"
) -> tuple[list[str], list[object]]:
    """SQL conditions and parameters restricting posts to brands and ``[start, end)``.

    Values travel as parameters only; ``alias`` is the posts table's alias in the caller's query.
    """
    clauses: list[str] = []
    params: list[object] = []
    if brands:
        clauses.append(f"{alias}.brand IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(brands))
    if start is not None:
        clauses.append(f"{alias}.created_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append(f"{alias}.created_at < ?")
        params.append(end)
    return clauses, params
