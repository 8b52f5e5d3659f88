"""The brand report: one self-contained HTML file (interactive Plotly charts) or a PDF.

:func:`build_report` gathers the figures once (executive summary, KPIs by brand and
period); :func:`write_html` and :func:`write_pdf` render them.

- HTML embeds plotly.js once (``include_plotlyjs="inline"`` on the first chart), so the
  file opens offline and carries every chart.
- PDF is drawn with matplotlib's ``PdfPages`` from the same KPI tables: it needs no
  browser. (Plotly's own static export, kaleido 1.x, drives a Chrome/Chromium binary,
  which user machines and this project's build machine do not always have.)

The chart builders are the dashboard's (:mod:`analytics.figures.brand`): plain functions
of analytics results returning Plotly figures, without Streamlit, so the report and the
pages show the same charts. analytics never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics.core.bootstrap import DEFAULT_N_BOOT
from analytics.core.errors import BrandLensError
from analytics.brand.kpis import BrandKPIs, brand_kpis_with_totals
from analytics.brand.periods import PERIODS
from analytics.quantify import DEFAULT_METHOD
from analytics.brand.summary import ExecutiveSummary, executive_summary
from analytics.core.checks import check_choice
from analytics.core.escape import html_text, matplotlib_text

FORMATS = (".html", ".pdf")

CHART_TITLES: dict[str, str] = {
    "net_sentiment": "Net sentiment over time, corrected and raw, with 95% intervals",
    "negative_share": "Negative share per brand: raw vs corrected, with 95% intervals",
    "shares": "Sentiment shares per brand (corrected)",
    "volume": "Volume over time",
    "share_of_voice": "Share of voice over time",
}
"""Every chart of the report, in order: id -> caption."""


HEADLINES: tuple[str, ...] = ("range", "day", "week", "month")
"""What the headline figures cover: the entire selected range, or its last day/week/month; each against
the period of the same length before it."""

MAX_BRAND_PAGES = 6
"""Brands with a page of their own in the PDF (ours and the largest competitors)."""

N_COMPLAINTS = 5
N_EXAMPLES = 2


@dataclass(frozen=True)
class BrandDetail:
    """What a brand's page shows: its top complaint topics and example posts (PII masked)."""

    brand: str
    complaints: pd.DataFrame  # label, negative_posts
    examples: tuple[tuple[str, str], ...]  # (predicted label, masked text)


@dataclass(frozen=True)
class Report:
    """Everything the report shows, computed once."""

    title: str
    generated_at: dt.datetime
    model_id: str
    period: str
    summary: ExecutiveSummary
    over_time: BrandKPIs
    whole_range: BrandKPIs
    headline_label: str = "last week"
    details: tuple[BrandDetail, ...] = ()
    alerts: pd.DataFrame | None = None

    @property
    def kind(self) -> str:
        """``"corrected"`` when the correction ran, else ``"raw"``: charts are titled by what they show."""
        return "raw" if self.whole_range.correction.fell_back else "corrected"

    def figures(self) -> dict[str, object]:
        """The Plotly figures by chart id (keys of :data:`CHART_TITLES`)."""
        from analytics.figures import brand as charts

        kinds = ("raw",) if self.kind == "raw" else ("corrected", "raw")
        return {
            "net_sentiment": charts.net_sentiment_chart(self.over_time.by_group, kinds=kinds),
            "negative_share": charts.share_comparison_chart(self.whole_range.by_group, cls="negative"),
            "shares": charts.shares_chart(self.whole_range.by_group, kind=self.kind),
            "volume": charts.volume_chart(self.over_time.by_group),
            "share_of_voice": charts.share_of_voice_chart(self.over_time.by_group),
        }

    def chart_title(self, chart_id: str) -> str:
        """:data:`CHART_TITLES` said for what this report shows (raw when the correction is off)."""
        title = CHART_TITLES[chart_id]
        if self.kind == "raw":
            title = (title.replace(", corrected and raw", " (raw: the correction is off)")
                     .replace(": raw vs corrected", " (raw: the correction is off)")
                     .replace("(corrected)", "(raw)"))
        return title

    def headline(self) -> list[tuple[str, str, str | None, str | None]]:
        """(label, value, change, interval) rows of the headline table; a missing change says why."""
        from analytics.figures.brand import kpi_cards

        s = self.summary
        no_change = "no posts in the period before" if s.ours_before is None else None
        rows = [(c.label, c.value, c.delta or no_change, c.interval)
                for c in kpi_cards(s.ours, s.ours_before, kind=self.kind)]
        if s.rising_topic is not None:
            t = s.rising_topic
            rows.append(("Top rising complaint", t.label, f"{t.change:+d} negative posts", f"{t.current} this period"))
        if s.open_alerts is not None:
            rows.append(("Open alerts", str(s.open_alerts), None, None))
        return rows

    def period_text(self) -> str:
        s = self.summary
        return (f"{self.headline_label}: {s.start:%Y-%m-%d} to {(s.end - dt.timedelta(days=1)):%Y-%m-%d}, "
                "against the period of the same length before")


def _headline_bounds(con: duckdb.DuckDBPyConnection, start: dt.datetime | None, end: dt.datetime | None,
                     headline: str) -> tuple[dt.datetime, dt.datetime]:
    from analytics.brand.periods import window_start
    from analytics.store import lookups

    lo, hi = lookups.time_bounds(con)
    if hi is None:
        raise BrandLensError("the workspace has no dated posts")
    end_dt = end or dt.datetime.combine(hi.date(), dt.time()) + dt.timedelta(days=1)
    first = start or dt.datetime.combine(lo.date(), dt.time())
    if headline == "range":
        return first, end_dt
    return max(first, window_start(end_dt, headline)), end_dt


def brand_details(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    brands: Sequence[str],
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> tuple[BrandDetail, ...]:
    """Top complaint topics (negative posts per topic) and example posts of each brand, texts masked.

    The examples are the model's most confident negative and positive posts; masking is on
    whatever the workspace's setting, since a report leaves the dashboard.
    """
    from dataclasses import replace

    from analytics.brand.explorer import search_posts
    from analytics.brand.topics import preferred_method, topic_sentiment_by_brand
    from analytics.privacy import masker_for

    masker = replace(masker_for(con), enabled=True)
    method = preferred_method(con)
    by_topic = (topic_sentiment_by_brand(con, method=method, model_id=model_id, brands=list(brands), start=start, end=end)
                if method else pd.DataFrame(columns=["label", "brand", "posts", "negative"]))
    details = []
    for brand in brands:
        part = by_topic[by_topic["brand"] == brand]
        complaints = (part.assign(negative_posts=(part["posts"] * part["negative"]).round().astype(int),
                                  label=part["label"].fillna("(unnamed topic)").astype(str))
                      .query("negative_posts > 0")
                      .sort_values(["negative_posts", "label"], ascending=[False, True])
                      .head(N_COMPLAINTS)[["label", "negative_posts"]].reset_index(drop=True))
        examples = []
        for label in ("negative", "positive"):
            rows = search_posts(con, model_id=model_id, brands=[brand], start=start, end=end, labels=[label],
                                sort="confidence_desc", page_size=N_EXAMPLES).rows
            examples += [(label, masker(str(t)) or "") for t in rows["text"]]
        details.append(BrandDetail(brand, complaints, tuple(examples)))
    return tuple(details)


def build_report(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    our_brand: str | None = None,
    brands: Sequence[str] | None = None,
    period: str | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    headline: str | None = None,
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
) -> Report:
    """Compute the report's figures for exactly the given filters.

    ``start``/``end`` bound every figure (``start <= created_at < end``; default the whole
    workspace). ``headline`` is what the headline figures cover: ``"range"`` (all of it) or
    its last ``"day"``, ``"week"`` or ``"month"``, each against the same length before;
    ``period`` is the charts' time axis (default: readable for the range, see
    :func:`analytics.brand.periods.auto_period`). Called with ``period`` only (the CLI,
    the e-mail digest), the headline is the last ``period``, as before.
    ``our_brand`` defaults to the workspace setting ``our_brand``, else the brand with most posts.
    """
    from analytics.brand.alerts import detect_alerts, in_selection
    from analytics.brand.periods import auto_period
    from analytics.store import get_setting

    if headline is None:
        headline = period if period is not None else "range"
    check_choice("headline", headline, HEADLINES)
    start_dt, end_dt = _as_dt(start), _as_dt(end)
    if our_brand is None:
        our_brand = get_setting(con, "our_brand")
    if our_brand is None:
        row = con.execute(
            "SELECT brand FROM posts WHERE brand IS NOT NULL GROUP BY brand ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise BrandLensError("the workspace has no posts with a brand")
        our_brand = row[0]
    if brands is not None and our_brand not in brands:
        brands = [our_brand, *brands]
    first, last = _headline_bounds(con, start_dt, end_dt, headline)
    if period is None:
        period = auto_period(*_headline_bounds(con, start_dt, end_dt, "range"))
    check_choice("period", period, [p for p in PERIODS if p != "all"])
    kw = dict(brands=brands, method=method, n_boot=n_boot, random_state=random_state)
    over_time, whole = brand_kpis_with_totals(con, model_id, period=period, start=start_dt, end=end_dt, **kw)
    summary = executive_summary(con, model_id, our_brand=our_brand, start=first, end=last, **kw)
    shown = [our_brand, *[b for b in whole.by_group.sort_values("n", ascending=False)["brand"].astype(str)
                          if b != our_brand]][:MAX_BRAND_PAGES]
    try:
        alerts = in_selection(detect_alerts(con, model_id=model_id, as_of=end_dt, since=start_dt, with_topics=False,
                                            brands=brands), brands=brands, start=start_dt)
    except (BrandLensError, ValueError, duckdb.Error):
        alerts = None
    return Report(
        title=f"BrandLens report: {our_brand}",
        generated_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        model_id=model_id,
        period=period,
        summary=summary,
        over_time=over_time,
        whole_range=whole,
        headline_label="entire selected range" if headline == "range" else f"last {headline}",
        details=brand_details(con, model_id, shown, start=start_dt, end=end_dt),
        alerts=alerts,
    )


def _as_dt(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.4rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.note{background:#f5f7fa;border-left:4px solid #1f77b4;padding:.6rem 1rem}.caption{color:#555;font-size:.9rem}
"""


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (plotly.js inlined once)."""
    rows = "".join(
        f"<tr><th>{html_text(label)}</th><td>{html_text(value)}</td>"
        f"<td>{html_text(change or '')}</td><td>{html_text(interval or '')}</td></tr>"
        for label, value, change, interval in report.headline()
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html_text(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html_text(report.title)}</h1>",
        f"<p class='caption'>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC from model "
        f"{html_text(report.model_id)}. Headline figures: {html_text(report.period_text())}.</p>",
        "<h2>Headline figures</h2><table><tr><th></th><th>now</th><th>change</th><th>95% interval</th></tr>",
        rows,
        "</table>",
        f"<p class='note'>{html_text(report.whole_range.correction.text())}</p>",
    ]
    first = True
    for chart_id, fig in report.figures().items():
        div = fig.to_html(full_html=False, include_plotlyjs="inline" if first else False,
                          div_id=f"chart-{chart_id}", config={"displaylogo": False})
        first = False
        parts.append(f"<section class='chart' data-chart='{chart_id}'><h2>{html_text(report.chart_title(chart_id))}</h2>"
                     f"{div}</section>")
    for detail in report.details:
        parts.append(f"<section class='brand'><h2>{html_text(detail.brand)}</h2>")
        if len(detail.complaints):
            parts.append("<h3>Top complaints (negative posts per topic)</h3><table>" + "".join(
                f"<tr><td>{html_text(r.label)}</td><td>{int(r.negative_posts):,}</td></tr>"
                for r in detail.complaints.itertuples()) + "</table>")
        else:
            parts.append("<p class='caption'>No complaint topics: build topics on the Topics page.</p>")
        if detail.examples:
            parts.append("<h3>Example posts (personal data masked)</h3><ul>" + "".join(
                f"<li><strong>{html_text(label)}</strong>: {html_text(_clip(text, 400))}</li>" for label, text in detail.examples)
                + "</ul>")
        parts.append("</section>")
    parts.append("<section class='alerts'><h2>Alerts</h2>" + _alerts_html(report.alerts) + "</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _alert_rows(alerts: pd.DataFrame | None, limit: int = 12) -> list[tuple[str, str, str, str]]:
    """(period start, brand, metric, reason) of the newest alerts."""
    if alerts is None or alerts.empty:
        return []
    return [(f"{pd.Timestamp(r.period_start):%Y-%m-%d}", str(r.brand), str(r.metric).replace("_", " "), str(r.reason))
            for r in alerts.head(limit).itertuples()]


def _alerts_html(alerts: pd.DataFrame | None) -> str:
    rows = _alert_rows(alerts)
    if not rows:
        return "<p class='caption'>No alert fired for these brands in the selected range.</p>"
    return ("<table><tr><th>period</th><th>brand</th><th>metric</th><th>why</th></tr>" + "".join(
        "<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>" for row in rows) + "</table>")


def write_html(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_html` to ``path``."""
    out = Path(path)
    out.write_text(render_html(report), encoding="utf-8")
    return out


A4_LANDSCAPE = (11.69, 8.27)
LINE_BRANDS = 4
"""Brands the PDF's net-sentiment chart draws (ours and the three largest others): a printed chart has no hover."""

_LABEL_CHARS = 28


def _short(name: object) -> str:
    """A brand or topic name as a chart label: escaped for matplotlib and cut to fit."""
    text = str(name)
    return matplotlib_text(text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…")


def write_pdf(report: Report, path: str | os.PathLike[str]) -> Path:
    """The executive PDF, A4 landscape (matplotlib, no browser needed).

    Page 1: headline tiles with intervals and the two key charts (net sentiment over time,
    negative share per brand). Then a page per brand (top complaints, example posts, masked)
    and the alerts. Long names are cut, brands beyond the largest few folded, so every label
    stays legible.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise BrandLensError(f"PDF export needs matplotlib ({exc}); write an .html report instead") from exc

    out = Path(path)
    with PdfPages(out) as pdf:
        _pdf_first_page(report, plt, pdf)
        for detail in report.details:
            _pdf_brand_page(report, detail, plt, pdf)
        _pdf_alerts_page(report, plt, pdf)
    return out


def _pdf_first_page(report: Report, plt, pdf) -> None:
    import textwrap

    from matplotlib.ticker import PercentFormatter

    from analytics.figures.brand import CHART_MIN_POSTS, MAX_SERIES, time_segments, top_brands
    from analytics.figures.colours import CLASS_COLOURS, RAW_COLOUR, brand_colours

    fig = plt.figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, matplotlib_text(report.title), fontsize=18, weight="bold", va="top")
    fig.text(0.04, 0.905, matplotlib_text(f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC, model "
                                          f"{report.model_id}. Headline figures: {report.period_text()}."),
             fontsize=9, va="top", color="#444")
    rows = report.headline()
    width = 0.92 / max(len(rows), 1)
    for i, (label, value, change, interval) in enumerate(rows):
        x = 0.04 + i * width
        fig.patches.append(plt.Rectangle((x, 0.70), width - 0.01, 0.17, transform=fig.transFigure,
                                         facecolor="#f3f6fa", edgecolor="#d0d7e2"))
        fig.text(x + 0.008, 0.85, matplotlib_text(label), fontsize=8.5, color="#555", va="top")
        fig.text(x + 0.008, 0.815, _short(value), fontsize=15 if len(str(value)) < 12 else 10, weight="bold", va="top")
        fig.text(x + 0.008, 0.76, matplotlib_text("\n".join(textwrap.wrap(change or "", 24))), fontsize=7.5, va="top")
        fig.text(x + 0.008, 0.725, matplotlib_text(interval or ""), fontsize=7, color="#555", va="top")

    over, whole = report.over_time.by_group, report.whole_range.by_group
    kind = report.kind
    keep = top_brands(whole, MAX_SERIES)
    colours = brand_colours(keep)
    ax = fig.add_axes([0.13, 0.17, 0.37, 0.45])
    lines = keep[:LINE_BRANDS]
    steady = over[over["brand"].astype(str).isin(lines) & (over["n"] >= CHART_MIN_POSTS)]
    for brand, part in steady.groupby("brand", sort=False):
        c = colours[str(brand)]
        for j, seg in enumerate(time_segments(part)):  # no line across periods without enough posts
            ax.fill_between(seg["period"], seg[f"net_{kind}_lo"], seg[f"net_{kind}_hi"], color=c, alpha=0.12)
            ax.plot(seg["period"], seg[f"net_{kind}"], color=c, marker="o", ms=3, lw=1.2,
                    label=_short(brand) if j == 0 else None)
    if steady.empty:  # too sparse for a line: each brand's whole-range figure with its interval
        part = whole[whole["brand"].astype(str).isin(keep)].iloc[::-1]
        v = part[f"net_{kind}"].to_numpy()
        ax.errorbar(v, range(len(part)), xerr=[v - part[f"net_{kind}_lo"].to_numpy(), part[f"net_{kind}_hi"].to_numpy() - v],
                    fmt="o", color="#1f77b4", capsize=3)
        ax.set_yticks(range(len(part)), [_short(b) for b in part["brand"]], fontsize=7)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_title(matplotlib_text(f"Net sentiment over the range ({kind}), 95% CI: no {report.period} has "
                                     f"{CHART_MIN_POSTS}+ posts for a trend"), fontsize=9)
    else:
        ax.axhline(0, color="#888", lw=0.8)
        ax.set_ylim(-1, 1)
        ax.set_title(matplotlib_text(f"Net sentiment by {report.period} ({kind}), 95% bands; "
                                     f"{report.period}s with {CHART_MIN_POSTS}+ posts"), fontsize=10)
    ax.tick_params(axis="both", labelsize=7)
    ax.legend(fontsize=7, loc="lower left", ncol=2, frameon=False)

    ax = fig.add_axes([0.66, 0.17, 0.31, 0.45])
    part = whole[whole["brand"].astype(str).isin(keep)].iloc[::-1]
    y = list(range(len(part)))
    kinds = (("raw", RAW_COLOUR),) if kind == "raw" else (("raw", RAW_COLOUR), ("corrected", CLASS_COLOURS["negative"]))
    height = 0.8 / len(kinds)
    for j, (k, col) in enumerate(kinds):
        v = part[f"negative_{k}"].to_numpy()
        ax.barh([i + (j - (len(kinds) - 1) / 2) * height for i in y], v, height=height, color=col, label=k,
                xerr=[v - part[f"negative_{k}_lo"].to_numpy(), part[f"negative_{k}_hi"].to_numpy() - v], capsize=2)
    ax.set_yticks(y, [_short(b) for b in part["brand"]], fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("Negative share per brand, 95% CI" + (" (raw: the correction is off)" if kind == "raw" else ""),
                 fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    left_out = len(whole) - len(keep)
    note = report.whole_range.correction.text() + (f" Charts show our brand and the {len(keep) - 1} largest others; "
                                                   f"{left_out} more brands are in the HTML report." if left_out else "")
    fig.text(0.04, 0.07, matplotlib_text("\n".join(textwrap.wrap(note, 190))), fontsize=7.5, va="top", color="#444")
    pdf.savefig(fig)
    plt.close(fig)


def _pdf_brand_page(report: Report, detail: BrandDetail, plt, pdf) -> None:
    import textwrap

    fig = plt.figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, matplotlib_text(detail.brand), fontsize=16, weight="bold", va="top")
    row = report.whole_range.by_group
    row = row[row["brand"].astype(str) == detail.brand]
    if len(row):
        r = row.iloc[0]
        k = report.kind
        fig.text(0.04, 0.905, matplotlib_text(
            f"{int(r['n']):,} posts in the selected range; negative share {r[f'negative_{k}']:.1%} "
            f"(95% CI {r[f'negative_{k}_lo']:.1%} to {r[f'negative_{k}_hi']:.1%}, {k}); "
            f"net sentiment {r[f'net_{k}']:+.2f}"), fontsize=9, va="top", color="#444")
    ax = fig.add_axes([0.22, 0.50, 0.72, 0.35])
    if len(detail.complaints):
        c = detail.complaints.iloc[::-1]
        ax.barh(range(len(c)), c["negative_posts"], color="#d62728")
        ax.set_yticks(range(len(c)), [_short(label) for label in c["label"]], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title("Top complaints: negative posts per topic", fontsize=10)
    else:
        ax.axis("off")
        ax.text(0, 0.5, "No complaint topics yet: build topics on the Topics page.", fontsize=9)
    fig.text(0.04, 0.42, "Example posts (personal data masked)", fontsize=10, weight="bold", va="top")
    y = 0.38
    for label, text in detail.examples:
        lines = textwrap.wrap(_clip(text, 420), 150)
        fig.text(0.04, y, matplotlib_text(f"{label}: " + "\n".join(lines)), fontsize=7.5, va="top")
        y -= 0.03 + 0.022 * len(lines)
    if not detail.examples:
        fig.text(0.04, y, "No scored posts in the selected range.", fontsize=8, va="top")
    pdf.savefig(fig)
    plt.close(fig)


def _pdf_alerts_page(report: Report, plt, pdf) -> None:
    import textwrap

    fig = plt.figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, "Alerts", fontsize=16, weight="bold", va="top")
    rows = _alert_rows(report.alerts)
    if not rows:
        fig.text(0.04, 0.88, "No alert fired for these brands in the selected range.", fontsize=10, va="top")
    y = 0.88
    for period, brand, metric, reason in rows:
        fig.text(0.04, y, period, fontsize=8, va="top")
        fig.text(0.13, y, _short(brand), fontsize=8, va="top", weight="bold")
        fig.text(0.33, y, matplotlib_text(metric), fontsize=8, va="top")
        fig.text(0.46, y, matplotlib_text("\n".join(textwrap.wrap(reason, 100))), fontsize=7.5, va="top")
        y -= 0.06
    pdf.savefig(fig)
    plt.close(fig)


def write_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as HTML or PDF, chosen by the suffix of ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BrandLensError(f"report file {path} must end in .html or .pdf")
    return write_html(report, path) if suffix == ".html" else write_pdf(report, path)
