"""Alerts: spikes in volume or negative share per brand against a robust, seasonality-aware baseline.

Per-period counts come from DuckDB (every calendar day or week, zero-filled). Each period is
then scored against its own past only:

* ``volume`` — baseline is the median of the same weekday over the previous six weeks (for
  ``period="week"``: the previous eight weeks), scale is ``1.4826 * MAD`` of those same values,
  floored by the Poisson spread ``sqrt(baseline + 1)``; ``z = (observed - baseline) / scale``,
  scored only when the excess is at least ``MIN_EXCESS_POSTS`` posts (tiny brands stay quiet).
  A weekly rhythm (quiet weekends) is in the baseline, so it never fires.
* ``negative_share`` — baseline share ``p0`` is the median daily share over the previous 28
  days (8 weeks); the scale is binomial, ``sqrt(p0 (1 - p0) / n)``, plus the extra-binomial
  spread seen in the past (MAD of past shares beyond their binomial noise), so a day with three
  posts cannot fire on one angry post.

Every scored row also carries the common monitoring rule — last period against the mean of the
previous seven plus ``k`` standard deviations (``simple_z``, ``simple_fired``) — so pages can
show both and say why an alert fired (``observed``, ``baseline``, ``scale``, ``z``, ``reason``).

Rules live in the ``alert_rules`` table (:func:`list_rules`, :func:`add_rule`,
:func:`update_rule`, :func:`delete_rule`, :func:`replace_rules`). :func:`detect_alerts` returns
the alerts; :func:`alert_posts` the posts behind one; the topic driving an alert is the topic
with the largest excess share in the spike period against the baseline weeks.

For the Overview page: ``count_open_alerts(con, *, model_id, as_of=None) -> int`` counts the
alerts fired in the last 7 days before ``as_of`` (default: the newest post's day).
"""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.brand.topics import preferred_method, topic_growth
from analytics.core.checks import check_choice

METRICS = ("volume", "negative_share")
PERIODS = ("day", "week")
DEFAULT_THRESHOLD = 3.5
MAD_SCALE = 1.4826
MIN_HISTORY = 4          # past values needed before a period is scored
MIN_POSTS_SHARE = 10     # posts a period needs before its negative share is scored
MIN_EXCESS_POSTS = 5     # a volume spike must add at least this many posts
OPEN_DAYS = 7

_LAGS = {"day": (7, 14, 21, 28, 35, 42), "week": tuple(range(1, 9))}
_SHARE_WINDOW = {"day": 28, "week": 8}
_SIMPLE_WINDOW = 7
DRIVER_BASELINE_DAYS = 28
"""An alert's driving topic gained the most share against this many days before the spike."""
_STEP = {"day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1)}
HISTORY = {"day": dt.timedelta(days=max(_LAGS["day"]) + _SHARE_WINDOW["day"] + _SIMPLE_WINDOW + 2),
           "week": dt.timedelta(weeks=max(_LAGS["week"]) + _SHARE_WINDOW["week"] + _SIMPLE_WINDOW + 2)}
"""How far back a period's score looks (robust lags or share window, and the simple rule's window), with room."""

SERIES_COLUMNS = [
    "brand", "metric", "period", "period_start", "n_posts", "negatives", "observed", "baseline",
    "scale", "z", "simple_baseline", "simple_std", "simple_z",
]
ALERT_COLUMNS = [
    "rule_id", "brand", "metric", "period", "period_start", "period_end", "observed", "baseline",
    "scale", "z", "threshold", "fired_by", "simple_z", "simple_fired", "n_posts", "size", "reason",
    "topic_method", "topic_id", "topic_label", "topic_excess_share",
]


# --------------------------------------------------------------------------- rules (CRUD)

def _check_rule(metric: str, threshold: float, period: str) -> None:
    check_choice("metric", metric, METRICS)
    check_choice("period", period, PERIODS)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number (a robust z-score), got {threshold}")


def list_rules(con: duckdb.DuckDBPyConnection, *, enabled_only: bool = False) -> pd.DataFrame:
    """The stored rules: ``rule_id, brand, metric, threshold, period, enabled, created_at``."""
    where = "WHERE enabled" if enabled_only else ""
    return con.execute(
        f"SELECT rule_id, brand, metric, threshold, period, enabled, created_at FROM alert_rules {where} "
        "ORDER BY created_at, rule_id"
    ).df()


def add_rule(
    con: duckdb.DuckDBPyConnection,
    *,
    metric: str,
    threshold: float = DEFAULT_THRESHOLD,
    brand: str | None = None,
    period: str = "day",
    enabled: bool = True,
) -> str:
    """Store a rule and return its id. ``brand=None`` watches every brand."""
    _check_rule(metric, float(threshold), period)
    rule_id = uuid.uuid4().hex[:12]
    con.execute(
        "INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [rule_id, brand or None, metric, float(threshold), period, bool(enabled)],
    )
    return rule_id


def update_rule(con: duckdb.DuckDBPyConnection, rule_id: str, **changes: object) -> None:
    """Change fields of one rule (``brand``, ``metric``, ``threshold``, ``period``, ``enabled``)."""
    allowed = {"brand", "metric", "threshold", "period", "enabled"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"unknown rule fields {sorted(unknown)}; allowed: {sorted(allowed)}")
    rows = con.execute("SELECT brand, metric, threshold, period, enabled FROM alert_rules WHERE rule_id = ?",
                       [rule_id]).fetchall()
    if not rows:
        raise BrandLensError(f"no alert rule with id {rule_id!r}")
    current = dict(zip(("brand", "metric", "threshold", "period", "enabled"), rows[0]))
    current.update(changes)
    _check_rule(str(current["metric"]), float(current["threshold"]), str(current["period"]))  # type: ignore[arg-type]
    con.execute(
        "UPDATE alert_rules SET brand = ?, metric = ?, threshold = ?, period = ?, enabled = ? WHERE rule_id = ?",
        [current["brand"] or None, current["metric"], float(current["threshold"]),  # type: ignore[arg-type]
         current["period"], bool(current["enabled"]), rule_id],
    )


def delete_rule(con: duckdb.DuckDBPyConnection, rule_id: str) -> None:
    """Remove one rule (no error when it does not exist)."""
    con.execute("DELETE FROM alert_rules WHERE rule_id = ?", [rule_id])


def replace_rules(con: duckdb.DuckDBPyConnection, rules: pd.DataFrame) -> int:
    """Replace all rules by the rows of ``rules`` (as edited in a table); returns the count stored.

    Columns ``metric, threshold`` are required; ``brand, period, enabled, rule_id`` optional.
    Every row is validated before anything is written.
    """
    for col in ("metric", "threshold"):
        if col not in rules.columns:
            raise ValueError(f"rules lack the column {col!r}")
    rows = []
    for i, r in enumerate(rules.to_dict("records"), start=1):
        metric, period = r.get("metric"), r.get("period") or "day"
        try:
            threshold = float(r.get("threshold"))  # type: ignore[arg-type]
            _check_rule(str(metric), threshold, str(period))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rule row {i}: {exc}") from None
        brand = r.get("brand")
        brand = None if brand is None or (isinstance(brand, float) and np.isnan(brand)) or str(brand).strip() == "" else str(brand)
        enabled = r.get("enabled")
        enabled = True if enabled is None or (isinstance(enabled, float) and np.isnan(enabled)) else bool(enabled)
        rule_id = r.get("rule_id")
        rule_id = str(rule_id) if isinstance(rule_id, str) and rule_id else uuid.uuid4().hex[:12]
        rows.append([rule_id, brand, str(metric), threshold, str(period), enabled])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM alert_rules")
        for row in rows:
            con.execute("INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", row)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def default_rules() -> pd.DataFrame:
    """The rules used while the workspace stores none: volume and negative share, every brand, daily."""
    return pd.DataFrame({
        "rule_id": ["default-volume", "default-negative"], "brand": [None, None],
        "metric": ["volume", "negative_share"], "threshold": [DEFAULT_THRESHOLD] * 2,
        "period": ["day", "day"], "enabled": [True, True],
    })


# --------------------------------------------------------------------------- series and scores

def period_counts(
    con: duckdb.DuckDBPyConnection,
    *,
    model_id: str,
    period: str = "day",
    brands: Sequence[str] | None = None,
    as_of: dt.datetime | None = None,
    start: dt.datetime | None = None,
) -> pd.DataFrame:
    """Posts and predicted negatives per brand and calendar period, zero-filled (DuckDB).

    Returns
    -------
    DataFrame
        ``brand, period_start, n_posts, negatives`` for every period from the first post to
        ``as_of`` (exclusive; default the newest post), every brand. With ``start``, only the
        periods from ``start``'s on (the same rows as without it, from there): a ten-year export
        need not be zero-filled day by day to score its last weeks.
    """
    check_choice("period", period, PERIODS)
    unit = "1 day" if period == "day" else "7 days"
    params: list[object] = [model_id]
    brand_clause = ""
    if brands:
        brand_clause = "AND p.brand IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(brands))
    time_clause = ""
    if as_of is not None:
        time_clause = "AND p.created_at < ?"
        params.append(as_of)
    # the calendar spans every brand's posts, whichever brands are asked for: a brand's rows are the
    # same alone as among all (its zero-filled history starts where the workspace's does)
    first = "(SELECT lo FROM span)"
    if start is not None:
        first = f"greatest({first}, date_trunc('{period}', ?::TIMESTAMP))"
    return con.execute(
        f"""
        WITH span AS (
            SELECT date_trunc('{period}', min(p.created_at)) AS lo, date_trunc('{period}', max(p.created_at)) AS hi
            FROM posts p JOIN predictions pr ON pr.post_id = p.post_id AND pr.model_id = ?
            WHERE p.brand IS NOT NULL AND p.created_at IS NOT NULL {time_clause}
        ),
        base AS (
            SELECT p.brand, date_trunc('{period}', p.created_at) AS period_start, pr.label
            FROM posts p JOIN predictions pr ON pr.post_id = p.post_id AND pr.model_id = ?
            WHERE p.brand IS NOT NULL AND p.created_at IS NOT NULL {brand_clause} {time_clause}
        ),
        agg AS (
            SELECT brand, period_start, count(*) AS n_posts, count(*) FILTER (WHERE label = 'negative') AS negatives
            FROM base WHERE period_start >= {first} GROUP BY ALL
        ),
        cal AS (
            SELECT unnest(generate_series({first}, (SELECT hi FROM span), INTERVAL '{unit}')) AS period_start
            FROM (SELECT 1) WHERE EXISTS (SELECT 1 FROM agg)
        ),
        grid AS (SELECT b.brand, c.period_start FROM (SELECT DISTINCT brand FROM agg) b CROSS JOIN cal c)
        SELECT g.brand, g.period_start, coalesce(a.n_posts, 0) AS n_posts, coalesce(a.negatives, 0) AS negatives
        FROM grid g LEFT JOIN agg a USING (brand, period_start)
        ORDER BY g.brand, g.period_start
        """,
        [model_id, *([as_of] if as_of is not None else []), *params, *([start, start] if start is not None else [])],
    ).df()


def _lagged(values: pd.DataFrame, lags: Sequence[int]) -> np.ndarray:
    """Columns of ``values['x']`` shifted by each lag within each brand: shape (n, len(lags))."""
    grouped = values.groupby("brand", sort=False)["x"]
    return np.column_stack([grouped.shift(lag).to_numpy(dtype=float) for lag in lags])


def score_series(counts: pd.DataFrame, *, metric: str, period: str = "day") -> pd.DataFrame:
    """Robust baseline, scale and z for every brand and period of :func:`period_counts` output.

    Also the simple rule's baseline (mean of the previous seven periods), std and z.
    Rows without enough history have NaN ``z``.
    """
    check_choice("metric", metric, METRICS)
    check_choice("period", period, PERIODS)
    frame = counts.sort_values(["brand", "period_start"], ignore_index=True).copy()
    n = frame["n_posts"].to_numpy(dtype=float)
    neg = frame["negatives"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "volume":
            frame["x"] = n
            past = _lagged(frame, _LAGS[period])
            enough = np.sum(~np.isnan(past), axis=1) >= MIN_HISTORY
            with warnings.catch_warnings():  # all-NaN rows (no history yet) give NaN, as intended
                warnings.simplefilter("ignore", RuntimeWarning)
                baseline = np.nanmedian(past, axis=1)
                mad = np.nanmedian(np.abs(past - baseline[:, None]), axis=1)
            scale = np.maximum(MAD_SCALE * mad, np.sqrt(baseline + 1.0))
            enough &= (n - baseline) >= MIN_EXCESS_POSTS
            observed = n
        else:
            share = np.where(n >= MIN_POSTS_SHARE, neg / np.where(n > 0, n, 1), np.nan)
            frame["x"] = share
            past = _lagged(frame, range(1, _SHARE_WINDOW[period] + 1))
            frame["x"] = np.where(n > 0, n, np.nan)
            past_n = _lagged(frame, range(1, _SHARE_WINDOW[period] + 1))
            # only periods with a share are scored: the medians over the window are computed for those
            # rows alone (a ten-year, 300-brand export has millions of empty brand-days)
            rows = ~np.isnan(share)
            baseline, mad, binom_past = (np.full(len(frame), np.nan) for _ in range(3))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                b = np.nanmedian(past[rows], axis=1) if rows.any() else np.empty(0)
                baseline[rows] = b
                mad[rows] = np.nanmedian(np.abs(past[rows] - b[:, None]), axis=1) if rows.any() else b
                binom_past[rows] = (np.nanmedian(b[:, None] * (1 - b[:, None]) / past_n[rows], axis=1)
                                    if rows.any() else b)
            enough = np.sum(~np.isnan(past), axis=1) >= MIN_HISTORY
            extra_var = np.maximum((MAD_SCALE * mad) ** 2 - np.nan_to_num(binom_past), 0.0)
            p0 = np.clip(baseline, 0.01, 0.99)
            scale = np.sqrt(p0 * (1 - p0) / np.where(n > 0, n, np.nan) + extra_var)
            observed = share
            frame["x"] = share
        z = np.where(enough & (scale > 0), (observed - baseline) / scale, np.nan)
        frame["x"] = observed
        shifted = frame.groupby("brand", sort=False)["x"].shift(1)  # the previous periods of the same brand
        window = shifted.groupby(frame["brand"], sort=False).rolling(_SIMPLE_WINDOW, min_periods=_SIMPLE_WINDOW)
        s_mean = window.mean().reset_index(level=0, drop=True).reindex(frame.index)
        s_std = window.std().reset_index(level=0, drop=True).reindex(frame.index)
        simple_z = (frame["x"] - s_mean) / s_std.where(s_std > 0)
    frame["metric"], frame["period"] = metric, period
    frame["observed"], frame["baseline"], frame["scale"], frame["z"] = observed, baseline, scale, z
    frame["simple_baseline"], frame["simple_std"], frame["simple_z"] = s_mean, s_std, simple_z
    return frame[SERIES_COLUMNS]


def alert_series(
    con: duckdb.DuckDBPyConnection,
    *,
    model_id: str,
    metric: str = "volume",
    period: str = "day",
    brands: Sequence[str] | None = None,
    as_of: dt.datetime | None = None,
    since: dt.datetime | None = None,
) -> pd.DataFrame:
    """The scored series of one metric (for the alert timeline): :func:`score_series` of the counts.

    With ``since``, the rows of periods before it may be missing or lack history; those from
    ``since`` on are the same as without it (their history, :data:`HISTORY`, is read).
    """
    start = None if since is None else since - HISTORY[period]
    counts = period_counts(con, model_id=model_id, period=period, brands=brands, as_of=as_of, start=start)
    return score_series(counts, metric=metric, period=period)


# --------------------------------------------------------------------------- alerts

def _reason(row: pd.Series) -> str:
    if row["metric"] == "volume":
        what = f"{row['observed']:.0f} posts against a baseline of {row['baseline']:.0f} (scale {row['scale']:.1f})"
        base = "median of the same weekday over the previous 6 weeks" if row["period"] == "day" else "median of the previous 8 weeks"
    else:
        what = (f"negative share {row['observed']:.0%} of {row['n_posts']:.0f} posts against a baseline of "
                f"{row['baseline']:.0%} (scale {row['scale']:.1%})")
        base = "median share of the previous 28 days, binomial scale" if row["period"] == "day" else "median share of the previous 8 weeks"
    simple = "the 7-period mean + k·std rule fires too" if row["simple_fired"] else "the 7-period mean + k·std rule does not fire"
    return f"{what}: robust z = {row['z']:.1f} ≥ {row['threshold']:.1f} ({base}); {simple}"


def detect_alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    rules: pd.DataFrame | None = None,
    model_id: str,
    as_of: dt.datetime | None = None,
    since: dt.datetime | None = None,
    with_topics: bool = True,
    brands: Sequence[str] | None = None,
    series: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Alerts fired by the rules on every brand (or ``brands``) and period up to ``as_of``.

    Parameters
    ----------
    con : duckdb connection
        Workspace with posts and predictions of ``model_id``.
    rules : DataFrame, optional
        Rules (columns as :func:`list_rules`); default the enabled stored rules, or
        :func:`default_rules` when none are stored.
    model_id : str
        Predictions used for negative share.
    as_of : datetime, optional
        Only posts before it count (default: all).
    since : datetime, optional
        Only alerts for periods starting at or after it.
    with_topics : bool, default True
        Attach the topic driving each alert (when topics are stored; :func:`attach_topics`).
    brands : sequence of str, optional
        Only these brands' alerts (the same as among all brands, computed for them alone).
    series : dict, optional
        Filled with the scored series of each ``(metric, period)`` the rules use (:func:`alert_series`),
        so a caller drawing an alert's timeline does not score them again.

    Returns
    -------
    DataFrame
        Columns :data:`ALERT_COLUMNS`, newest first. ``size`` is the excess over the baseline
        in posts (for negative share: negative posts above ``baseline * n_posts``);
        ``fired_by`` is ``"robust"``. ``reason`` says in words why it fired.
    """
    if rules is None:
        rules = list_rules(con, enabled_only=True)
        if rules.empty:
            rules = default_rules()
    if "enabled" in rules.columns:
        rules = rules[rules["enabled"].fillna(True).astype(bool)]
    pieces = []
    cache: dict[tuple[str, str], pd.DataFrame] = {} if series is None else series
    for rule in rules.to_dict("records"):
        metric, period = str(rule["metric"]), str(rule.get("period") or "day")
        threshold = float(rule["threshold"])
        _check_rule(metric, threshold, period)
        if (metric, period) not in cache:
            cache[(metric, period)] = alert_series(con, model_id=model_id, metric=metric, period=period, as_of=as_of,
                                                   since=since, brands=brands)
        series = cache[(metric, period)]
        brand = rule.get("brand")
        if isinstance(brand, str) and brand:
            series = series[series["brand"] == brand]
        fired = series[series["z"] >= threshold].copy()
        if since is not None:
            fired = fired[fired["period_start"] >= pd.Timestamp(since)]
        if fired.empty:
            continue
        fired["rule_id"], fired["threshold"] = rule.get("rule_id"), threshold
        fired["simple_fired"] = (fired["simple_z"] >= threshold).fillna(False)
        pieces.append(fired)
    if not pieces:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    alerts = pd.concat(pieces, ignore_index=True)
    alerts["period_end"] = alerts["period_start"] + alerts["period"].map(_STEP)
    alerts["fired_by"] = "robust"
    alerts["size"] = np.where(
        alerts["metric"] == "volume",
        alerts["observed"] - alerts["baseline"],
        (alerts["observed"] - alerts["baseline"]) * alerts["n_posts"],
    )
    alerts["reason"] = alerts.apply(_reason, axis=1)
    alerts["topic_method"], alerts["topic_id"], alerts["topic_label"], alerts["topic_excess_share"] = None, None, None, np.nan
    if with_topics:
        alerts = attach_topics(con, alerts, model_id=model_id)
    return alerts.sort_values(["period_start", "z"], ascending=[False, False], ignore_index=True)[ALERT_COLUMNS]


def attach_topics(con: duckdb.DuckDBPyConnection, alerts: pd.DataFrame, *, model_id: str) -> pd.DataFrame:
    """``alerts`` with the topic that gained most share in each spike against the
    :data:`DRIVER_BASELINE_DAYS` days before (when topics are stored): one query per alert, so a
    page attaches them to the alerts it shows, not to ten years of them."""
    alerts = alerts.copy()
    if alerts.empty:
        return alerts
    method = preferred_method(con)
    if method:
        for i, row in alerts.iterrows():  # one query per alert (a handful), not per post
            start = row["period_start"].to_pydatetime()
            top = topic_growth(con, method=method, start=start, end=row["period_end"].to_pydatetime(),
                               baseline_start=start - dt.timedelta(days=DRIVER_BASELINE_DAYS), brands=[row["brand"]],
                               model_id=model_id, negatives_only=row["metric"] == "negative_share")
            if len(top):
                alerts.at[i, "topic_method"] = method
                alerts.at[i, "topic_id"] = int(top.iloc[0]["topic_id"])
                alerts.at[i, "topic_label"] = top.iloc[0]["label"]
                alerts.at[i, "topic_excess_share"] = float(top.iloc[0]["share_change"])
    return alerts


def in_selection(alerts: pd.DataFrame, *, brands: Sequence[str] | None = None,
                 start: dt.datetime | None = None) -> pd.DataFrame:
    """The alerts of :func:`detect_alerts` about ``brands`` whose period starts at or after ``start``."""
    keep = pd.Series(True, index=alerts.index)
    if brands:
        keep &= alerts["brand"].isin(list(brands))
    if start is not None:
        keep &= alerts["period_start"] >= pd.Timestamp(start)
    return alerts[keep]


def alert_posts(
    con: duckdb.DuckDBPyConnection,
    *,
    brand: str,
    metric: str,
    start: dt.datetime,
    end: dt.datetime,
    model_id: str,
    limit: int = 200,
) -> pd.DataFrame:
    """The posts behind an alert: the brand's posts in ``[start, end)`` (negatives only for share).

    Returns ``post_id, created_at, text, label, confidence`` — raw text; mask before display.
    """
    check_choice("metric", metric, METRICS)
    neg = "AND pr.label = 'negative'" if metric == "negative_share" else ""
    return con.execute(
        f"""
        SELECT p.post_id, p.created_at, p.text, pr.label,
               greatest(pr.p_negative, pr.p_neutral, pr.p_positive) AS confidence
        FROM posts p JOIN predictions pr ON pr.post_id = p.post_id AND pr.model_id = ?
        WHERE p.brand = ? AND p.created_at >= ? AND p.created_at < ? {neg}
        ORDER BY confidence DESC, p.created_at LIMIT ?
        """,
        [model_id, brand, start, end, int(limit)],
    ).df()


def count_open_alerts(con: duckdb.DuckDBPyConnection, *, model_id: str, as_of: dt.datetime | None = None) -> int:
    """Alerts fired in the :data:`OPEN_DAYS` days before ``as_of`` (default: after the newest post's day)."""
    if as_of is None:
        newest = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        if newest is None:
            return 0
        as_of = pd.Timestamp(newest).floor("D").to_pydatetime() + dt.timedelta(days=1)
    alerts = detect_alerts(con, model_id=model_id, as_of=as_of,
                           since=as_of - dt.timedelta(days=OPEN_DAYS), with_topics=False)
    return int(len(alerts))
