"""Brand KPIs: hand-made arithmetic, intervals, correction with labels, the CLI's JSON, the demo truth."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from analytics.core.labels import CLASSES
from analytics import store
from analytics.cli import main as cli_main
from analytics.core.errors import BrandLensError
from analytics.brand.kpis import brand_kpis

T0 = dt.datetime(2026, 3, 2, 12)  # a Monday


def _insert(con, rows, model="m1"):
    """rows: (post_id, brand, created_at, predicted class index, gold label or None); one bulk insert."""
    frame = pd.DataFrame(rows, columns=["post_id", "brand", "created_at", "pred", "gold"])
    proba = np.full((len(frame), 3), 0.1)
    proba[np.arange(len(frame)), frame["pred"].to_numpy(int)] = 0.8
    frame[["p_negative", "p_neutral", "p_positive"]] = proba
    frame["label"] = [CLASSES[p] for p in frame["pred"]]
    frame["model_id"] = model
    con.register("new_rows", frame)
    con.execute(
        "INSERT INTO posts (post_id, source, brand, created_at, text, original_text, gold_label, gold_origin,"
        " ingest_run) SELECT post_id, 'test', brand, created_at, 't', 't', gold,"
        " CASE WHEN gold IS NOT NULL THEN 'source:test' END, 'r' FROM new_rows"
    )
    con.execute(
        "INSERT INTO predictions SELECT post_id, model_id, p_negative, p_neutral, p_positive, label,"
        " now()::TIMESTAMP FROM new_rows"
    )
    con.unregister("new_rows")


@pytest.fixture
def small(workspace):
    """Brand A: 3 negative, 2 neutral, 1 positive predicted; brand B: 1, 1, 2. No labels."""
    con = store.connect(workspace)
    rows = [(f"a{i}", "A", T0 + dt.timedelta(days=i if i < 5 else 7), p, None) for i, p in enumerate([0, 0, 0, 1, 1, 2])]
    rows += [(f"b{i}", "B", T0 + dt.timedelta(days=7 + i), p, None) for i, p in enumerate([0, 1, 2, 2])]
    _insert(con, rows)
    yield con
    con.close()


def test_hand_made_counts_shares_and_share_of_voice(small):
    k = brand_kpis(small, "m1", n_boot=200)
    a, b = k.groups
    assert (a.brand, a.n, b.brand, b.n) == ("A", 6, "B", 4)
    assert a.share_of_voice == pytest.approx(0.6) and b.share_of_voice == pytest.approx(0.4)
    assert [a.share[c].raw.value for c in CLASSES] == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    assert b.net_sentiment.raw.value == pytest.approx(2 / 4 - 1 / 4)
    assert a.net_sentiment.raw.value == pytest.approx(1 / 6 - 3 / 6)
    for g in k.groups:
        for c in CLASSES:
            lo, hi = g.share[c].raw.ci95
            assert 0 <= lo <= g.share[c].raw.value <= hi <= 1
    assert k.overall.brand is None and k.overall.n == 10
    assert k.overall.share["negative"].raw.value == pytest.approx(0.4)


def test_raw_interval_is_the_bootstrap_of_a_proportion(workspace):
    con = store.connect(workspace)
    _insert(con, [(f"p{i}", "A", T0, 0 if i < 300 else 1, None) for i in range(1000)])
    neg = brand_kpis(con, "m1", n_boot=2000).groups[0].share["negative"].raw
    se = np.sqrt(0.3 * 0.7 / 1000)
    assert neg.ci95[0] == pytest.approx(0.3 - 1.96 * se, abs=0.006)
    assert neg.ci95[1] == pytest.approx(0.3 + 1.96 * se, abs=0.006)


def test_without_labels_the_correction_falls_back_with_a_reason(small):
    k = brand_kpis(small, "m1", n_boot=100)
    assert k.correction.fell_back and "needs 50 random (representative) labels and has 0" in k.correction.fallback_reason
    assert k.correction.random_labels_needed == 50 and k.correction.kind == "raw"
    g = k.groups[0]
    assert g.share["negative"].method == "CC"
    assert g.share["negative"].corrected == g.share["negative"].raw
    assert "No correction" in k.correction.text()


def test_periods_split_by_week_and_share_of_voice_is_per_period(small):
    k = brand_kpis(small, "m1", period="week", n_boot=100)
    frame = k.by_group
    assert list(frame["brand"]) == ["A", "A", "B"]
    assert list(frame["n"]) == [5, 1, 4]  # A's sixth post falls on the next Monday
    assert frame.groupby("period")["share_of_voice"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert set(k.to_records()[0]) == {"brand", "n", "share", "net_sentiment", "share_of_voice", "period", "note"}
    assert k.to_records()[0]["note"] == "too few posts (n = 5): needs 30"  # added for small groups (issue 22)
    assert k.to_records()[0]["period"] == "2026-03-02"


def test_filters_and_errors(small):
    k = brand_kpis(small, "m1", brands=["B"], n_boot=50)
    assert [g.brand for g in k.groups] == ["B"] and k.groups[0].share_of_voice == 1.0
    k = brand_kpis(small, "m1", start=T0, end=T0 + dt.timedelta(days=2), n_boot=50)
    assert k.groups[0].n == 2
    with pytest.raises(BrandLensError, match="no posts scored by model 'other'"):
        brand_kpis(small, "other")
    with pytest.raises(ValueError, match="period must be one of"):
        brand_kpis(small, "m1", period="year")
    with pytest.raises(ValueError, match="method must be one of"):
        brand_kpis(small, "m1", method="nope")


@pytest.fixture
def labelled(workspace):
    """A model that calls 40% of negatives neutral; 600 labelled posts; brand X is 70% negative."""
    rng = np.random.default_rng(0)
    confusion = np.array([[0.6, 0.4, 0.0], [0.1, 0.85, 0.05], [0.0, 0.15, 0.85]])
    con = store.connect(workspace)
    rows = []
    for i, y in enumerate(rng.choice(3, size=600, p=[1 / 3, 1 / 3, 1 / 3])):
        rows.append((f"l{i}", "L", T0, rng.choice(3, p=confusion[y]), CLASSES[y]))
    truth = rng.choice(3, size=3000, p=[0.7, 0.2, 0.1])
    rows += [(f"x{i}", "X", T0, rng.choice(3, p=confusion[y]), None) for i, y in enumerate(truth)]
    _insert(con, rows)
    yield con, float((truth == 0).mean())
    con.close()


@pytest.mark.parametrize("method", ["ACC", "PACC", "EMQ"])
def test_correction_uses_the_labelled_posts(labelled, method):
    con, true_neg = labelled
    k = brand_kpis(con, "m1", brands=["X"], method=method, n_boot=200)
    neg = k.groups[0].share["negative"]
    assert neg.method == method and not k.correction.fell_back
    assert k.correction.n_labelled == 600 and k.correction.origins == {"source:test": 600}
    assert abs(neg.raw.value - true_neg) > 0.2  # the model misses many negatives
    assert abs(neg.corrected.value - true_neg) < 0.06  # EMQ too: it recalibrates on the labelled posts
    assert neg.corrected.ci95[0] <= true_neg <= neg.corrected.ci95[1]
    assert neg.corrected.ci95[1] - neg.corrected.ci95[0] > neg.raw.ci95[1] - neg.raw.ci95[0]


def test_label_corrections_flow_into_the_correction(labelled):
    con, _ = labelled
    con.execute("INSERT INTO label_corrections (post_id, label, origin, corrected_at) VALUES ('x1', 'negative', 'explorer:test', now()::TIMESTAMP)")
    k = brand_kpis(con, "m1", brands=["X"], n_boot=50)
    assert k.correction.n_labelled == 601 and k.correction.origins["explorer:test"] == 1


def test_cli_prints_the_json_shape(labelled, workspace, capsys):
    con, _ = labelled
    con.close()
    code = cli_main(["kpis", "--workspace", str(workspace), "--by", "brand", "--n-boot", "100", "--json"])
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert isinstance(records, list) and [r["brand"] for r in records] == ["L", "X"]
    r = records[1]
    assert set(r) == {"brand", "n", "share", "net_sentiment", "share_of_voice"}
    assert r["n"] == 3000 and r["share_of_voice"] == pytest.approx(3000 / 3600)
    assert set(r["share"]) == {"negative", "neutral", "positive"}
    for entry in (*r["share"].values(), r["net_sentiment"]):
        assert set(entry) == {"raw", "corrected"}
        assert set(entry["raw"]) == {"value", "ci95"} and len(entry["raw"]["ci95"]) == 2
        assert set(entry["corrected"]) == {"value", "ci95", "method"} and entry["corrected"]["method"] == "PACC"
    code = cli_main(["kpis", "--workspace", str(workspace), "--period", "day", "--n-boot", "50", "--json"])
    assert code == 0 and all("period" in r for r in json.loads(capsys.readouterr().out))


def test_cli_reports_a_missing_workspace(tmp_path, capsys):
    assert cli_main(["kpis", "--workspace", str(tmp_path / "none.duckdb"), "--json"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_truth_corrected_is_closer_than_raw(demo_workspace, tmp_path):
    """On the demo data (true sentiment known), 300 posts get their true label; the rest is estimated."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_workspace, path)
    con = store.connect(path)
    con.execute("UPDATE posts SET gold_label = NULL, gold_origin = NULL")
    con.execute(
        "UPDATE posts SET gold_label = extra->>'true_label', gold_origin = 'demo:true_label' "
        "WHERE post_id IN (SELECT post_id FROM posts ORDER BY hash(post_id) LIMIT 300)"
    )
    truth = dict(con.execute(
        "SELECT brand, avg((extra->>'true_label' = 'negative')::INT) FROM posts GROUP BY brand").fetchall())
    errors = {"raw": [], "corrected": []}
    for model in ("default", "vader"):
        k = brand_kpis(con, model, n_boot=300)
        assert not k.correction.fell_back
        for g in k.groups:
            neg = g.share["negative"]
            errors["raw"].append(abs(neg.raw.value - truth[g.brand]))
            errors["corrected"].append(abs(neg.corrected.value - truth[g.brand]))
    assert np.mean(errors["corrected"]) < np.mean(errors["raw"])


@pytest.mark.parametrize("method", ["PACC", "EMQ"])
def test_totals_from_periods_match_the_whole_range(labelled, method):
    from analytics.brand.kpis import brand_kpis_with_totals

    con, _ = labelled
    con.execute("UPDATE posts SET created_at = created_at + to_days((hash(post_id) % 20)::INT)")
    over_time, whole = brand_kpis_with_totals(con, "m1", period="week", method=method, n_boot=100)
    direct = brand_kpis(con, "m1", period="all", method=method, n_boot=100)
    assert len(over_time.groups) > 2 and whole.period == "all"
    assert [g.brand for g in whole.groups] == [g.brand for g in direct.groups]
    for a, b in zip(whole.groups, direct.groups):
        assert a.n == b.n and a.share_of_voice == pytest.approx(b.share_of_voice)
        for c in CLASSES:
            assert a.share[c].raw.value == pytest.approx(b.share[c].raw.value)
            assert a.share[c].corrected.value == pytest.approx(b.share[c].corrected.value, abs=1e-6)
    assert sum(g.n for g in over_time.groups) == over_time.overall.n == 3600


def test_two_periods_match_separate_queries(labelled):
    from analytics.brand.kpis import brand_kpis_two_periods

    con, _ = labelled
    con.execute("UPDATE posts SET created_at = created_at + to_days((hash(post_id) % 14)::INT)")
    start, split, end = T0, T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=14)
    previous, current = brand_kpis_two_periods(con, "m1", start=start, split_at=split, end=end, n_boot=100)
    for part, (lo, hi) in ((previous, (start, split)), (current, (split, end))):
        direct = brand_kpis(con, "m1", start=lo, end=hi, n_boot=100)
        assert [(g.brand, g.n) for g in part.groups] == [(g.brand, g.n) for g in direct.groups]
        for a, b in zip(part.groups, direct.groups):
            assert a.share_of_voice == pytest.approx(b.share_of_voice)
            assert a.share["negative"].corrected.value == pytest.approx(b.share["negative"].corrected.value)
    with pytest.raises(ValueError, match="start < split_at < end"):
        brand_kpis_two_periods(con, "m1", start=split, split_at=start, end=end)


# --- honest at any sample size (issue 22, items 4 and 8) ----------------------------------------
def test_sixty_queue_labels_leave_the_correction_off_and_the_banner_says_why(workspace):
    """After 60 labels through the queue only its 15 random ones measure the model: the banner says so."""
    from analytics.brand.explorer import correct_label
    from analytics.figures import brand as charts

    con = store.connect(workspace)
    _insert(con, [(f"p{i}", "A" if i % 2 else "B", T0 + dt.timedelta(days=i % 20), i % 3, None) for i in range(400)])
    for i in range(60):
        correct_label(con, f"p{i}", CLASSES[i % 3], origin="labelling",
                      chosen_by="queue:random" if i % 4 == 0 else "queue:active")
    k = brand_kpis(con, "m1", n_boot=50)
    note = k.correction
    assert note.fell_back and note.kind == "raw" and note.random_labels_needed == 35
    banner = note.banner()
    assert banner.startswith("Shown raw, the correction is off: it needs 50 random (representative) labels and has 15")
    assert "queue's other 45 labels were picked to teach the model" in banner
    assert "label about 35 more random posts on the Labelling page" in banner and "Post explorer" not in banner
    assert note.to_dict()["random_labels_needed"] == 35
    # every chart names the figures by what they are: raw
    assert charts.shares_chart(k.by_group, kind="corrected").layout.title.text.startswith("Sentiment shares (raw (correction off))")
    assert "raw (correction off)" in charts.share_comparison_chart(k.by_group).layout.title.text
    net = charts.net_sentiment_chart(k.by_group, kinds=("corrected", "raw"))
    assert [a.text for a in net.layout.annotations] == ["raw (correction off)", "raw"]
    for i in range(60, 120):  # 60 more random labels: the correction switches on, titles say corrected
        correct_label(con, f"p{i}", CLASSES[i % 3], origin="labelling", chosen_by="queue:random")
    k = brand_kpis(con, "m1", n_boot=50)
    assert not k.correction.fell_back and k.correction.kind == "corrected" and k.correction.banner() == ""
    assert charts.shares_chart(k.by_group, kind="corrected").layout.title.text.startswith("Sentiment shares (corrected)")


def test_a_period_with_a_handful_of_posts_gives_no_headline_figure(small):
    from analytics.brand.kpis import MIN_PERIOD_POSTS
    from analytics.figures import brand as charts

    k = brand_kpis(small, "m1", period="day", n_boot=100)
    one = next(g for g in k.groups if g.n == 1)
    assert one.too_few == f"too few posts (n = 1): needs {MIN_PERIOD_POSTS}"
    assert one.to_dict()["note"] == one.too_few
    cards = {c.label: c for c in charts.kpi_cards(one, one)}
    for label in ("Net sentiment", "Negative share"):
        assert cards[label].value == "too few posts" and cards[label].interval == one.too_few
        assert cards[label].delta is None
    assert cards["Volume"].value == "1"
    big = brand_kpis(small, "m1", n_boot=100).overall  # 10 posts: still too few
    assert big.too_few == f"too few posts (n = 10): needs {MIN_PERIOD_POSTS}"


def test_enough_posts_give_the_figure_with_its_interval(labelled):
    from analytics.figures import brand as charts

    con, _ = labelled
    x = next(g for g in brand_kpis(con, "m1", n_boot=100).groups if g.brand == "X")
    assert x.too_few is None and "note" not in x.to_dict()
    net = next(c for c in charts.kpi_cards(x) if c.label == "Net sentiment")
    assert net.value.startswith(("+", "-")) and net.interval.startswith("95% CI")


def test_the_executive_summary_says_when_our_brand_has_too_few_posts(small):
    from analytics.brand.summary import executive_summary

    summary = executive_summary(small, "m1", our_brand="B", start=T0, end=T0 + dt.timedelta(days=14), n_boot=50)
    assert summary.ours.n == 4 and summary.too_few == "too few posts (n = 4): needs 30"


def test_cli_table_marks_groups_with_too_few_posts(small, workspace, capsys):
    small.close()
    assert cli_main(["kpis", "--workspace", str(workspace), "--n-boot", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    a = next(line for line in lines if line.startswith("A "))
    assert a.endswith("too few posts (n = 6): needs 30")
