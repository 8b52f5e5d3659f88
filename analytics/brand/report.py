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

    def figures(self) -> dict[str, object]:
        """The Plotly figures by chart id (keys of :data:`CHART_TITLES`)."""
        from analytics.figures import brand as charts

        return {
            "net_sentiment": charts.net_sentiment_chart(self.over_time.by_group),
            "negative_share": charts.share_comparison_chart(self.whole_range.by_group, cls="negative"),
            "shares": charts.shares_chart(self.whole_range.by_group, kind="corrected"),
            "volume": charts.volume_chart(self.over_time.by_group),
            "share_of_voice": charts.share_of_voice_chart(self.over_time.by_group),
        }

    def headline(self) -> list[tuple[str, str, str | None, str | None]]:
        """(label, value, change, interval) rows of the headline table."""
        from analytics.figures.brand import kpi_cards

        s = self.summary
        rows = [(c.label, c.value, c.delta, c.interval) for c in kpi_cards(s.ours, s.ours_before)]
        if s.rising_topic is not None:
            t = s.rising_topic
            rows.append(("Top rising complaint", t.label, f"{t.change:+d} negative posts", f"{t.current} this period"))
        if s.open_alerts is not None:
            rows.append(("Open alerts", str(s.open_alerts), None, None))
        return rows


def build_report(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    our_brand: str | None = None,
    brands: Sequence[str] | None = None,
    period: str = "week",
    method: str = DEFAULT_METHOD,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
) -> Report:
    """Compute the report's figures: headline vs the previous period, KPIs over time and per brand.

    ``our_brand`` defaults to the workspace setting ``our_brand``, else the brand with most posts.
    """
    check_choice("period", period, [p for p in PERIODS if p != "all"])
    from analytics.store import get_setting

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
    kw = dict(brands=brands, method=method, n_boot=n_boot, random_state=random_state)
    over_time, whole = brand_kpis_with_totals(con, model_id, period=period, **kw)
    summary = executive_summary(con, model_id, our_brand=our_brand, window=period if period != "all" else "week", **kw)
    return Report(
        title=f"BrandLens report: {our_brand}",
        generated_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        model_id=model_id,
        period=period,
        summary=summary,
        over_time=over_time,
        whole_range=whole,
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.4rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.note{background:#f5f7fa;border-left:4px solid #1f77b4;padding:.6rem 1rem}.caption{color:#555;font-size:.9rem}
"""


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (plotly.js inlined once)."""
    s = report.summary
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
        f"{html_text(report.model_id)}. Headline period {s.start:%Y-%m-%d} to "
        f"{(s.end - dt.timedelta(days=1)):%Y-%m-%d}, compared with the period of the same length before.</p>",
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
        parts.append(f"<section class='chart' data-chart='{chart_id}'><h2>{html_text(CHART_TITLES[chart_id])}</h2>"
                     f"{div}</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_html` to ``path``."""
    out = Path(path)
    out.write_text(render_html(report), encoding="utf-8")
    return out


def write_pdf(report: Report, path: str | os.PathLike[str]) -> Path:
    """Draw the report with matplotlib into a multi-page PDF at ``path`` (no browser needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise BrandLensError(f"PDF export needs matplotlib ({exc}); write an .html report instead") from exc
    from analytics.core.labels import CLASSES
    from analytics.figures.colours import CLASS_COLOURS, RAW_COLOUR, brand_colours

    out = Path(path)
    over, whole = report.over_time.by_group, report.whole_range.by_group
    colours = brand_colours(list(dict.fromkeys(over["brand"].astype(str))))
    with PdfPages(out) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))
        fig.text(0.08, 0.95, matplotlib_text(report.title), fontsize=18, weight="bold")
        s = report.summary
        fig.text(0.08, 0.92, f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC - model {matplotlib_text(report.model_id)} - "
                 f"period {s.start:%Y-%m-%d} to {(s.end - dt.timedelta(days=1)):%Y-%m-%d}", fontsize=9)
        y = 0.86
        for label, value, change, interval in report.headline():
            fig.text(0.08, y, label, fontsize=11, weight="bold")
            fig.text(0.40, y, matplotlib_text(value), fontsize=11)
            fig.text(0.58, y, change or "", fontsize=9)
            fig.text(0.75, y, interval or "", fontsize=8)
            y -= 0.04
        import textwrap

        fig.text(0.08, y - 0.02, "\n".join(textwrap.wrap(matplotlib_text(report.whole_range.correction.text()), 95)),
                 fontsize=8,
                 va="top")
        pdf.savefig(fig)
        plt.close(fig)

        fig, axes = plt.subplots(1, 2, figsize=(11.69, 8.27), sharey=True)
        for ax, kind in zip(axes, ("corrected", "raw")):
            for brand, part in over.groupby("brand", sort=False):
                c = colours[str(brand)]
                ax.fill_between(part["period"], part[f"net_{kind}_lo"], part[f"net_{kind}_hi"], color=c, alpha=0.15)
                ax.plot(part["period"], part[f"net_{kind}"], color=c, marker="o", label=matplotlib_text(brand))
            ax.set_title(f"Net sentiment ({kind}), 95% bands")
            ax.axhline(0, color="#888", lw=0.8)
            ax.tick_params(axis="x", rotation=45)
        axes[0].legend()
        fig.suptitle(CHART_TITLES["net_sentiment"])
        pdf.savefig(fig)
        plt.close(fig)

        fig, axes = plt.subplots(1, 2, figsize=(11.69, 8.27))
        x = range(len(whole))
        for off, kind, col in ((-0.2, "raw", RAW_COLOUR), (0.2, "corrected", CLASS_COLOURS["negative"])):
            v = whole[f"negative_{kind}"]
            axes[0].bar([i + off for i in x], v, width=0.4, color=col, label=kind,
                        yerr=[v - whole[f"negative_{kind}_lo"], whole[f"negative_{kind}_hi"] - v], capsize=3)
        axes[0].set_xticks(list(x), [matplotlib_text(b) for b in whole["brand"]], rotation=30)
        axes[0].set_title("Negative share: raw vs corrected (95% CI)")
        axes[0].legend()
        bottom = [0.0] * len(whole)
        for c in CLASSES:
            axes[1].bar(list(x), whole[f"{c}_corrected"], bottom=bottom, color=CLASS_COLOURS[c], label=c)
            bottom = [b + v for b, v in zip(bottom, whole[f"{c}_corrected"])]
        axes[1].set_xticks(list(x), [matplotlib_text(b) for b in whole["brand"]], rotation=30)
        axes[1].set_title(CHART_TITLES["shares"])
        axes[1].legend()
        pdf.savefig(fig)
        plt.close(fig)

        fig, axes = plt.subplots(2, 1, figsize=(11.69, 8.27), sharex=True)
        pivot_n = over.pivot_table(index="period", columns="brand", values="n", aggfunc="sum").fillna(0)
        pivot_s = over.pivot_table(index="period", columns="brand", values="share_of_voice", aggfunc="sum").fillna(0)
        for brand in pivot_n.columns:
            axes[0].plot(pivot_n.index, pivot_n[brand], color=colours[str(brand)], marker="o",
                         label=matplotlib_text(brand))
        axes[0].set_title(CHART_TITLES["volume"])
        axes[0].legend()
        axes[1].stackplot(pivot_s.index, *[pivot_s[b] for b in pivot_s.columns],
                          colors=[colours[str(b)] for b in pivot_s.columns],
                          labels=[matplotlib_text(b) for b in pivot_s.columns])
        axes[1].set_title(CHART_TITLES["share_of_voice"])
        pdf.savefig(fig)
        plt.close(fig)
    return out


def write_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as HTML or PDF, chosen by the suffix of ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BrandLensError(f"report file {path} must end in .html or .pdf")
    return write_html(report, path) if suffix == ".html" else write_pdf(report, path)
