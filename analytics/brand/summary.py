"""The executive summary: headline KPIs of our brand against the previous period.

Used by the Overview page and by the HTML/PDF report, so both show the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.core.bootstrap import DEFAULT_N_BOOT
from analytics.core.errors import BrandLensError
from analytics.brand.kpis import BrandKPI, BrandKPIs, brand_kpis_two_periods, labelled_outputs
from analytics.quantify import DEFAULT_METHOD

WINDOW_DAYS = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class RisingTopic:
    """The complaint whose negative posts grew most against the previous period."""

    label: str
    source: str  # 'aspect' column or a topics method
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class ExecutiveSummary:
    """Our brand's headline figures now and in the previous period of the same length."""

    our_brand: str
    start: dt.datetime
    end: dt.datetime
    current: BrandKPIs
    previous: BrandKPIs | None
    rising_topic: RisingTopic | None
    open_alerts: int | None

    @property
    def ours(self) -> BrandKPI:
        return next(g for g in self.current.groups if g.brand == self.our_brand)

    @property
    def ours_before(self) -> BrandKPI | None:
        if self.previous is None:
            return None
        return next((g for g in self.previous.groups if g.brand == self.our_brand), None)


def time_bounds(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime | None, dt.datetime | None]:
    """First and last post time of the workspace."""
    lo, hi = con.execute("SELECT min(created_at), max(created_at) FROM posts").fetchone()
    return lo, hi


def executive_summary(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    our_brand: str,
    brands: Sequence[str] | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    window: str = "week",
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    labelled: pd.DataFrame | None = None,
) -> ExecutiveSummary:
    """Headline KPIs of ``our_brand`` over ``[start, end)`` and the same length before it.

    Without ``start``/``end`` the current period is the last ``window`` (day, week, month)
    of data. ``brands`` (our brand and competitors) bound the share of voice. ``labelled``
    (from :func:`analytics.brand.kpis.labelled_outputs`) saves a scan when the caller has it.
    """
    if window not in WINDOW_DAYS:
        raise ValueError(f"window must be one of {list(WINDOW_DAYS)}, got {window!r}")
    if brands is not None and our_brand not in brands:
        brands = [our_brand, *brands]
    lo, hi = time_bounds(con)
    if hi is None:
        raise BrandLensError("the workspace has no dated posts")
    end_dt = _dt(end) or dt.datetime.combine(hi.date(), dt.time()) + dt.timedelta(days=1)
    start_dt = _dt(start) or end_dt - dt.timedelta(days=WINDOW_DAYS[window])
    length = end_dt - start_dt
    if length <= dt.timedelta(0):
        raise ValueError(f"start ({start_dt}) must be before end ({end_dt})")
    if labelled is None:
        labelled = labelled_outputs(con, model_id)  # once for both periods
    previous, current = brand_kpis_two_periods(
        con, model_id, start=start_dt - length, split_at=start_dt, end=end_dt, brands=brands, method=method,
        n_boot=n_boot, random_state=random_state, labelled=labelled,
    )
    if not any(g.brand == our_brand for g in current.groups):
        raise BrandLensError(f"no scored posts about {our_brand!r} between {start_dt:%Y-%m-%d} and {end_dt:%Y-%m-%d}")
    if not previous.groups:
        previous = None
    return ExecutiveSummary(
        our_brand, start_dt, end_dt, current, previous,
        rising_topic(con, model_id, brand=our_brand, start=start_dt, end=end_dt),
        open_alert_count(con, model_id=model_id),
    )


def _dt(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def rising_topic(
    con: duckdb.DuckDBPyConnection, model_id: str, *, brand: str, start: dt.datetime, end: dt.datetime
) -> RisingTopic | None:
    """The topic (or source aspect) whose negative posts about ``brand`` grew most against the period before.

    Reads the ``topics``/``topic_labels`` tables when a topic method has run (preferring
    ``aspect``), else the posts' ``aspect`` column; ``None`` when neither has data.
    """
    length = end - start
    method_row = con.execute(
        "SELECT method FROM topics GROUP BY method ORDER BY (method = 'aspect') DESC, count(*) DESC LIMIT 1"
    ).fetchone()
    if method_row:
        sql = """
            SELECT coalesce(l.label, 'topic ' || t.topic_id) AS label,
                   count(*) FILTER (WHERE po.created_at >= ?) AS cur,
                   count(*) FILTER (WHERE po.created_at < ?) AS prev
            FROM posts po
            JOIN predictions pr ON pr.post_id = po.post_id AND pr.model_id = ?
            JOIN topics t ON t.post_id = po.post_id AND t.method = ?
            LEFT JOIN topic_labels l ON l.method = t.method AND l.topic_id = t.topic_id
            WHERE po.brand = ? AND po.created_at >= ? AND po.created_at < ? AND pr.label = 'negative'
            GROUP BY 1 ORDER BY cur - prev DESC, cur DESC LIMIT 1
        """
        row = con.execute(sql, [start, start, model_id, method_row[0], brand, start - length, end]).fetchone()
        source = f"topics:{method_row[0]}"
    else:
        sql = """
            SELECT po.aspect AS label,
                   count(*) FILTER (WHERE po.created_at >= ?) AS cur,
                   count(*) FILTER (WHERE po.created_at < ?) AS prev
            FROM posts po
            JOIN predictions pr ON pr.post_id = po.post_id AND pr.model_id = ?
            WHERE po.brand = ? AND po.created_at >= ? AND po.created_at < ? AND po.aspect IS NOT NULL
              AND pr.label = 'negative'
            GROUP BY 1 ORDER BY cur - prev DESC, cur DESC LIMIT 1
        """
        row = con.execute(sql, [start, start, model_id, brand, start - length, end]).fetchone()
        source = "aspect"
    if not row or row[1] == 0:
        return None
    return RisingTopic(str(row[0]), source, int(row[1]), int(row[2]))


def open_alert_count(con: duckdb.DuckDBPyConnection, *, model_id: str) -> int | None:
    """Alerts fired in the last days (:func:`analytics.brand.alerts.count_open_alerts`); ``None`` when they cannot be computed."""
    from analytics.brand.alerts import count_open_alerts

    try:
        return count_open_alerts(con, model_id=model_id)
    except (BrandLensError, ValueError, duckdb.Error):
        return None
