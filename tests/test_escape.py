"""User data is data: one escaper per output (analytics.core.escape), and the figures and the report
that use them, on a workspace whose brand names, aspects and texts are links, markdown, HTML and formulas."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import HOSTILE_ASPECTS, HOSTILE_BRANDS, HOSTILE_TEXTS

from analytics import store
from analytics.core.escape import (
    FORMULA_STARTS,
    file_stem,
    html_text,
    markdown_text,
    matplotlib_text,
    plotly_text,
    slack_text,
    spreadsheet_csv,
)

HOSTILE = (*HOSTILE_BRANDS, *HOSTILE_ASPECTS, *HOSTILE_TEXTS, "a\nb\r\n# heading", ":material/home: :red[x] $x^2$",
           "`code` ~strike~ _it_ |a|b|", "&lt;b&gt; entity", "")


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_escapes_every_punctuation_and_breaks_autolinks(value: str) -> None:
    out = markdown_text(value)
    assert "\n" not in out and "\r" not in out
    i = 0
    while i < len(out):  # every ASCII punctuation character is a backslash escape's
        ch = out[i]
        if ch == "\\":
            assert i + 1 < len(out) and out[i + 1] in string.punctuation, (out, i)
            i += 2
            continue
        assert ch not in string.punctuation, (out, i)
        i += 1
    plain = re.sub(r"\\(.)", r"\1", out)
    assert "://" not in plain and not re.search(r"@\w", plain) and not re.search(r"(?i)www\.\w", plain)
    assert plain.replace("\u2060", "") == " ".join(value.replace("\r", " ").split("\n")).replace("\r", " ")


@pytest.mark.parametrize("value", HOSTILE)
def test_plotly_and_html_text_leave_no_tag_and_read_back_as_the_value(value: str) -> None:
    for escaped in (plotly_text(value), html_text(value)):
        assert "<" not in escaped and ">" not in escaped
        assert html.unescape(escaped) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_slack_text_leaves_no_control_character_link_or_formatting(value: str) -> None:
    out = slack_text(value)
    assert "<" not in out and ">" not in out
    assert re.sub(r"&(amp|lt|gt);", "", out).count("&") == 0
    assert "://" not in out and not re.search(r"[.@:]\w", out)
    for mark in "*_~`":
        assert not re.search(rf"(^|[^\u200b]){re.escape(mark)}|{re.escape(mark)}([^\u200b]|$)", out), out
    assert html.unescape(out.replace("\u200b", "")) == " ".join(value.split("\n")).replace("\r", " ")


def test_spreadsheet_csv_neutralises_every_formula_start() -> None:
    import pandas as pd

    cells = [*HOSTILE_TEXTS, "\tTAB", "\rCR", "=1+1", "safe", "-", "@"]
    text = spreadsheet_csv(pd.DataFrame({"text": cells, "n": range(len(cells))}))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["text", "n"]
    for original, (cell, n) in zip(cells, rows[1:]):
        assert not cell.startswith(FORMULA_STARTS), cell
        assert cell == ("'" + original if original.startswith(FORMULA_STARTS) else original)
        assert n.isdigit()


def test_matplotlib_and_file_names() -> None:
    assert matplotlib_text("a $b$ c") == r"a \$b\$ c"
    assert file_stem(HOSTILE_BRANDS[0]) == "a-href-http-localhost-9-phish-ClickBrand-a"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", file_stem(HOSTILE_BRANDS[1]))


# ----------------------------------------------------------------------------- figures and the report


def _strings(value: object, path: str = "") -> list[tuple[str, str]]:
    """Every string in a figure's JSON with where it is (customdata carries raw names for clicks: left out)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "customdata" for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


def _no_markup(fig) -> None:
    spec = json.loads(fig.to_json())
    found = [(where, s) for where, s in _strings(spec) if re.search(r"<(?!br>|extra>|/extra>)[a-z/]", s, re.I)
             and not where.endswith(("hovertemplate", "texttemplate"))]
    assert found == [], found
    for where, s in _strings(spec):
        if where.endswith("hovertemplate"):  # our templates: only <br> and <extra>
            assert set(re.findall(r"</?(\w+)", s)) <= {"br", "extra"}, (where, s)


def test_every_figure_shows_hostile_names_as_text(hostile_workspace: Path) -> None:
    from analytics.brand import topics
    from analytics.brand.kpis import brand_kpis_with_totals
    from analytics.evaluation import labelled_predictions, slice_metrics
    from analytics.figures import brand, evaluation
    from analytics.figures import topics as topic_charts

    with store.open_workspace(hostile_workspace, read_only=True) as con:
        over, whole = brand_kpis_with_totals(con, "vader", period="week", n_boot=20)
        overview = topics.topic_overview(con, model_id="vader", method="aspect")
        by_brand = topics.topic_sentiment_by_brand(con, model_id="vader", method="aspect")
        growth = topics.fastest_growing(con, method="aspect", period_days=7)
        frame = labelled_predictions(con, "vader")
    assert set(HOSTILE_BRANDS) <= set(whole.by_group["brand"].dropna())
    figures = [brand.volume_chart(over.by_group), brand.share_of_voice_chart(over.by_group),
               brand.shares_chart(whole.by_group), brand.share_comparison_chart(whole.by_group),
               brand.net_sentiment_chart(over.by_group), brand.net_sentiment_chart(whole.by_group),
               topic_charts.topic_sentiment_bars(overview), topic_charts.topic_brand_heatmap(by_brand),
               topic_charts.topic_growth_bars(growth),
               evaluation.slice_figure(slice_metrics(frame, "brand").by_group, "brand")]
    for fig in figures:
        _no_markup(fig)
    legend = {t.name for t in figures[0].data}
    assert plotly_text(HOSTILE_BRANDS[0]) in legend  # shown, as text
    assert plotly_text(HOSTILE_ASPECTS[0]) in set(figures[6].data[0].y)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_report_has_no_link_or_tag_from_the_data_and_its_pdf_draws(hostile_workspace: Path, tmp_path: Path) -> None:
    from analytics.brand.report import build_report, render_html, write_pdf

    with store.open_workspace(hostile_workspace, read_only=True) as con:
        report = build_report(con, "vader", n_boot=20)
    page = render_html(report)
    parser = _Tags()
    parser.feed(page)
    assert [t for t, _ in parser.tags if t in ("a", "img", "b")] == []
    assert [a for _, a in parser.tags if any("javascript:" in str(v) or "evil" in str(v) for v in a.values())] == []
    assert html_text(HOSTILE_BRANDS[0]) in page  # the name is there, escaped
    pdf = write_pdf(report, tmp_path / "r.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_bidi_controls_in_a_name_cannot_reverse_a_legend() -> None:
    for name in ("\u202eemca", "Acme\u202d", "\u2067Globex\u2069", "\u202bX\u202c"):
        shown = plotly_text(name)
        assert not any(ch in shown for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), repr(shown)
    assert plotly_text("\u202eemca") == "emca" and plotly_text("\u200fRTL mark kept") == "\u200fRTL mark kept"
