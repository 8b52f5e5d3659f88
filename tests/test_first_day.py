"""What broke on a new user's first day with an export unlike the demo (issue 22), at the library level:
intervals never of zero width, readable time axes and charts for sparse or many-brand data, the
alerts' history window, scoring progress, the labelling queue's size, a new workspace from the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.brand import alerts
from analytics.brand.kpis import brand_kpis
from analytics.brand.periods import auto_period, infer_period
from analytics.core.labels import CLASSES
from analytics.figures import brand as charts
from analytics.labelling.queue import next_posts, queue_size
from analytics.scoring.local import progress_chunk_size


def _insert(con, rows, model="m1"):
    """rows: (post_id, brand, created_at, predicted class index)."""
    frame = pd.DataFrame(rows, columns=["post_id", "brand", "created_at", "pred"])
    proba = np.full((len(frame), 3), 0.1)
    proba[np.arange(len(frame)), frame["pred"].to_numpy(int)] = 0.8
    frame[["p_negative", "p_neutral", "p_positive"]] = proba
    frame["label"] = [CLASSES[p] for p in frame["pred"]]
    frame["model_id"] = model
    con.register("new_rows", frame)
    con.execute("INSERT INTO posts (post_id, source, brand, created_at, text, original_text, ingest_run) "
                "SELECT post_id, 'test', brand, created_at, 'text ' || post_id, 'text ' || post_id, 'r' FROM new_rows")
    con.execute("INSERT INTO predictions SELECT post_id, model_id, p_negative, p_neutral, p_positive, label, "
                "now()::TIMESTAMP FROM new_rows")
    con.unregister("new_rows")


def test_no_share_or_net_interval_has_zero_width_at_small_n(workspace):
    """0 neutral of 31 posts, every post of a brand positive: the figures keep n posts' uncertainty."""
    con = store.connect(workspace)
    t0 = dt.datetime(2024, 1, 1)
    _insert(con, [(f"a{i}", "A", t0, 0 if i < 10 else 2) for i in range(31)]  # no neutral at all
            + [(f"b{i}", "B", t0, 2) for i in range(5)])  # every post positive
    k = brand_kpis(con, "m1", n_boot=200)
    for g in k.groups:
        for kind in ("raw", "corrected"):
            for c in CLASSES:
                est = getattr(g.share[c], kind)
                if not np.isnan(est.ci95[0]):
                    assert est.ci95[1] - est.ci95[0] > 0.01, (g.brand, kind, c, est)
            net = getattr(g.net_sentiment, kind)
            if not np.isnan(net.ci95[0]):
                assert net.ci95[1] - net.ci95[0] > 0.01, (g.brand, kind, net)
    a = next(g for g in k.groups if g.brand == "A")
    assert a.share["neutral"].raw.value == 0 and a.share["neutral"].raw.ci95[1] == pytest.approx(0.110, abs=0.005)
    con.close()


def test_the_time_axis_follows_the_range():
    assert auto_period(dt.date(2026, 1, 1), dt.date(2026, 1, 2)) == "day"
    assert auto_period(dt.date(2025, 1, 1), dt.date(2026, 1, 1)) == "week"
    assert auto_period(dt.date(2015, 1, 1), dt.date(2025, 1, 1)) == "month"
    assert infer_period(pd.Series(pd.to_datetime(["2020-01-06", "2023-05-01"]))) == "week"


def _weekly(brand_periods: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    for brand, periods in brand_periods.items():
        for p in periods:
            rows.append({"brand": brand, "period": pd.Timestamp(p), "n": 10, "share_of_voice": 0.5,
                         **{f"net_{k}{s}": v for k in charts.KINDS for s, v in (("", 0.1), ("_lo", -0.1), ("_hi", 0.3))}})
    return pd.DataFrame(rows)


def test_a_weekly_line_breaks_where_weeks_have_no_posts():
    """Points years apart are not joined: a gap (None) separates them, and each stretch has its own band."""
    frame = _weekly({"Ours": ["2020-01-06", "2020-01-13", "2023-05-01", "2023-05-08"]})
    fig = charts.net_sentiment_chart(frame, kinds=("raw",))
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(lines) == 1 and len(bands) == 2
    assert sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in lines[0].y) == 1
    volume = charts.volume_chart(frame.assign(n=[3, 4, 5, 6]))
    assert sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in volume.data[0].y) == 1


def test_many_brands_stay_readable_and_one_brand_has_no_share_of_voice_bars():
    brands = {f"B{i:03d}": ["2024-01-01", "2024-01-08"] for i in range(40)}
    frame = _weekly(brands)
    frame["n"] = [1000 - i for i in range(len(frame))]  # B000 (ours, first) and then by volume
    volume = charts.volume_chart(frame)
    names = [t.name for t in volume.data]
    assert len(names) == charts.MAX_SERIES + 1 and names[0] == "B000" and names[-1] == charts.OTHERS
    other = volume.data[-1]
    assert sum(other.y) == frame[~frame["brand"].isin(charts.top_brands(frame))]["n"].sum()
    net = charts.net_sentiment_chart(frame, kinds=("raw",))
    assert len({t.name for t in net.data if t.mode == "lines+markers"}) == charts.MAX_SERIES
    assert "32 more not drawn" in net.layout.title.text
    sov = charts.share_of_voice_chart(_weekly({"Only": ["2024-01-01"]}))
    assert not sov.data and "pick competitors" in sov.layout.annotations[0].text


def test_kpi_table_reads_as_words_not_column_names(workspace):
    con = store.connect(workspace)
    _insert(con, [(f"a{i}", "A", dt.datetime(2024, 1, 1), i % 3) for i in range(40)])
    table = charts.kpi_table(brand_kpis(con, "m1", n_boot=100).by_group, kinds=("raw",))
    con.close()
    assert not any(c.endswith(("_lo", "_hi")) for c in table.columns)
    assert set(table["period"]) == {"whole range"} and "None" not in table.to_string()
    assert table.loc[0, "negative (raw)"].startswith("35.0% [")  # 14 of 40


def test_alerts_read_only_the_history_they_need_and_find_the_same(workspace):
    """detect_alerts(since=...) scores the same periods as over the whole history (ten years of days)."""
    con = store.connect(workspace)
    rng = np.random.default_rng(3)
    rows, i = [], 0
    start = dt.datetime(2016, 1, 1)
    for day in range(0, 3650, 3):
        for brand in ("A", "B"):
            for _ in range(int(rng.poisson(4 if day < 3600 else 4 + 20 * (day % 7 == 0)))):
                rows.append((f"p{i}", brand, start + dt.timedelta(days=day, hours=1), int(rng.integers(0, 3))))
                i += 1
    _insert(con, rows)
    since = start + dt.timedelta(days=3560)
    full = alerts.detect_alerts(con, model_id="m1", with_topics=False)
    full = full[full["period_start"] >= pd.Timestamp(since)].reset_index(drop=True)
    recent = alerts.detect_alerts(con, model_id="m1", since=since, with_topics=False).reset_index(drop=True)
    con.close()
    assert len(full) > 0
    pd.testing.assert_frame_equal(full, recent)


def test_page_scoring_moves_its_progress_bar():
    assert progress_chunk_size(379) < 379 // 10  # a review export shows progress, not "0 of 379" until done
    assert progress_chunk_size(10) >= 1 and progress_chunk_size(10**7) == 2048


def test_queue_size_counts_what_is_left_and_an_all_random_batch_needs_no_encoder(workspace):
    con = store.connect(workspace)
    _insert(con, [(f"a{i}", "A" if i < 5 else "B", dt.datetime(2024, 1, 1), i % 3) for i in range(12)])
    assert queue_size(con, "m1") == 12 and queue_size(con, "m1", brands=["A"]) == 5

    def no_encoder(texts):
        raise AssertionError("a random batch must not embed")

    batch = next_posts(con, "m1", n=6, random_share=1.0, embed=no_encoder)
    con.close()
    assert len(batch) == 6 and set(batch["chosen_by"]) == {"queue:random"}


def test_dashboard_creates_a_workspace_that_does_not_exist_yet(tmp_path):
    """`brandlens dashboard --workspace NEW.duckdb` creates it (the README's first step); a missing folder is an error."""
    from analytics.cli.dashboard import _served_workspace
    from analytics.core.errors import BrandLensError

    new = tmp_path / "mine.duckdb"
    assert _served_workspace(str(new)) == new.resolve() and new.is_file()
    with store.open_workspace(new, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts").fetchone() == (0,)
    with pytest.raises(BrandLensError, match="folder .* does not exist"):
        _served_workspace(str(tmp_path / "nowhere" / "x.duckdb"))
    cli = subprocess.run([sys.executable, "-m", "analytics.cli", "dashboard", "--workspace",
                          str(tmp_path / "nowhere" / "x.duckdb")], capture_output=True, text=True, timeout=120)
    assert cli.returncode != 0 and "Traceback" not in cli.stderr and "does not exist" in cli.stderr


def test_no_page_has_a_bare_string_that_streamlit_magic_would_draw():
    """Streamlit's magic writes any bare string of a page script on the page (a constant's docstring did)."""
    import ast

    from dashboard.navigation import PAGES_DIR

    found = []
    for path in sorted(Path(PAGES_DIR).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bodies = [tree.body[1:]] + [n.body[1:] for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        found += [f"{path.name}:{node.lineno}" for body in bodies for node in body
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str)]
    assert not found, f"bare strings that would be drawn on the page: {found}"


def test_a_trend_leaves_out_periods_with_a_handful_of_posts():
    frame = _weekly({"Ours": ["2024-01-01", "2024-01-08", "2024-01-15"]})
    frame["n"] = [1, 40, 2]
    fig = charts.net_sentiment_chart(frame, kinds=("raw",))
    line = next(t for t in fig.data if t.mode == "lines+markers")
    assert list(pd.to_datetime(line.x)) == [pd.Timestamp("2024-01-08")]
    assert any("fewer than 5 posts" in a.text for a in fig.layout.annotations)


def test_alerts_of_a_few_brands_are_those_found_among_all(workspace):
    """The Alerts page scores only the sidebar's brands: the same alerts as among all brands."""
    con = store.connect(workspace)
    rng = np.random.default_rng(5)
    rows, i = [], 0
    start = dt.datetime(2024, 1, 1)
    for day in range(200):
        for brand, first_day in (("A", 0), ("B", 60), ("C", 0)):
            if day < first_day:
                continue
            for _ in range(int(rng.poisson(5 if day != 150 else 40))):
                rows.append((f"p{i}", brand, start + dt.timedelta(days=day, hours=2), int(rng.integers(0, 3))))
                i += 1
    _insert(con, rows)
    everyone = alerts.detect_alerts(con, model_id="m1", with_topics=False)
    series: dict = {}
    some = alerts.detect_alerts(con, model_id="m1", with_topics=False, brands=["B"], series=series)
    con.close()
    assert len(some) > 0 and set(some["brand"]) == {"B"}
    pd.testing.assert_frame_equal(everyone[everyone["brand"] == "B"].reset_index(drop=True), some.reset_index(drop=True))
    assert set(series) == {("volume", "day"), ("negative_share", "day")}  # scored once, handed to the caller
