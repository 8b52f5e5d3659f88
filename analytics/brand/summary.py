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
from analytics.brand.kpis import BrandKPI, BrandKPIs, brand_kpis_two_periods, correction_labels
from analytics.quantify import DEFAULT_METHOD
from analytics.brand.topics import preferred_method, topic_growth
from analytics.store import lookups
from analytics.brand.periods import WINDOWS, window_start
from analytics.core.checks import check_choice



@dataclass(frozen=True)
class RisingTopic:
    """The complaint whose share of negative posts grew most against the previous period."""

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
    def too_few(self) -> str | None:
        """Why our brand's sentiment is no headline figure in this period ("too few posts (n = 1): needs 30"),
        or ``None``: the tiles (:func:`analytics.figures.brand.kpi_cards`) then say so instead of a number."""
        return self.ours.too_few

    @property
    def ours_before(self) -> BrandKPI | None:
        if self.previous is None:
            return None
        return next((g for g in self.previous.groups if g.brand == self.our_brand), None)


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
    (from :func:`analytics.brand.kpis.correction_labels`) saves a scan when the caller has it.
    """
    check_choice("window", window, WINDOWS)
    if brands is not None and our_brand not in brands:
        brands = [our_brand, *brands]
    lo, hi = lookups.time_bounds(con)
    if hi is None:
        raise BrandLensError("the workspace has no dated posts")
    end_dt = _dt(end) or dt.datetime.combine(hi.date(), dt.time()) + dt.timedelta(days=1)
    start_dt = _dt(start) or window_start(end_dt, window)
    length = end_dt - start_dt
    if length <= dt.timedelta(0):
        raise ValueError(f"start ({start_dt}) must be before end ({end_dt})")
    if labelled is None:
        labelled = correction_labels(con, model_id)  # once for both periods
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
        # growth needs a period before with posts: against an empty one every topic "rises"
        rising_topic(con, model_id, brand=our_brand, start=start_dt, end=end_dt) if previous is not None else None,
        open_alert_count(con, model_id=model_id),
    )


def _dt(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def rising_topic(
    con: duckdb.DuckDBPyConnection, model_id: str, *, brand: str, start: dt.datetime, end: dt.datetime
) -> RisingTopic | None:
    """The topic whose share of ``brand``'s negative posts grew most against the period of the same length before.

    :func:`analytics.brand.topics.topic_growth` on the preferred stored topic method
    (``aspect`` first); ``None`` when no topics are stored or no negative post is in the period.
    """
    method = preferred_method(con)
    if method is None:
        return None
    growth = topic_growth(con, method=method, start=start, end=end, baseline_start=start - (end - start),
                          brands=[brand], model_id=model_id, negatives_only=True)
    if growth.empty:
        return None
    top = growth.iloc[0]
    label = top["label"] if isinstance(top["label"], str) else f"topic {int(top['topic_id'])}"
    return RisingTopic(label, f"topics:{method}", int(top["current"]), int(top["previous"]))


def open_alert_count(con: duckdb.DuckDBPyConnection, *, model_id: str) -> int | None:
    """Alerts fired in the last days (:func:`analytics.brand.alerts.count_open_alerts`); ``None`` when they cannot be computed."""
    from analytics.brand.alerts import count_open_alerts

    try:
        return count_open_alerts(con, model_id=model_id)
    except (BrandLensError, ValueError, duckdb.Error):
        return None
