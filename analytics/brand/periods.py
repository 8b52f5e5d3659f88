"""Calendar periods of the brand pages: the KPI time axis, a clicked period's days, comparison windows.

A "month" is a calendar month everywhere (the KPI axis truncates to it with DuckDB's
``date_trunc('month', ...)``), never 30 or 31 days: a drill-down from a monthly point
covers exactly the days that point counted.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.core.checks import check_choice

PERIODS: tuple[str, ...] = ("all", "day", "week", "month")
"""Granularities of the KPI time axis (weeks start on Monday, ISO)."""

WINDOWS: tuple[str, ...] = ("day", "week", "month")
"""Comparison windows of the executive summary (the last window against the one before)."""


def period_days(start: dt.date, period: str) -> tuple[dt.date, dt.date]:
    """First and last day of the ``period`` that begins on ``start`` (a point of the KPI axis).

    Examples
    --------
    >>> period_days(dt.date(2026, 2, 1), "month")
    (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    >>> period_days(dt.date(2026, 3, 2), "week")
    (datetime.date(2026, 3, 2), datetime.date(2026, 3, 8))
    """
    check_choice("period", period, WINDOWS)
    if period == "day":
        return start, start
    if period == "week":
        return start, start + dt.timedelta(days=6)
    last = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return start, last


def window_start(end: dt.datetime, window: str) -> dt.datetime:
    """Start of the last ``window`` that ends (exclusive) at ``end``: a day, 7 days or one calendar month.

    Examples
    --------
    >>> window_start(dt.datetime(2026, 3, 31), "month")
    datetime.datetime(2026, 2, 28, 0, 0)
    """
    check_choice("window", window, WINDOWS)
    if window == "month":
        return (pd.Timestamp(end) - pd.DateOffset(months=1)).to_pydatetime()
    return end - dt.timedelta(days=1 if window == "day" else 7)


def day_bounds(first: dt.date | None, last: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``[start, end)`` datetimes covering the whole days ``first`` to ``last`` (the SQL filter of a date range).

    Examples
    --------
    >>> day_bounds(dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    (datetime.datetime(2026, 3, 2, 0, 0), datetime.datetime(2026, 3, 9, 0, 0))
    """
    start = dt.datetime.combine(first, dt.time()) if first is not None else None
    end = dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1) if last is not None else None
    return start, end


def auto_period(start: dt.date | dt.datetime | None, end: dt.date | dt.datetime | None) -> str:
    """The time axis that keeps a chart of ``[start, end)`` readable: days up to two months, weeks up to
    two years, calendar months beyond (a ten-year export is 120 points, not 3,650).

    Examples
    --------
    >>> auto_period(dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    'day'
    >>> auto_period(dt.date(2015, 1, 1), dt.date(2025, 1, 1))
    'month'
    """
    if start is None or end is None:
        return "week"
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days
    if days <= 62:
        return "day"
    return "week" if days <= 731 else "month"


def period_step(period: str) -> dt.timedelta:
    """The longest distance between two consecutive points of a ``period`` axis (a longer one is a gap)."""
    check_choice("period", period, WINDOWS)
    return {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7), "month": dt.timedelta(days=31)}[period]


def infer_period(points: pd.Series) -> str:
    """The granularity of a KPI time axis read from its points: months start on the 1st, weeks on Mondays.

    Examples
    --------
    >>> infer_period(pd.Series(pd.to_datetime(["2026-01-01", "2026-03-01"])))
    'month'
    >>> infer_period(pd.Series(pd.to_datetime(["2026-01-05", "2026-03-02"])))
    'week'
    """
    stamps = pd.to_datetime(points.dropna())
    if stamps.empty:
        return "day"
    if (stamps.dt.day == 1).all() and len(stamps.unique()) > 1:
        return "month"
    return "week" if (stamps.dt.day_of_week == 0).all() else "day"
