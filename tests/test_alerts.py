"""Alerts: a planted spike fires, flat and weekly-seasonal data do not, rules round-trip."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.brand.alerts import (
    add_rule,
    alert_posts,
    count_open_alerts,
    delete_rule,
    detect_alerts,
    list_rules,
    period_counts,
    replace_rules,
    score_series,
    update_rule,
)

START = dt.datetime(2024, 1, 1)  # a Monday


def insert_posts(con, daily: dict[str, list[tuple[int, int]]], *, topic_of=None) -> None:
    """Posts per brand and day: daily[brand][d] = (n_posts, n_negative); predictions by model 'm'."""
    rows = []
    for brand, days in daily.items():
        for d, (n, neg) in enumerate(days):
            for i in range(n):
                label = "negative" if i < neg else "positive"
                rows.append((f"{brand}-{d}-{i}", brand, START + dt.timedelta(days=d, hours=i % 24),
                             f"post {i} about things", label, topic_of(brand, d, i) if topic_of else 0))
    frame = pd.DataFrame(rows, columns=["post_id", "brand", "created_at", "text", "label", "topic_id"])
    con.register("_rows", frame)
    con.execute("INSERT INTO posts (post_id, source, brand, created_at, text, original_text, ingest_run) "
                "SELECT post_id, 'test', brand, created_at, text, text, 'r' FROM _rows")
    con.execute("INSERT INTO predictions SELECT post_id, 'm', (label='negative')::DOUBLE, 0.0, "
                "(label='positive')::DOUBLE, label, now()::TIMESTAMP FROM _rows")
    con.execute("INSERT INTO topics SELECT post_id, 'aspect', topic_id FROM _rows")
    con.execute("INSERT INTO topic_labels VALUES ('aspect', 0, 'everyday', '[]'), ('aspect', 1, 'outage', '[]')")
    con.unregister("_rows")


def weekly(days: int, rng, *, weekday=100, weekend=30, neg_share=0.2):
    out = []
    for d in range(days):
        n = int(rng.poisson(weekend if (START + dt.timedelta(days=d)).weekday() >= 5 else weekday))
        out.append((n, int(rng.binomial(n, neg_share))))
    return out


@pytest.fixture
def con(workspace):
    c = store.connect(workspace)
    yield c
    c.close()


def test_weekly_seasonality_does_not_fire_but_the_simple_rule_does(con):
    rng = np.random.default_rng(1)
    insert_posts(con, {"A": weekly(84, rng)})
    alerts = detect_alerts(con, model_id="m")
    assert alerts.empty, alerts[["metric", "period_start", "z"]]
    # the common rule (7-day mean + 3 std) fires on Mondays after quiet weekends? It sees the weekend dip.
    series = score_series(period_counts(con, model_id="m"), metric="volume")
    assert np.nanmax(series["z"]) < 3.5
    assert (series["simple_z"].abs() > 1.5).any()  # the naive baseline is shaken by the weekly rhythm


def test_flat_data_raises_nothing(con):
    rng = np.random.default_rng(2)
    flat = {brand: [int(n) for n in rng.poisson(mean, 70)] for brand, mean in (("A", 50), ("B", 5))}
    insert_posts(con, {b: [(n, int(rng.binomial(n, 0.3))) for n in counts] for b, counts in flat.items()})
    assert detect_alerts(con, model_id="m").empty


def test_planted_volume_and_negative_spike_fires_with_reason_and_topic(con):
    rng = np.random.default_rng(3)
    days = weekly(84, rng)
    spike_day = 70  # a Monday... whichever weekday: the baseline is the same weekday
    n, _ = days[spike_day]
    days[spike_day] = (3 * n, int(0.2 * n) + 2 * n)  # triple volume, the extra posts all negative
    insert_posts(con, {"A": days, "B": weekly(84, rng)},
                 topic_of=lambda b, d, i: 1 if (b == "A" and d == spike_day and i >= 40) else 0)
    alerts = detect_alerts(con, model_id="m")
    spike = pd.Timestamp(START + dt.timedelta(days=spike_day))
    fired = alerts[alerts["period_start"] == spike]
    assert set(fired["metric"]) == {"volume", "negative_share"}
    assert set(fired["brand"]) == {"A"}
    assert len(alerts) == len(fired)  # nothing else fires
    vol = fired[fired["metric"] == "volume"].iloc[0]
    assert vol["observed"] == 3 * n and vol["size"] > 1.5 * n
    assert "robust z" in vol["reason"] and vol["z"] >= vol["threshold"]
    assert vol["topic_label"] == "outage"
    posts = alert_posts(con, brand="A", metric="negative_share", start=spike.to_pydatetime(),
                        end=spike.to_pydatetime() + dt.timedelta(days=1), model_id="m")
    assert len(posts) > 0 and (posts["label"] == "negative").all()
    assert count_open_alerts(con, model_id="m", as_of=START + dt.timedelta(days=spike_day + 3)) == 2
    assert count_open_alerts(con, model_id="m", as_of=START + dt.timedelta(days=spike_day + 20)) == 0


def test_tiny_days_do_not_fire_on_negative_share(con):
    rng = np.random.default_rng(4)
    days = [(int(rng.poisson(40)), 0) for _ in range(60)]
    days = [(n, int(rng.binomial(n, 0.2))) for n, _ in days]
    days[50] = (3, 3)  # three posts, all negative: 100% share but no evidence
    insert_posts(con, {"A": days})
    alerts = detect_alerts(con, model_id="m", rules=pd.DataFrame(
        {"rule_id": ["r"], "brand": [None], "metric": ["negative_share"], "threshold": [3.0], "period": ["day"]}))
    assert alerts.empty


def test_rules_crud_and_stored_rules_are_used(con):
    rid = add_rule(con, metric="volume", threshold=4.0, brand="A")
    update_rule(con, rid, threshold=5.0, enabled=False)
    rules = list_rules(con)
    assert rules.loc[0, "threshold"] == 5.0 and not rules.loc[0, "enabled"]
    with pytest.raises(ValueError, match="metric"):
        add_rule(con, metric="likes", threshold=3)
    with pytest.raises(ValueError, match="threshold"):
        update_rule(con, rid, threshold=-1)
    with pytest.raises(ValueError, match="row 2"):
        replace_rules(con, pd.DataFrame({"metric": ["volume", "nope"], "threshold": [3, 3]}))
    assert len(list_rules(con)) == 1  # nothing written by the failed replace
    assert replace_rules(con, pd.DataFrame({"metric": ["volume"], "threshold": [3.0], "brand": [""]})) == 1
    assert list_rules(con).loc[0, "brand"] is None
    delete_rule(con, list_rules(con).loc[0, "rule_id"])
    assert list_rules(con).empty


# ---------------------------------------------------------------- page (AppTest)

def test_alerts_page_lists_alerts_why_and_saves_rules(workspace):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    con = store.connect(workspace)
    rng = np.random.default_rng(3)
    days = weekly(84, rng)
    days[70] = (4 * days[70][0], 3 * days[70][0])
    insert_posts(con, {"A": days})
    con.close()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "alerts.py"), default_timeout=60)
    at.session_state["workspace"] = str(workspace)
    at.session_state["model_id"] = "m"
    at.session_state["our_brand"] = "A"
    at.run()
    assert not at.exception and not at.error
    listed = at.dataframe[0].value
    assert set(listed["metric"]) == {"volume", "negative_share"}
    assert listed["reason"].str.contains("robust z").all()
    assert any("Why it fired" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    next(b for b in at.button if b.label == "Save rules").click().run()  # the default rules are stored
    assert not at.exception
    with store.open_workspace(workspace) as c:
        assert len(list_rules(c)) == 2


def test_robust_rule_beats_the_simple_rule_on_seasonal_data():
    """+60% spikes planted on seasonal series: the robust z finds more, with no false alarms."""
    found = {"robust": [0, 0], "simple": [0, 0]}  # [detected, false alarms]
    for seed in range(10):
        con = store.connect(":memory:")
        rng = np.random.default_rng(seed)
        days = weekly(84, rng)
        spike = 60 + seed
        n, neg = days[spike]
        days[spike] = (int(1.6 * n), neg + int(0.6 * n))
        insert_posts(con, {"A": days})
        s = score_series(period_counts(con, model_id="m"), metric="volume")
        s = s[s["period_start"] >= pd.Timestamp(START + dt.timedelta(days=42))]
        is_spike = s["period_start"] == pd.Timestamp(START + dt.timedelta(days=spike))
        for name, z in (("robust", s["z"]), ("simple", s["simple_z"])):
            fired = z.fillna(-np.inf) >= 3.5
            found[name][0] += int((fired & is_spike).sum())
            found[name][1] += int((fired & ~is_spike).sum())
        con.close()
    assert found["robust"][1] == 0
    assert found["robust"][0] > found["simple"][0]
    assert found["robust"][0] >= 5


def test_demo_crisis_fires_only_inside_the_crisis_window(workspace):
    """On the demo data the planted crisis fires (volume and negative share), nothing else does."""
    pytest.importorskip("analytics.demo")
    import json

    from analytics.demo import generate_demo

    con = store.connect(workspace)
    generate_demo(con, seed=7, n_posts=4000)
    con.execute("INSERT INTO predictions SELECT post_id, 'truth', (l = 'negative')::DOUBLE, (l = 'neutral')::DOUBLE, "
                "(l = 'positive')::DOUBLE, l, now()::TIMESTAMP FROM (SELECT post_id, extra->>'true_label' AS l FROM posts)")
    truth = json.loads(store.get_setting(con, "demo_truth"))
    alerts = detect_alerts(con, model_id="truth")
    start, end = pd.Timestamp(truth["start"]), pd.Timestamp(truth["end"])
    assert len(alerts) >= 4
    assert set(alerts["metric"]) == {"volume", "negative_share"}
    assert set(alerts["brand"]) == {truth["brand"]}
    assert alerts["period_start"].between(start, end).all()
    # the simple 7-day rule catches fewer of these days than the robust baseline
    assert alerts["simple_fired"].sum() < len(alerts)
    con.close()


def test_alert_timeline_marks_fired_points_inside_the_band_chart(con):
    from analytics.brand.alerts import alert_series
    from analytics.figures.alerts import alert_timeline

    rng = np.random.default_rng(3)
    days = weekly(84, rng)
    days[70] = (4 * days[70][0], days[70][1])
    insert_posts(con, {"A": days})
    alerts = detect_alerts(con, model_id="m")
    fig = alert_timeline(alert_series(con, model_id="m", metric="volume"), alerts, brand="A", threshold=3.5)
    names = [t.name for t in fig.data]
    assert "robust baseline" in names and "observed" in names
    fired = fig.data[names.index("alert fired")]
    assert list(pd.to_datetime(fired.x)) == [pd.Timestamp(START + dt.timedelta(days=70))]


def test_a_message_link_opens_the_alerts_page_on_its_alert(workspace):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from analytics.notify.messages import alerts_page_url

    con = store.connect(workspace)
    rng = np.random.default_rng(3)
    days = weekly(84, rng)
    days[70] = (4 * days[70][0], 3 * days[70][0])
    insert_posts(con, {"A": days, "B": weekly(84, rng)})
    found = detect_alerts(con, model_id="m")
    con.close()
    first = found.iloc[0]
    url = alerts_page_url("http://127.0.0.1:8501", {"brand": first["brand"], "period_start": first["period_start"].isoformat()})
    query = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "alerts.py"), default_timeout=60)
    at.session_state["workspace"] = str(workspace)
    at.session_state["model_id"] = "m"
    at.query_params["brand"] = first["brand"]
    at.query_params["period_start"] = query["period_start"]
    at.run()
    assert not at.exception and not at.error
    listed = at.dataframe[0].value
    assert set(listed["brand"]) == {first["brand"]}
    assert set(listed["period_start"].dt.strftime("%Y-%m-%d")) == {query["period_start"]}
