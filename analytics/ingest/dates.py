"""Parse the time column of an export into naive UTC timestamps.

Exports write times in many ways. :func:`infer_time_format` looks at a sample of the
column's values and picks one format for the whole file:

* ISO 8601 (``2015-02-24T11:35:52-08:00``, ``2015-02-24 11:35``), offsets honoured;
* epoch seconds (``1424777752``) or milliseconds (``1424777752000``);
* day-first or month-first dates with ``-``, ``/`` or ``.`` between the parts and a ``:``
  or ``.`` between hours and minutes (``24-02-2015 11.35``, ``02/24/2015 11:35 AM``);
* month names (``December 24, 2012``, ``24 Dec 2012 08:15``);
* Twitter's API form (``Tue Feb 24 11:35:52 +0000 2015``).

A column written several ways (ISO here, ``24/02/2015 11:35`` there, epoch seconds
elsewhere: exports merged from several tools) gets several formats, tried in turn for each
value: the pattern is their list joined by ``|`` (``ISO8601|%d/%m/%Y %H:%M|epoch-seconds``),
which ``--time-format`` accepts too.

When every sampled value reads equally well day-first and month-first (all parts <= 12)
the order cannot be told from the data and :func:`infer_time_format` raises, asking for an
explicit ``time_format`` (a :func:`time.strftime` pattern). Values that carry an offset are
converted to UTC; values without one are taken to be UTC already. The result is a naive
``datetime64[ns]`` series holding UTC, as the store expects; unparseable values are ``NaT``.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass

import pandas as pd

ISO = "ISO8601"
EPOCH_SECONDS = "epoch-seconds"
EPOCH_MILLISECONDS = "epoch-milliseconds"

_SAMPLE = 2000
FIRST_DAY, LAST_DAY = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
"""The dates a post may carry (the store's nanosecond timestamps): 1677-09-22 to 2262-04-11."""

_NUMERIC = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")

_TIMES = ("", " %H:%M", " %H.%M", " %H:%M:%S", " %H.%M.%S", " %I:%M %p", " %I:%M:%S %p")
_DAY_FIRST = tuple(f"%d{s}%m{s}%Y" for s in "-/.")
_MONTH_FIRST = tuple(f"%m{s}%d{s}%Y" for s in "-/.")
_YEAR_FIRST = tuple(f"%Y{s}%m{s}%d" for s in "/.")
_MONTH_NAMES = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%d-%b-%Y")
_OTHER = ("%a %b %d %H:%M:%S %z %Y", "%Y%m%d", "%Y%m%d%H%M%S")


@dataclass(frozen=True)
class TimeFormat:
    """The format chosen for a time column.

    Attributes
    ----------
    pattern : str
        A :func:`time.strftime` pattern, or one of ``"ISO8601"``, ``"epoch-seconds"``,
        ``"epoch-milliseconds"``.
    parsed_share : float
        Share of the sampled non-empty values the pattern reads.
    """

    pattern: str
    parsed_share: float


def _candidates() -> list[str]:
    dates = _DAY_FIRST + _MONTH_FIRST + _YEAR_FIRST + _MONTH_NAMES
    return [d + t for d, t in itertools.product(dates, _TIMES)] + list(_OTHER)


def _share(values: pd.Series, pattern: str) -> float:
    return float(parse_times(values, pattern).notna().mean()) if len(values) else 0.0


def _swap_day_month(pattern: str) -> str:
    return pattern.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def infer_time_format(values: pd.Series, *, column: str = "time") -> TimeFormat | None:
    """Pick the format that reads the most of ``values`` (``None`` when nothing fits).

    Parameters
    ----------
    values : pandas.Series
        Raw string values of the time column; empty strings are ignored.
    column : str, default "time"
        Column name, for the error message.

    Returns
    -------
    TimeFormat or None
        The best format, or ``None`` when no candidate reads at least half the values.

    Raises
    ------
    ValueError
        When day-first and month-first read the values equally well: the order is ambiguous.

    Examples
    --------
    >>> infer_time_format(pd.Series(["24-02-2015 11.35", "16-02-2015 09.01"])).pattern
    '%d-%m-%Y %H.%M'
    >>> infer_time_format(pd.Series(["December 24, 2012"])).pattern
    '%B %d, %Y'
    """
    sample = values.astype(str).str.strip()
    sample = sample[sample != ""]
    if sample.empty:
        return None
    sample = sample.iloc[:_SAMPLE]
    if sample.str.match(_NUMERIC).all():
        median = float(pd.to_numeric(sample, errors="coerce").median())
        if 1e8 <= median < 1e11:
            return TimeFormat(EPOCH_SECONDS, 1.0)
        if 1e11 <= median < 1e14:
            return TimeFormat(EPOCH_MILLISECONDS, 1.0)
    iso = _share(sample, ISO)
    if iso >= 0.999:
        return TimeFormat(ISO, iso)
    best, best_share = ISO, iso
    for pattern in _candidates():
        share = _share(sample, pattern)
        if share > best_share + 1e-12:
            best, best_share = pattern, share
            if share >= 0.999:
                break
    if best_share < 0.999:
        mixed = _several_formats(sample)
        if mixed is not None and mixed.parsed_share >= max(0.5, best_share + 0.05):
            return mixed
    if best_share < 0.5:
        return None
    if "%d" in best and "%m" in best:
        swapped = _swap_day_month(best)
        if swapped != best and _share(sample, swapped) >= best_share - 1e-12:
            example = sample.iloc[0]
            raise ValueError(
                f"column {column!r}: dates such as {example!r} read both day-first and month-first; "
                f"pass an explicit time format (e.g. {best!r} or {swapped!r})"
            )
    return TimeFormat(best, best_share)


def _several_formats(sample: pd.Series) -> TimeFormat | None:
    """Formats that together read a column written several ways, chosen greedily (most values first).

    ``None`` when one format is as good. Values that a day/month format would read as well
    the other way round are left unread (never guessed).

    Examples
    --------
    >>> _several_formats(pd.Series(["2026-03-22T09:00:00", "24/02/2026 10:00", "1769688000"])).pattern
    'ISO8601|epoch-seconds|%d/%m/%Y %H:%M'
    """
    remaining, chosen = sample, []
    candidates = [ISO, EPOCH_SECONDS, EPOCH_MILLISECONDS, *_candidates()]
    for _ in range(6):
        if remaining.empty:
            break
        numeric = remaining[remaining.str.match(_NUMERIC)]
        median = float(pd.to_numeric(numeric, errors="coerce").median()) if len(numeric) else float("nan")
        best, best_read = None, 0
        for pattern in candidates:
            if pattern == EPOCH_SECONDS and not 1e8 <= median < 1e11:
                continue
            if pattern == EPOCH_MILLISECONDS and not 1e11 <= median < 1e14:
                continue
            read = int(parse_times(remaining, pattern).notna().sum())
            if read > best_read:
                best, best_read = pattern, read
        if best is None:
            break
        read = parse_times(remaining, best).notna()
        if "%d" in best and "%m" in best:
            swapped = _swap_day_month(best)
            if swapped != best and int(parse_times(remaining[read], swapped).notna().sum()) == int(read.sum()):
                break  # these could be day-first or month-first: left unread (their rows are quarantined)
        chosen.append(best)
        candidates.remove(best)
        remaining = remaining[~read]
    if len(chosen) < 2:
        return None
    return TimeFormat("|".join(chosen), 1.0 - len(remaining) / len(sample))


def parse_times(values: pd.Series, pattern: str) -> pd.Series:
    """Parse ``values`` with ``pattern`` into naive UTC ``datetime64[ns]`` (``NaT`` where unreadable).

    Parameters
    ----------
    values : pandas.Series
        Strings (or already datetime-typed values).
    pattern : str
        A strftime pattern, ``"ISO8601"``, ``"epoch-seconds"`` or ``"epoch-milliseconds"``.

    Examples
    --------
    >>> parse_times(pd.Series(["2015-02-24T11:35:00-08:00"]), "ISO8601").iloc[0]
    Timestamp('2015-02-24 19:35:00')
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
        return out.dt.tz_localize(None).astype("datetime64[ns]")
    if "|" in pattern:  # several formats: each value read by the first that can
        parts = pattern.split("|")
        out = parse_times(values, parts[0])
        for part in parts[1:]:
            missing = out.isna()
            if not missing.any():
                break
            out[missing] = parse_times(values[missing], part)
        return out
    strings = values.astype(str).str.strip()
    strings = strings.where(strings != "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pattern in (EPOCH_SECONDS, EPOCH_MILLISECONDS):
            numbers = pd.to_numeric(strings, errors="coerce")
            unit = "s" if pattern == EPOCH_SECONDS else "ms"
            out = pd.to_datetime(numbers, unit=unit, errors="coerce", utc=True)
        elif pattern == ISO:
            out = pd.to_datetime(strings, format=pattern, errors="coerce", utc=True)
        else:
            out = _strptime_arrow(strings, pattern)
            if out is None:
                out = pd.to_datetime(strings, format=pattern, errors="coerce", utc=True)
    if not pd.api.types.is_datetime64_any_dtype(out):  # all-NaT object results
        out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if out.dt.tz is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    if out.dt.unit != "ns":  # pandas reads far dates (9999-12-31) at a coarser unit: they are NaT here, not an error
        out = out.where((out >= pd.Timestamp.min) & (out <= pd.Timestamp.max))
    return out.astype("datetime64[ns]")


def out_of_range(values: pd.Series, pattern: str) -> pd.Series:
    """Which values are dates in ``pattern`` but outside :data:`FIRST_DAY` .. :data:`LAST_DAY` (``9999-12-31``).

    :func:`parse_times` reads them as ``NaT``; this tells such a row ("date out of range")
    from an unreadable one. Meant for the few values that did not parse.

    Examples
    --------
    >>> out_of_range(pd.Series(["9999-12-31", "0001-01-01", "soon", "2024-01-01"]), "ISO8601").tolist()
    [True, True, False, False]
    """
    import datetime as dt

    def far_in(text: str, one: str) -> bool:
        try:
            if one in (EPOCH_SECONDS, EPOCH_MILLISECONDS):
                seconds = float(text) / (1000 if one == EPOCH_MILLISECONDS else 1)
                return not FIRST_DAY.timestamp() <= seconds <= LAST_DAY.timestamp()
            when = dt.datetime.fromisoformat(text) if one == ISO else dt.datetime.strptime(text, one)
        except (ValueError, OverflowError):
            return False
        when = when.replace(tzinfo=None)
        return not FIRST_DAY.to_pydatetime() <= when <= LAST_DAY.to_pydatetime()

    patterns = pattern.split("|")
    return values.map(lambda value: any(far_in(str(value).strip(), one) for one in patterns)).astype(bool)


def _strptime_arrow(strings: pd.Series, pattern: str) -> pd.Series | None:
    """Arrow's strptime (about 25x faster than pandas'); ``None`` when it cannot take the pattern."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(strings.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    try:
        parsed = pc.strptime(array, format=pattern, unit="us", error_is_null=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    lo = pa.scalar(pd.Timestamp.min.ceil("us").to_pydatetime(), type=parsed.type)
    hi = pa.scalar(pd.Timestamp.max.floor("us").to_pydatetime(), type=parsed.type)
    inside = pc.and_(pc.greater_equal(parsed, lo), pc.less_equal(parsed, hi))
    parsed = pc.if_else(inside, parsed, pa.scalar(None, type=parsed.type))  # a far date is its row's problem only
    out = parsed.to_pandas()
    out.index = strings.index
    return out
