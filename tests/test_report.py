"""Report (HTML and PDF), chart builders, and the Brand monitor / Overview pages in AppTest."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analytics.brand.topics import aspect_topics
from analytics.core.labels import CLASSES
from analytics import store
from analytics.cli import main as cli_main
from analytics.core.errors import BrandLensError
from analytics.brand.kpis import brand_kpis
from analytics.brand.report import CHART_TITLES, build_report, write_report
from analytics.figures import brand as charts

ROOT = Path(__file__).resolve().parent.parent


def build_workspace(path: Path, *, n: int = 6000, labelled_every: int = 20) -> Path:
    """Three brands over 35 days, scored by model 'm1'; every ``labelled_every``-th post labelled."""
    with store.open_workspace(path) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, brand, created_at, text, original_text, aspect, gold_label,
                               gold_origin, ingest_run)
            SELECT 'p' || i, 'test', ['Ours', 'Rival', 'Other'][1 + i % 3],
                   TIMESTAMP '2026-02-01' + to_seconds(((i * 7919) % (35 * 86400))::BIGINT),
                   'post ' || i, 'post ' || i, ['delay', 'staff', 'price'][1 + (i // 3) % 3],
                   CASE WHEN i % ? = 0 THEN ['negative', 'neutral', 'positive'][1 + (i // 3) % 3] END,
                   CASE WHEN i % ? = 0 THEN 'source:test' END, 'r'
            FROM range(?) t(i)
            """,
            [labelled_every, labelled_every, n],
        )
        con.execute(
            """
            INSERT INTO predictions
            SELECT post_id, 'm1', pn / s, pu / s, pp / s,
                   CASE WHEN pn >= pu AND pn >= pp THEN 'negative' WHEN pu >= pp THEN 'neutral' ELSE 'positive' END,
                   now()::TIMESTAMP
            FROM (SELECT post_id, pn, pu, pp, pn + pu + pp AS s FROM (
                SELECT post_id,
                       CASE WHEN gold_label = 'negative' OR (gold_label IS NULL AND hash(post_id) % 5 < 2) THEN 3 ELSE 1 END
                           + (hash(post_id || 'a') % 100) / 100.0 AS pn,
                       1.5 + (hash(post_id || 'b') % 100) / 100.0 AS pu,
                       CASE WHEN gold_label = 'positive' THEN 3 ELSE 1 END + (hash(post_id || 'c') % 100) / 100.0 AS pp
                FROM posts))
            """
        )
        store.set_setting(con, "our_brand", "Ours")
        aspect_topics(con)  # the source aspects as stored topics, as `brandlens topics` does
    return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("rep") / "ws.duckdb")


@pytest.fixture(scope="module")
def report(ws):
    with store.open_workspace(ws, read_only=True) as con:
        return build_report(con, "m1", period="week", n_boot=200)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-chart" in attrs:
            self.charts.append(attrs["data-chart"])
        if tag == "script":
            self.scripts += 1


def test_html_report_is_self_contained_and_has_every_chart(report, tmp_path):
    path = write_report(report, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(text)
    assert parser.charts == list(CHART_TITLES)
    assert text.count("plotly.js v") == 1  # plotly.js inlined once, no CDN
    assert "<script src=" not in text  # nothing loaded from the network
    for chart_id in CHART_TITLES:
        assert f'id="chart-{chart_id}"' in text
    assert "Net sentiment" in text and "Share of voice" in text
    assert report.whole_range.correction.text().split(";")[0] in text.replace("&#x27;", "'")


def test_headline_compares_with_the_previous_period(report):
    s = report.summary
    assert s.our_brand == "Ours" and s.end - s.start == dt.timedelta(days=7)
    assert s.ours_before is not None
    labels = [row[0] for row in report.headline()]
    assert labels[:4] == ["Net sentiment", "Share of voice", "Negative share", "Volume"]
    assert "Top rising complaint" in labels
    volume = next(r for r in report.headline() if r[0] == "Volume")
    assert volume[2] == f"{s.ours.n - s.ours_before.n:+,}"


def test_pdf_report_is_a_landscape_executive_document(report, tmp_path):
    from pypdf import PdfReader

    path = write_report(report, tmp_path / "report.pdf")
    pdf = PdfReader(path)
    # headline page, one page per brand (three here), the alerts page; all A4 landscape
    assert len(pdf.pages) == 1 + len(report.details) + 1 and len(report.details) == 3
    assert all(float(p.mediabox.width) > float(p.mediabox.height) for p in pdf.pages)
    first = pdf.pages[0].extract_text()
    assert "Net sentiment" in first and "95% CI" in first and "Negative share per brand" in first
    brand_page = pdf.pages[1].extract_text()
    assert "Top complaints" in brand_page and "Example posts" in brand_page
    assert "Alerts" in pdf.pages[-1].extract_text()


def test_report_follows_the_filters_and_says_raw_when_the_correction_is_off(ws, tmp_path):
    with store.open_workspace(ws, read_only=True) as con:
        narrow = build_report(con, "m1", our_brand="Ours", brands=["Ours", "Rival"], start=dt.date(2026, 2, 10),
                              end=dt.datetime(2026, 2, 20), headline="range", n_boot=50)
        raw = build_report(con, "m1", our_brand="Ours", headline="range", n_boot=50, method="CC")
    s = narrow.summary
    assert (s.start, s.end) == (dt.datetime(2026, 2, 10), dt.datetime(2026, 2, 20))
    assert narrow.period == "day"  # ten days: a daily axis
    periods = narrow.over_time.by_group["period"]
    assert periods.min() >= pd.Timestamp("2026-02-10") and periods.max() < pd.Timestamp("2026-02-20")
    assert set(narrow.whole_range.by_group["brand"]) == {"Ours", "Rival"}
    assert "entire selected range" in narrow.period_text()
    # the change column says why it is empty when the period before has no posts
    assert all(change for label, _, change, _ in narrow.headline() if label in ("Net sentiment", "Volume"))
    if raw.kind == "raw":
        assert "(raw" in raw.chart_title("net_sentiment") and "corrected" not in raw.chart_title("shares")


def test_report_example_posts_are_masked(ws, tmp_path):
    with store.open_workspace(ws) as con:
        con.execute("UPDATE posts SET text = 'mail me at ana@example.org ' || text WHERE post_id IN "
                    "(SELECT post_id FROM posts WHERE brand = 'Ours' LIMIT 400)")
        report = build_report(con, "m1", our_brand="Ours", headline="range", n_boot=50)
    texts = [t for d in report.details for _, t in d.examples]
    assert texts and not any("ana@example.org" in t for t in texts)


def test_report_rejects_other_formats(report, tmp_path):
    with pytest.raises(BrandLensError, match=r"\.html or \.pdf"):
        write_report(report, tmp_path / "report.docx")


def test_report_cli_writes_both_formats(ws, tmp_path, capsys):
    for name in ("r.html", "r.pdf"):
        out = tmp_path / name
        assert cli_main(["report", "--workspace", str(ws), "--out", str(out), "--brand", "Rival", "--json"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["brand"] == "Rival" and payload["charts"] == len(CHART_TITLES) and out.stat().st_size > 1000


def test_chart_builders(ws):
    with store.open_workspace(ws, read_only=True) as con:
        weekly = brand_kpis(con, "m1", period="week", n_boot=100).by_group
        whole = brand_kpis(con, "m1", n_boot=100).by_group
    fig = charts.net_sentiment_chart(weekly)
    assert [a.text for a in fig.layout.annotations] == ["corrected", "raw"]
    assert sum(1 for t in fig.data if t.fill == "toself") == 2 * 3  # a band per brand per panel
    assert len(charts.net_sentiment_chart(weekly, kinds=("raw",)).data) == 2 * 3
    assert [t.name for t in charts.shares_chart(whole).data] == list(CLASSES)
    comparison = charts.share_comparison_chart(whole)
    assert [t.name for t in comparison.data] == ["raw", "corrected"]
    assert list(comparison.data[1].y) == pytest.approx(list(whole["negative_corrected"]))
    assert len(charts.volume_chart(weekly).data) == 3 and len(charts.share_of_voice_chart(weekly).data) == 3
    with pytest.raises(ValueError, match="kind must be one of"):
        charts.shares_chart(whole, kind="both")


def _page(name: str, ws: Path, **state):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    defaults = {"workspace": str(ws), "our_brand": "Ours", "competitors": ["Rival", "Other"],
                "date_range": (dt.date(2026, 2, 1), dt.date(2026, 3, 7)), "model_id": "m1"}
    for key, value in {**defaults, **state}.items():
        at.session_state[key] = value
    return at.run()


def test_brand_monitor_page_renders(ws):
    at = _page("brand_monitor.py", ws)
    assert not at.exception
    assert len(at.get("plotly_chart")) == 5
    assert any("Corrected with PACC" in c.value for c in at.caption)
    assert any(b.label == "How far to trust the model here" for b in at.button)
    at.radio(key="bm_view").set_value("Side by side").run()
    assert not at.exception and len(at.get("plotly_chart")) == 6


def test_brand_monitor_links_to_posts_and_evaluation_in_one_click(ws):
    at = _page("brand_monitor.py", ws)
    at.button(key="posts-net").click().run()
    assert at.session_state["explorer_brand"] is None  # no point selected: every chosen brand
    assert at.session_state["explorer_date"] == (dt.date(2026, 2, 1), dt.date(2026, 3, 7))
    at = _page("brand_monitor.py", ws)
    at.button(key="trust-neg").click().run()
    assert "evaluation_brand" in at.session_state


def test_brand_monitor_says_when_it_falls_back(tmp_path):
    ws = build_workspace(tmp_path / "few.duckdb", n=600, labelled_every=100)
    at = _page("brand_monitor.py", ws)
    assert not at.exception
    assert any("Shown raw" in w.value and "labels and has 6" in w.value for w in at.warning)


def test_overview_page_renders(ws):
    at = _page("overview.py", ws)
    assert not at.exception
    assert [m.label for m in at.metric][:3] == ["Net sentiment", "Share of voice", "Negative share"]
    assert "Top rising complaint" in [m.label for m in at.metric]
    assert len(at.get("plotly_chart")) == 3
    assert not at.error


def test_overview_report_is_built_for_the_pages_filters_and_then_downloads(ws):
    """A report is prepared on a click inside the page's run (so the page's connection is closed when
    the run ends) and offered for download; a new choice of filters drops the prepared file."""
    at = _page("overview.py", ws)
    assert [b.label for b in at.button if b.label.startswith("Prepare")] == ["Prepare HTML report",
                                                                              "Prepare PDF report"]
    at.button(key="ov_prepare_pdf").click().run()
    assert not at.exception and not at.error
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download PDF report"]
    at.radio(key="ov_window").set_value("last week").run()
    assert not at.get("download_button")  # other filters: prepare again
    at.button(key="ov_prepare_html").click().run()
    assert [b.proto.label for b in at.get("download_button")] == ["Download HTML report"]
    # the workspace is free for a writer once the run ended (no connection left open by a download)
    with store.open_workspace(ws) as con:
        con.execute("SELECT count(*) FROM posts").fetchone()


def test_pages_show_a_message_not_a_traceback_without_data(tmp_path):
    empty = tmp_path / "empty.duckdb"
    store.connect(empty).close()
    for name in ("brand_monitor.py", "overview.py"):
        at = _page(name, empty, our_brand=None, competitors=[], model_id=None)
        assert not at.exception and at.info
