"""Brand KPIs -- volume, share of voice, sentiment shares and net sentiment -- raw and corrected.

Every share is given twice: *raw* (classify and count: the share of posts the model
puts in the class) and *corrected* for the model's measured confusion on the
workspace's labelled posts (a quantifier from :mod:`analytics.quantify`), each with a
95% bootstrap interval. All aggregation runs in DuckDB: one ``GROUP BY`` per call gives
each brand x period's counts, posterior sums and posterior cross-products (the
sufficient statistics the quantifiers and their bootstraps need); Python only handles
the resulting per-group arrays.

The result is one :class:`BrandKPIs` object with ``.overall`` (every selected brand
pooled), ``.by_group`` (a DataFrame, one row per brand x period) and ``.to_records()``
(the ``brandlens kpis --json`` shape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics.core.bootstrap import DEFAULT_N_BOOT
from analytics.core.errors import BrandLensError
from analytics.quantify import DEFAULT_METHOD, METHODS, GroupOutputs, GroupPrevalence, make_quantifier, quantify_groups
from analytics.core.estimate import Estimate, interval_columns, too_few_text
from analytics.evaluation.labelled import labelled_predictions
from analytics.store.filters import post_filter
from analytics.core.labels import CLASSES
from analytics.core.checks import check_choice
from analytics.brand.periods import PERIODS


EMQ_BIN = 50
"""EMQ reads posteriors binned to 1/EMQ_BIN per class (<= 1,326 distinct rows per group)."""

_PERIOD_SQL = {
    "all": "NULL::TIMESTAMP",
    "day": "date_trunc('day', po.created_at)",
    "week": "date_trunc('week', po.created_at)",
    "month": "date_trunc('month', po.created_at)",
}

def _period_expr(period: str, split_at: dt.datetime | None, start: dt.datetime | None) -> tuple[str, list]:
    """SQL of the period column (and its parameters): a truncation, or two windows split at ``split_at``."""
    if split_at is None:
        return _PERIOD_SQL[period], []
    if period != "all" or start is None:
        raise ValueError("split_at needs period='all' and a start")
    return "CASE WHEN po.created_at >= ? THEN ?::TIMESTAMP ELSE ?::TIMESTAMP END", [split_at, split_at, start]


_CRISP_SQL = (
    "CASE WHEN pr.p_negative >= pr.p_neutral AND pr.p_negative >= pr.p_positive THEN 0 "
    "WHEN pr.p_neutral >= pr.p_positive THEN 1 ELSE 2 END"
)

NO_PREDICTIONS = "no posts scored by model {model!r} match the filters{where}"

MIN_PERIOD_POSTS = 30
"""Fewest posts of a brand in a period behind a headline figure (net sentiment, a share).

A share's interval is a percentile bootstrap of a proportion: ``benchmarks/small_n.py`` measured
its coverage of the true value at 0.53-0.67 for n = 5, 0.78-0.83 for 10, 0.87-0.91 for 15-20 and
0.90-0.96 from 30 (one post gives "95% CI -1.00 to -1.00"). Below it a headline tile says
"too few posts (n = 1): needs 30" (:attr:`BrandKPI.too_few`) instead of a figure."""


@dataclass(frozen=True)
class ShareKPI:
    """One share (or net sentiment), raw and corrected, each with its 95% interval."""

    raw: Estimate
    corrected: Estimate
    method: str

    def to_dict(self) -> dict[str, object]:
        return {"raw": self.raw.to_dict(), "corrected": {**self.corrected.to_dict(), "method": self.method}}


@dataclass(frozen=True)
class BrandKPI:
    """The KPIs of one brand (``None``: the selected brands pooled) in one period (``None``: all)."""

    brand: str | None
    period: pd.Timestamp | None
    n: int
    share: dict[str, ShareKPI]
    net_sentiment: ShareKPI
    share_of_voice: float

    @property
    def too_few(self) -> str | None:
        """Why this group's shares are no headline figure ("too few posts (n = 1): needs 30"), or ``None``."""
        return too_few_text(self.n, MIN_PERIOD_POSTS, "posts") if self.n < MIN_PERIOD_POSTS else None

    def to_dict(self, *, with_period: bool = False) -> dict[str, object]:
        """The ``brandlens kpis --json`` object of this brand (``period`` added when asked; ``note`` when
        the group has fewer than :data:`MIN_PERIOD_POSTS` posts)."""
        out: dict[str, object] = {
            "brand": self.brand,
            "n": int(self.n),
            "share": {c: self.share[c].to_dict() for c in CLASSES},
            "net_sentiment": self.net_sentiment.to_dict(),
            "share_of_voice": float(self.share_of_voice),
        }
        if self.too_few:
            out["note"] = self.too_few
        if with_period:
            out["period"] = None if self.period is None else self.period.date().isoformat()
        return out


@dataclass(frozen=True)
class CorrectionNote:
    """Which labelled data the correction rests on, and whether it fell back to raw counts."""

    requested_method: str
    method: str
    model_id: str
    n_labelled: int
    labelled_counts: dict[str, int]
    origins: dict[str, int]
    brands: tuple[str, ...]
    fallback_reason: str | None = None
    basis: dict[str, int] = field(default_factory=dict)
    """Labels by kind (:func:`label_basis`): ``source``, ``random-queue``, ``held-out``, ``cross-fitted``..."""
    excluded: dict[str, int] = field(default_factory=dict)
    """Scored posts the KPIs left out, by reason (``language:xx``, ``off_topic``)."""
    unmeasured: dict[str, int] = field(default_factory=dict)
    """Counted posts in languages the model reads but was never evaluated on, by language."""
    random_labels_needed: int = 0
    """About how many more representative (random) labels the correction needs to switch on."""

    @property
    def fell_back(self) -> bool:
        return self.fallback_reason is not None

    @property
    def kind(self) -> str:
        """What the "corrected" figures are: ``"corrected"``, or ``"raw"`` when the correction is off."""
        return "raw" if self.fell_back else "corrected"

    def banner(self) -> str:
        """The one sentence a page shows when the correction is off ('' when it is on)."""
        if not self.fell_back:
            return ""
        return f"Shown raw, the correction is off: {self.fallback_reason}."

    def excluded_text(self) -> str:
        """What the KPIs left out, in words ('' when nothing)."""
        if not self.excluded:
            return ""
        parts = ", ".join(f"{n:,} {k.replace('language:', 'in language ').replace('off_topic', 'not about the brand')}"
                          for k, n in self.excluded.items())
        return f" Left out: {parts} (the model does not read those languages)."

    def unmeasured_text(self) -> str:
        """Which counted posts are in languages whose quality nobody measured ('' when none)."""
        if not self.unmeasured:
            return ""
        total = sum(self.unmeasured.values())
        top = ", ".join(f"{k} {n:,}" for k, n in list(self.unmeasured.items())[:6])
        more = " ..." if len(self.unmeasured) > 6 else ""
        return (f" Counted without measured quality: {total:,} posts in languages the model reads but was "
                f"never evaluated on ({top}{more}); label some to measure them.")

    def text(self) -> str:
        """One sentence for pages and reports."""
        if self.fallback_reason:
            return f"No correction: {self.fallback_reason}." + self.excluded_text() + self.unmeasured_text()
        counts = ", ".join(f"{v} {k}" for k, v in self.labelled_counts.items())
        origins = ", ".join(f"{k} ({v})" for k, v in self.origins.items())
        brands = ", ".join(self.brands[:8]) + (" ..." if len(self.brands) > 8 else "")
        return (
            f"Corrected with {self.method} for model {self.model_id!r}, using its measured confusion on "
            f"{self.n_labelled} labelled posts ({counts}); labels from {origins}"
            + (f" ({', '.join(f'{k} {v}' for k, v in self.basis.items())})" if self.basis else "")
            + f"; brands: {brands}." + self.excluded_text() + self.unmeasured_text()
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "requested_method": self.requested_method, "method": self.method, "model_id": self.model_id,
            "n_labelled": self.n_labelled, "labelled_counts": self.labelled_counts, "origins": self.origins,
            "brands": list(self.brands), "fallback_reason": self.fallback_reason,
            "label_basis": self.basis, "excluded": self.excluded, "unmeasured_languages": self.unmeasured,
            "random_labels_needed": self.random_labels_needed,
        }


def correction_shortfall(labelled: pd.DataFrame, n_active: int) -> tuple[str, int] | None:
    """Why the correction cannot rest on ``labelled`` (:func:`correction_labels`), in words, and about
    how many more random labels it needs; ``None`` when it can.

    Only representative labels measure the model's error: the export's own, people's, and the
    Labelling page's random picks. The queue's other picks (``n_active``, three in four) were
    chosen for being informative and do not count, which is why 60 queue labels give about 15.
    """
    from analytics.labelling.queue import RANDOM_SHARE
    from analytics.quantify.base import MIN_LABELLED, MIN_PER_CLASS

    n = len(labelled)
    counts = labelled["gold"].value_counts().reindex(list(CLASSES), fill_value=0) if n else pd.Series(0, CLASSES)
    where = ("label about {k:,} more random posts on the Labelling page (its \"random posts\" mode; "
             f"otherwise one queue post in {round(1 / RANDOM_SHARE)} is random)")
    active = (f"; the queue's other {n_active:,} labels were picked to teach the model, not at random, so they "
              "cannot measure its error") if n_active else ""
    if n < MIN_LABELLED:
        k = MIN_LABELLED - n
        return (f"it needs {MIN_LABELLED} random (representative) labels and has {n:,}{active}; "
                + where.format(k=k), k)
    short = {c: int(v) for c, v in counts.items() if v < MIN_PER_CLASS}
    if short:
        # random labels of a rare class come at its share of the labels so far
        k = max(int(np.ceil((MIN_PER_CLASS - v) * n / max(v, 1))) for v in short.values())
        have = ", ".join(f"{c} {v}" for c, v in short.items())
        return (f"it needs {MIN_PER_CLASS} random labels of every class and has {have}; " + where.format(k=k), k)
    return None



@dataclass(frozen=True)
class BrandKPIs:
    """KPIs of several brands (and periods): ``.overall``, ``.by_group``, ``.to_records()``.

    Attributes
    ----------
    overall : BrandKPI
        Every selected brand pooled, over the whole time range.
    groups : tuple of BrandKPI
        One per brand x period, ordered by brand then period.
    period : str
        ``"all"``, ``"day"``, ``"week"`` or ``"month"``.
    correction : CorrectionNote
        The labelled data behind the corrected figures.
    """

    overall: BrandKPI
    groups: tuple[BrandKPI, ...]
    period: str
    correction: CorrectionNote
    _frame: pd.DataFrame = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def by_group(self) -> pd.DataFrame:
        """One row per brand x period: ``brand, period, n, share_of_voice`` and, for each of
        ``negative, neutral, positive, net``, columns ``<x>_raw[_lo|_hi]`` and ``<x>_corrected[_lo|_hi]``."""
        return self._frame.copy()

    def to_records(self) -> list[dict[str, object]]:
        """The JSON list ``brandlens kpis --json`` prints (``period`` key only when not ``all``)."""
        return [g.to_dict(with_period=self.period != "all") for g in self.groups]

    def brand(self, brand: str) -> BrandKPIs:
        """The same result restricted to one brand's rows (overall unchanged)."""
        keep = tuple(g for g in self.groups if g.brand == brand)
        return BrandKPIs(self.overall, keep, self.period, self.correction,
                         self._frame[self._frame["brand"] == brand].reset_index(drop=True))


def correction_labels(
    con: duckdb.DuckDBPyConnection, model_id: str, *, min_label_confidence: float | None = None
) -> pd.DataFrame:
    """The labelled posts a KPI correction of ``model_id`` rests on.

    Never the labels the model was trained on (an adapted model's training labels count only
    with out-of-fold probabilities, cross-fitting), never the queue's actively chosen labels
    (not a sample of the posts), and only posts in languages the model reads.
    """
    return labelled_predictions(con, model_id, min_label_confidence=min_label_confidence, trained="cross-fitted",
                                representative_only=True, readable_only=True)


def label_basis(labelled: pd.DataFrame) -> dict[str, int]:
    """Counts of the kinds of labels a frame of :func:`labelled_predictions` rests on.

    ``held-out`` (an adapted model's hold-out), ``cross-fitted`` (its training labels, out of
    fold), ``random-queue``, ``active-queue``, ``explorer``, ``file`` (people's labels) and
    ``source`` (the export's own labels).
    """
    if labelled.empty:
        return {}
    split = labelled["split"].fillna("") if "split" in labelled else pd.Series("", index=labelled.index)
    chosen = labelled["chosen_by"].fillna("source") if "chosen_by" in labelled else pd.Series("source", index=labelled.index)
    names = {"queue:random": "random-queue", "queue:active": "active-queue", "person": "explorer"}
    kind = np.where(split == "holdout", "held-out",
                    np.where(split == "train", "cross-fitted", chosen.map(lambda c: names.get(c, c))))
    return {str(k): int(v) for k, v in pd.Series(kind).value_counts().items()}


def _where(
    model_id: str, brands: Sequence[str] | None, start: dt.datetime | None, end: dt.datetime | None,
    readable_only: bool = True,
) -> tuple[str, list]:
    clauses, params = post_filter(brands=brands, start=start, end=end, alias="po")
    if readable_only:
        clause, extra = readable_posts_sql("po", model_id)
        clauses.append(clause)
        params.extend(extra)
    if brands is not None and not list(brands):
        clauses.append("FALSE")  # an empty brand list selects no brand (post_filter reads it as every brand)
    return " AND ".join(["pr.model_id = ?", "po.brand IS NOT NULL", *clauses]), [model_id, *params]


def readable_posts_sql(alias: str = "po", model_id: str = "default") -> tuple[str, list]:
    """SQL condition (and parameters) of the posts KPIs count by default.

    Left out: posts detected in a language ``model_id`` does not read
    (:func:`analytics.models.languages.covered_languages`; undetermined ones stay) and posts a
    person marked as not about the brand (``label_skips``, reason ``off_topic``).
    """
    from analytics.models.languages import language_sql

    clause, params = language_sql(alias, model_id)
    return (
        f"{clause} AND {alias}.post_id NOT IN (SELECT post_id FROM label_skips WHERE reason = 'off_topic')",
        params,
    )


def unmeasured_counts(
    con: duckdb.DuckDBPyConnection, model_id: str, *, brands: Sequence[str] | None = None,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> dict[str, int]:
    """Counted posts in languages the model reads but whose quality was never measured, by language."""
    from analytics.models.languages import language_sql

    where, params = _where(model_id, brands, start, end, readable_only=True)
    measured, measured_params = language_sql("po", model_id, which="measured")
    return _counts_by(con, "po.detected_language", f"{where} AND NOT ({measured})", [*params, *measured_params])


def excluded_counts(
    con: duckdb.DuckDBPyConnection, model_id: str, *, brands: Sequence[str] | None = None,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> dict[str, int]:
    """Scored posts in the selection that KPIs leave out, by reason (``language:xx`` or ``off_topic``)."""
    where, params = _where(model_id, brands, start, end, readable_only=False)
    readable, readable_params = readable_posts_sql("po", model_id)
    reason = ("CASE WHEN po.post_id IN (SELECT post_id FROM label_skips WHERE reason = 'off_topic') THEN 'off_topic' "
              "ELSE 'language:' || po.detected_language END")
    return _counts_by(con, reason, f"{where} AND NOT ({readable})", [*params, *readable_params])


def _counts_by(con: duckdb.DuckDBPyConnection, key_sql: str, where: str, params: list) -> dict[str, int]:
    """Scored posts (``po`` joined to their predictions) matching ``where``, counted by ``key_sql``, largest first."""
    rows = con.execute(
        f"""
        SELECT {key_sql}, count(*)
        FROM posts po JOIN predictions pr ON pr.post_id = po.post_id
        WHERE {where}
        GROUP BY 1 ORDER BY 2 DESC, 1
        """,
        params,
    ).fetchall()
    return {str(r): int(n) for r, n in rows}


def _scoped(
    model_id: str, period: str, brands: Sequence[str] | None, start: dt.datetime | None,
    end: dt.datetime | None, split_at: dt.datetime | None, readable_only: bool = True,
) -> tuple[str, str, list]:
    """The period column's SQL, the WHERE clause and their parameters (in that order) of a KPI query."""
    check_choice("period", period, PERIODS)
    where, params = _where(model_id, brands, start, end, readable_only)
    if period != "all":
        where += " AND po.created_at IS NOT NULL"
    per, per_params = _period_expr(period, split_at, start)
    return per, where, per_params + params


def group_sums(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    period: str = "all",
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    totals: bool = False,
    split_at: dt.datetime | None = None,
    readable_only: bool = True,
) -> pd.DataFrame:
    """Per brand x period counts and posterior moments from one SQL ``GROUP BY``, plus the pooled row.

    Columns: ``brand, period, n, c0..c2`` (posts per predicted class), ``s0..s2`` (sums of
    posteriors), ``q00..q22`` (sums of posterior products), ``sov``, ``pooled`` (0: a brand x
    period, 1: every brand over the whole range, 2 with ``totals``: a brand over the whole range,
    summed from its periods).
    """
    per, where, params = _scoped(model_id, period, brands, start, end, split_at, readable_only)
    names = ("p_negative", "p_neutral", "p_positive")
    sums = ", ".join(f"sum(pr.{c}) AS s{i}" for i, c in enumerate(names))
    prods = ", ".join(
        f"sum(pr.{a} * pr.{b}) AS q{i}{j}" for i, a in enumerate(names) for j, b in enumerate(names)
    )
    counts = ", ".join(f"count(*) FILTER (WHERE {_CRISP_SQL} = {i}) AS c{i}" for i in range(3))
    sql = f"""
        SELECT po.brand, {per} AS period, count(*) AS n, {counts}, {sums}, {prods}
        FROM posts po JOIN predictions pr ON pr.post_id = po.post_id
        WHERE {where}
        GROUP BY ALL ORDER BY brand, period
    """
    frame = con.execute(sql, params).df()
    frame["pooled"] = 0
    frame["sov"] = frame["n"] / frame.groupby("period", dropna=False)["n"].transform("sum")
    # every column is a sum, so the pooled row (all brands, whole range) is their total
    pooled = frame.drop(columns=["brand", "period"]).sum().to_frame().T
    pooled["brand"], pooled["period"], pooled["pooled"], pooled["sov"] = None, pd.NaT, 1, 1.0
    parts = [pooled, frame]
    if totals and period != "all":  # and each brand's whole range (pooled = 2)
        total = frame.drop(columns=["period", "sov", "pooled"]).groupby("brand", as_index=False).sum()
        total["period"], total["pooled"], total["sov"] = pd.NaT, 2, total["n"] / total["n"].sum()
        parts.append(total)
    return pd.concat(parts, ignore_index=True)[frame.columns]


def group_rows(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    period: str = "all",
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    totals: bool = False,
    split_at: dt.datetime | None = None,
    readable_only: bool = True,
) -> pd.DataFrame:
    """Binned posterior rows per brand x period (and pooled), with their post counts (for EMQ)."""
    per, where, params = _scoped(model_id, period, brands, start, end, split_at, readable_only)
    sql = f"""
        SELECT po.brand, {per} AS period, round(pr.p_negative * {EMQ_BIN}) AS bn,
               round(pr.p_positive * {EMQ_BIN}) AS bp, count(*) AS w
        FROM posts po JOIN predictions pr ON pr.post_id = po.post_id
        WHERE {where}
        GROUP BY ALL
    """
    rows = con.execute(sql, params).df()
    rows["pooled"] = 0
    pooled = rows.groupby(["bn", "bp"], as_index=False)["w"].sum()
    pooled["brand"], pooled["period"], pooled["pooled"] = None, pd.NaT, 1
    parts = [rows, pooled[rows.columns]]
    if totals and period != "all":
        total = rows.groupby(["brand", "bn", "bp"], as_index=False)["w"].sum()
        total["period"], total["pooled"] = pd.NaT, 2
        parts.append(total[rows.columns])
    return pd.concat(parts, ignore_index=True)


def brand_kpis(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    brands: Sequence[str] | None = None,
    period: str = "all",
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    min_label_confidence: float | None = None,
    labelled: pd.DataFrame | None = None,
    all_languages: bool = False,
) -> BrandKPIs:
    """Volume, share of voice, sentiment shares and net sentiment per brand (and period).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open workspace.
    model_id : str
        Whose predictions to count (``predictions.model_id``).
    brands : sequence of str, optional
        Brands to report (share of voice is within them); all brands when omitted.
    period : {"all", "day", "week", "month"}, default "all"
        Time granularity.
    start, end : datetime or date, optional
        Time range, ``start <= created_at < end`` (UTC).
    method : str, default :data:`analytics.quantify.DEFAULT_METHOD`
        The correction, a name from :data:`analytics.quantify.METHODS`.
    n_boot : int, default 1000
        Bootstrap resamples behind every interval.
    random_state : int or None, default 0
        Seed of the bootstrap.
    min_label_confidence : float, optional
        Ignore labelled posts whose annotator confidence is lower.
    labelled : DataFrame, optional
        The result of :func:`correction_labels` for ``model_id``, when the caller already has it
        (saves a scan). Every representative labelled post of the workspace counts, whatever the
        filters, because the confusion is a property of the model, not of a brand or week.
    all_languages : bool, default False
        Count posts in languages the model was not trained on too (left out by default; the
        correction note says how many were left out).

    Returns
    -------
    BrandKPIs

    Raises
    ------
    BrandLensError
        When no scored post matches the filters.
    """
    return _compute(con, model_id, brands=brands, period=period, start=start, end=end, method=method,
                    n_boot=n_boot, random_state=random_state, min_label_confidence=min_label_confidence,
                    labelled=labelled, readable_only=not all_languages)[0]


def brand_kpis_with_totals(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    period: str,
    brands: Sequence[str] | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    min_label_confidence: float | None = None,
    labelled: pd.DataFrame | None = None,
    all_languages: bool = False,
) -> tuple[BrandKPIs, BrandKPIs]:
    """:func:`brand_kpis` by ``period`` and over the whole range, from one query and one bootstrap.

    The whole-range figures are summed from the periods (counts and posterior sums add up),
    so posts without a time are left out of both. Pages use it to draw trends and totals
    together at the cost of one scan.
    """
    if period == "all":
        raise ValueError("period must be 'day', 'week' or 'month' here; use brand_kpis for 'all'")
    over_time, whole = _compute(con, model_id, brands=brands, period=period, start=start, end=end, method=method,
                                n_boot=n_boot, random_state=random_state,
                                min_label_confidence=min_label_confidence, totals=True, labelled=labelled,
                                readable_only=not all_languages)
    return over_time, whole


def brand_kpis_two_periods(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    start: dt.datetime,
    split_at: dt.datetime,
    end: dt.datetime,
    brands: Sequence[str] | None = None,
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    labelled: pd.DataFrame | None = None,
) -> tuple[BrandKPIs, BrandKPIs]:
    """KPIs per brand over ``[start, split_at)`` and ``[split_at, end)``, from one query and one bootstrap.

    Returns ``(previous, current)``; each one's ``by_group`` has the window's start in
    ``period`` and share of voice within the window. ``.overall`` pools both windows.
    """
    if not start < split_at < end:
        raise ValueError(f"need start < split_at < end, got {start}, {split_at}, {end}")
    both, _ = _compute(con, model_id, brands=brands, period="all", start=start, end=end, method=method,
                       n_boot=n_boot, random_state=random_state, min_label_confidence=None, labelled=labelled,
                       split_at=split_at)
    frame = both.by_group

    def window(at: dt.datetime) -> BrandKPIs:
        keep = (frame["period"] == pd.Timestamp(at)).to_numpy()
        return BrandKPIs(both.overall, tuple(g for g, k in zip(both.groups, keep) if k), "all", both.correction,
                         frame[keep].reset_index(drop=True))

    return window(start), window(split_at)


def _compute(con, model_id, *, brands, period, start, end, method, n_boot, random_state, min_label_confidence,
             totals: bool = False, labelled: pd.DataFrame | None = None,
             split_at: dt.datetime | None = None, readable_only: bool = True) -> tuple[BrandKPIs, BrandKPIs | None]:
    check_choice("method", method, METHODS)
    check_choice("period", period, PERIODS)
    if brands is not None and len(brands) == 0:
        raise ValueError("brands is empty: choose at least one brand")
    start, end = _as_datetime(start, "start"), _as_datetime(end, "end")
    filters = dict(period=period, brands=brands, start=start, end=end, totals=totals, split_at=split_at,
                   readable_only=readable_only)
    sums = group_sums(con, model_id, **filters)
    if sums.empty or sums["n"].sum() == 0:
        shown = ", ".join(str(b) for b in list(brands)[:5]) + (f" and {len(brands) - 5} more" if len(brands) > 5 else "") \
            if brands else ""
        where = f" (brands {shown})" if brands else ""
        if start is not None or end is not None:
            where += f" between {start:%Y-%m-%d}" if start is not None else " up to"
            where += f" and {end - dt.timedelta(microseconds=1):%Y-%m-%d}" if end is not None else " and now"
        raise BrandLensError(NO_PREDICTIONS.format(model=model_id, where=where))
    if labelled is None:
        labelled = correction_labels(con, model_id, min_label_confidence=min_label_confidence)
    quantifier = make_quantifier(method)
    rows: dict[str, np.ndarray | None] = {}
    if not quantifier.linear:
        rows = _binned_rows(con, model_id, sums, **filters)
    outputs = GroupOutputs.from_sums(
        sums["n"].to_numpy(),
        sums[["c0", "c1", "c2"]].to_numpy(),
        sums[["s0", "s1", "s2"]].to_numpy(),
        sums[[f"q{i}{j}" for i in range(3) for j in range(3)]].to_numpy().reshape(-1, 3, 3),
        **rows,
    )
    proba_l = labelled[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    prevalence = quantify_groups(
        quantifier, proba_l, labelled["gold"].to_numpy(dtype=object), outputs,
        n_boot=n_boot, random_state=random_state,
    )
    fallback_reason, needed = prevalence.fallback_reason, 0
    if fallback_reason is not None and quantifier.needs_labels:
        n_active = con.execute("SELECT count(*) FROM gold_labels WHERE chosen_by = 'queue:active'").fetchone()[0]
        shortfall = correction_shortfall(labelled, int(n_active))
        if shortfall is not None:
            fallback_reason, needed = shortfall
    note = CorrectionNote(
        requested_method=method,
        method=prevalence.method,
        model_id=model_id,
        n_labelled=prevalence.n_labelled,
        labelled_counts=prevalence.labelled_counts,
        origins={str(k): int(v) for k, v in labelled["gold_origin"].fillna("unknown").value_counts().items()},
        basis=label_basis(labelled),
        excluded=excluded_counts(con, model_id, brands=brands, start=start, end=end) if readable_only else {},
        unmeasured=unmeasured_counts(con, model_id, brands=brands, start=start, end=end) if readable_only else {},
        brands=tuple(str(b) for b in labelled["brand"].dropna().value_counts().index),
        fallback_reason=fallback_reason,
        random_labels_needed=needed,
    )
    frame = _frame(sums, prevalence)
    kpis = [_group_kpi(row, prevalence.method) for row in frame.to_dict("records")]
    kind = sums["pooled"].to_numpy()
    overall = kpis[int(np.flatnonzero(kind == 1)[0])]

    def part(code: int, name: str) -> BrandKPIs:
        keep = kind == code
        return BrandKPIs(overall=overall, groups=tuple(k for k, m in zip(kpis, keep) if m), period=name,
                         correction=note, _frame=frame[keep].drop(columns="pooled").reset_index(drop=True))

    return part(0, period), (part(2, "all") if totals and period != "all" else None)


def _as_datetime(value: dt.datetime | dt.date | None, name: str) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    raise ValueError(f"{name} must be a date or datetime, got {type(value).__name__}")


def _binned_rows(con: duckdb.DuckDBPyConnection, model_id: str, sums: pd.DataFrame, **filters) -> dict[str, np.ndarray]:
    binned = group_rows(con, model_id, **filters)
    keys = sums[["pooled", "brand", "period"]].assign(g=np.arange(len(sums)))
    binned = binned.merge(keys, on=["pooled", "brand", "period"], how="inner")
    neg = binned["bn"].to_numpy() / EMQ_BIN
    pos = binned["bp"].to_numpy() / EMQ_BIN
    proba = np.clip(np.column_stack([neg, 1 - neg - pos, pos]), 1e-6, None)
    proba /= proba.sum(axis=1, keepdims=True)
    return {"rows_group": binned["g"].to_numpy(np.int64), "rows_proba": proba,
            "rows_weight": binned["w"].to_numpy(float)}


def _group_kpi(row: dict[str, object], method: str) -> BrandKPI:
    def est(name: str) -> Estimate:
        return Estimate.from_columns(row, name)

    share = {c: ShareKPI(est(f"{c}_raw"), est(f"{c}_corrected"), method) for c in CLASSES}
    net = ShareKPI(est("net_raw"), est("net_corrected"), method)
    period = None if pd.isna(row["period"]) else pd.Timestamp(row["period"])
    brand = None if row["pooled"] == 1 else str(row["brand"])
    return BrandKPI(brand, period, int(row["n"]), share, net, float(row["share_of_voice"]) if brand else 1.0)


def _put(frame: pd.DataFrame, name: str, value: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Columns ``name`` and its interval (:func:`~analytics.core.estimate.interval_columns`)."""
    lo_name, hi_name = interval_columns(name)
    frame[name], frame[lo_name], frame[hi_name] = value, lo, hi


def _count_interval(share: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson intervals of ``share`` read as a proportion of ``n`` posts (elementwise; NaN where n is 0)."""
    from statsmodels.stats.proportion import proportion_confint

    from analytics.core.estimate import PROPORTION_METHOD

    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    count = np.clip(np.round(np.nan_to_num(share) * safe), 0, safe)
    lo, hi = proportion_confint(count, safe, alpha=0.05, method=PROPORTION_METHOD)
    return np.where(n > 0, np.clip(lo, 0, 1), np.nan), np.where(n > 0, np.clip(hi, 0, 1), np.nan)


def _frame(sums: pd.DataFrame, prev: GroupPrevalence) -> pd.DataFrame:
    out = sums[["brand", "period", "n", "sov", "pooled"]].rename(columns={"sov": "share_of_voice"}).copy()
    out["n"] = out["n"].astype(int)
    pos, neg = CLASSES.index("positive"), CLASSES.index("negative")
    n = out["n"].to_numpy()
    for kind, point, samples in (
        ("raw", prev.raw, prev.raw_samples),
        ("corrected", prev.corrected, prev.corrected_samples),
    ):
        lo, hi = np.quantile(samples, [0.025, 0.975], axis=0)
        wilson = [_count_interval(point[:, k], n) for k in range(len(CLASSES))]
        if kind == "raw":  # a share of n posts: Wilson's interval, valid at small n and never of zero width
            lo = np.column_stack([w[0] for w in wilson])
            hi = np.column_stack([w[1] for w in wilson])
        else:  # a corrected share whose resamples all agree (e.g. 0 of 31) still has n posts' uncertainty
            flat = (hi - lo) < 1e-9
            lo = np.where(flat, np.minimum(lo, np.column_stack([w[0] for w in wilson])), lo)
            hi = np.where(flat, np.maximum(hi, np.column_stack([w[1] for w in wilson])), hi)
        net_samples = samples[..., pos] - samples[..., neg]
        for k, c in enumerate(CLASSES):
            _put(out, f"{c}_{kind}", point[:, k], lo[:, k], hi[:, k])
        net_lo, net_hi = np.quantile(net_samples, [0.025, 0.975], axis=0)
        flat = (net_hi - net_lo) < 1e-9  # e.g. every post positive: net +1 [+1, +1] is not knowledge
        net_lo = np.where(flat, np.minimum(net_lo, wilson[pos][0] - wilson[neg][1]), net_lo)
        net_hi = np.where(flat, np.maximum(net_hi, wilson[pos][1] - wilson[neg][0]), net_hi)
        _put(out, f"net_{kind}", point[:, pos] - point[:, neg], net_lo, net_hi)
    if prev.method == "CC":  # no correction (off, or asked for): the "corrected" figures are the raw ones, exactly
        for c in (*CLASSES, "net"):
            for column in (f"{c}_raw", *interval_columns(f"{c}_raw")):
                out[column.replace("_raw", "_corrected")] = out[column]
    out["method"] = prev.method
    return out
