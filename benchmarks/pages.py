"""Speed of the dashboard pages on a workspace of 1,000,000 scored posts.

Builds the workspace with DuckDB SQL (``range``: synthetic posts for 6 brands over 90 days,
2% labelled, one model's predictions, the source aspects stored as topics), then for every page:

1. times its analytics queries (DuckDB) against a pandas baseline that computes the
   same per-group aggregates from an in-memory DataFrame (the DataFrame already loaded:
   the baseline's load time is printed separately);
2. times the page's first render through Streamlit's AppTest (cold ``st.cache_data``, modules
   already imported as in a running app).

Then the same pages on an export unlike the demo (``--long-posts``, default 100,000 posts of 300
brands over ten years), each page's first render and one control change.

Goal: each page below 2 s. Run: ``nice -n 10 .venv/bin/python benchmarks/pages.py [--posts 1000000]``
(``--only-long`` for the second workspace alone).
Figures are machine-dependent; nothing is written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BRANDS = ["Ours", "Rival", "Acme", "Globex", "Initech", "Umbrella"]


def build(path: Path, n: int) -> None:
    from analytics import store
    from analytics.brand.topics import aspect_topics

    with store.open_workspace(path) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, brand, created_at, text, original_text, author_hash, region,
                               language, aspect, gold_label, gold_origin, ingest_run)
            SELECT 'p' || i, 'bench', ?[1 + (hash(i) % 6)::INT],
                   TIMESTAMP '2026-01-01' + to_seconds((hash(i * 31) % (90 * 86400))::BIGINT),
                   'synthetic post number ' || i || ' about ' || ['delays', 'staff', 'prices', 'app'][1 + i % 4],
                   'synthetic post number ' || i, 'a' || (i % 50000), ['us', 'eu', 'apac'][1 + i % 3], 'en',
                   ['delay', 'staff', 'price', 'app'][1 + i % 4],
                   CASE WHEN i % 50 = 0 THEN ['negative', 'neutral', 'positive'][1 + (hash(i * 7) % 3)::INT] END,
                   CASE WHEN i % 50 = 0 THEN 'bench' END, 'bench'
            FROM range(?) t(i)
            """,
            [BRANDS, n],
        )
        # the model leans towards the true class (labelled posts) or a brand-specific mix
        con.execute(
            """
            INSERT INTO predictions
            SELECT post_id, 'default', a / s, b / s, c / s,
                   CASE WHEN a >= b AND a >= c THEN 'negative' WHEN b >= c THEN 'neutral' ELSE 'positive' END,
                   TIMESTAMP '2026-04-01'
            FROM (SELECT post_id, a, b, c, a + b + c AS s FROM (
                SELECT post_id, t,
                       random() + CASE WHEN t = 0 THEN 2.0 ELSE 0.3 END AS a,
                       random() + CASE WHEN t = 1 THEN 2.0 ELSE 0.3 END AS b,
                       random() + CASE WHEN t = 2 THEN 2.0 ELSE 0.3 END AS c
                FROM (SELECT post_id, CASE gold_label WHEN 'negative' THEN 0 WHEN 'neutral' THEN 1
                                          WHEN 'positive' THEN 2 ELSE (hash(post_id) % 3)::INT END AS t
                      FROM posts)))
            """
        )
        store.set_setting(con, "our_brand", "Ours")
        aspect_topics(con)  # the Topics page then renders its tables and charts, not its empty state


def build_long(path: Path, n: int) -> None:
    """An export unlike the demo: 300 brands (a few large, most small), ten years with quiet years, 1% labelled."""
    from analytics import store
    from analytics.brand.topics import aspect_topics

    with store.open_workspace(path) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, brand, created_at, text, original_text, language, aspect,
                               gold_label, gold_origin, ingest_run)
            SELECT 'p' || i, 'bench', 'Brand ' || lpad((floor(300 * pow((hash(i) % 1000000) / 1000000.0, 3)))::INT::VARCHAR, 3, '0'),
                   TIMESTAMP '2016-01-01' + to_seconds((floor(3650 * 86400 * sqrt((hash(i * 31) % 1000000) / 1000000.0)))::BIGINT),
                   'a long product review number ' || i || ' about ' || ['battery', 'price', 'support', 'delivery'][1 + i % 4],
                   'a long product review number ' || i, 'en', ['battery', 'price', 'support', 'delivery'][1 + i % 4],
                   CASE WHEN i % 100 = 0 THEN ['negative', 'neutral', 'positive'][1 + (hash(i * 7) % 3)::INT] END,
                   CASE WHEN i % 100 = 0 THEN 'bench' END, 'bench'
            FROM range(?) t(i)
            WHERE NOT (hash(i * 31) % 1000000 BETWEEN 300000 AND 360000)  -- a quiet stretch of years
            """,
            [n],
        )
        con.execute(
            """
            INSERT INTO predictions
            SELECT post_id, 'default', a / s, b / s, c / s,
                   CASE WHEN a >= b AND a >= c THEN 'negative' WHEN b >= c THEN 'neutral' ELSE 'positive' END,
                   TIMESTAMP '2026-04-01'
            FROM (SELECT post_id, a, b, c, a + b + c AS s FROM (
                SELECT post_id, random() + 0.6 AS a, random() + 0.3 AS b, random() + 0.9 AS c FROM posts))
            """
        )
        store.set_setting(con, "our_brand", "Brand 000")
        aspect_topics(con)


CONTROL_CHANGES = {
    "overview.py": ("radio", "ov_window", "last week"),
    "brand_monitor.py": ("radio", "bm_period", "week"),
    "labelling.py": ("radio", "lab_scope", "only the sidebar's brands"),
    "topics.py": ("number_input", None, 30),
}
"""One control per page changed after its first render (the issue's "every control change")."""


def render_pages(path: Path, state: dict, *, label: str) -> None:
    """First render of every page (cold caches) and, where listed, one control change, through AppTest."""
    from streamlit.testing.v1 import AppTest

    print(f"\n{label}")
    print(f"{'page':<24} {'first render s':>15} {'control change s':>17}  {'goal < 2 s':>10}  exception")
    for page_file in sorted((ROOT / "pages").glob("*.py")):
        at = AppTest.from_file(str(page_file), default_timeout=300)
        for k, v in state.items():
            at.session_state[k] = v
        t, _ = timed(at.run)
        change = float("nan")
        if page_file.name in CONTROL_CHANGES and not at.exception:
            kind, key, value = CONTROL_CHANGES[page_file.name]
            widgets = getattr(at, kind)
            widget = widgets(key=key) if key else widgets[0]
            change, _ = timed(lambda: widget.set_value(value).run())
        exc = at.exception[0].message.splitlines()[0][:60] if at.exception else ""
        ok = t < 2 and (change != change or change < 2)
        print(f"{page_file.name:<24} {t:>15.2f} {change:>17.2f}  {'yes' if ok else 'NO':>10}  {exc}")


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def pandas_baseline(frame, period: str):
    """The same per brand x period aggregates as analytics.brand.kpis.group_sums, with a pandas group-by."""
    import numpy as np

    f = frame
    keys = [f["brand"]] if period == "all" else [f["brand"], f["created_at"].dt.to_period(period[0].upper()).dt.start_time]
    # (the 'all' period also pools every brand, as the SQL grouping sets do: cheap, left out here)
    p = f[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    cols = {"c": np.eye(3)[p.argmax(1)], "s": p, "q": np.einsum("ni,nj->nij", p, p).reshape(len(p), 9)}
    import pandas as pd

    wide = pd.DataFrame(np.hstack(list(cols.values())), index=f.index)
    out = wide.groupby(keys).agg("sum")
    out["n"] = f.groupby(keys).size()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--workspace", default=None, help="reuse (or create) this workspace file")
    parser.add_argument("--long-posts", type=int, default=100_000,
                        help="posts of the second workspace: 300 brands over ten years (0 skips it)")
    parser.add_argument("--only-long", action="store_true", help="measure only the 300-brand, ten-year workspace")
    args = parser.parse_args()
    if args.only_long:
        _long(args.long_posts)
        return

    import duckdb  # noqa: F401
    from streamlit.testing.v1 import AppTest

    from analytics import store
    from analytics.brand.kpis import brand_kpis, brand_kpis_with_totals, group_rows, group_sums
    from analytics.brand.summary import executive_summary

    tmp = tempfile.TemporaryDirectory()
    path = Path(args.workspace) if args.workspace else Path(tmp.name) / "bench.duckdb"
    if not path.exists():
        t, _ = timed(lambda: build(path, args.posts))
        print(f"built {args.posts:,} scored posts in {t:.1f} s -> {path}")
    con = store.connect(path)  # same configuration as the pages' cached connection (one DuckDB instance)
    n = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
    lo, hi = con.execute("SELECT min(created_at)::DATE, max(created_at)::DATE FROM posts").fetchone()
    end = dt.datetime.combine(hi, dt.time()) + dt.timedelta(days=1)

    t_load, frame = timed(lambda: con.execute(
        "SELECT po.brand, po.created_at, pr.p_negative, pr.p_neutral, pr.p_positive FROM posts po "
        "JOIN predictions pr USING (post_id) WHERE pr.model_id = 'default'").df())
    print(f"{n:,} predictions; pandas baseline frame loaded in {t_load:.2f} s (not counted below)\n")

    brands = BRANDS[:3]
    ours = frame[frame["brand"].isin(brands)]
    week_ago = end - dt.timedelta(days=7)

    def kpi(period, method="PACC", **kw):
        return lambda: brand_kpis(con, "default", brands=brands, period=period, method=method, n_boot=500, **kw)

    def agg(period, **kw):
        return lambda: group_sums(con, "default", brands=brands, period=period, **kw)

    def pd_agg(period, sub=ours):
        return lambda: pandas_baseline(sub, period)

    last_week = ours[ours["created_at"] >= week_ago]
    # (page, what, full page computation, its SQL aggregation, the same aggregation in pandas)
    queries = [
        ("brand_monitor", "KPIs by week, PACC", kpi("week"), agg("week"), pd_agg("week")),
        ("brand_monitor", "KPIs by week + totals (page loader)", lambda: brand_kpis_with_totals(
            con, "default", brands=brands, period="week", n_boot=500), agg("week"), pd_agg("week")),
        ("brand_monitor", "KPIs whole range, PACC", kpi("all"), agg("all"), pd_agg("all")),
        ("brand_monitor", "KPIs by day, PACC", kpi("day"), agg("day"), pd_agg("day")),
        ("brand_monitor", "KPIs by month, EMQ (binned rows)", kpi("month", "EMQ"),
         lambda: group_rows(con, "default", brands=brands, period="month"), pd_agg("month")),
        ("overview", "summary: last week vs week before", lambda: executive_summary(
            con, "default", our_brand="Ours", brands=brands, end=end, n_boot=500),
         agg("all", start=week_ago, end=end), pd_agg("all", last_week)),
        ("overview", "trend: KPIs by week", kpi("week", end=end), agg("week", end=end), pd_agg("week")),
    ]
    queries += _other_pages(con)
    print("Times in seconds (best of 3). 'full' = SQL aggregation + bootstrap intervals, as the page runs it.")
    print(f"{'page':<14} {'query':<36} {'full':>6} {'SQL agg':>8} {'pandas agg':>10} {'pandas/SQL':>10}")
    for page_name, label, full, sql, baseline in queries:
        t_full, _ = timed(full, 3)
        t_sql, _ = timed(sql, 3) if sql else (float("nan"), None)
        t_pd, _ = timed(baseline, 3) if baseline else (float("nan"), None)
        print(f"{page_name:<14} {label:<36} {t_full:>6.2f} {t_sql:>8.3f} {t_pd:>10.3f} {t_pd / t_sql:>10.1f}")

    print(f"\n{'page':<24} {'first render s':>15}  {'goal < 2 s':>10}  exception")
    state = {"workspace": str(path), "our_brand": "Ours", "competitors": ["Rival", "Acme"],
             "date_range": (lo, hi), "model_id": "default"}
    # Imports are warmed (the app's process has them after its first page); caches are cold.
    import plotly.graph_objects  # noqa: F401
    import streamlit as st

    import analytics.figures.brand  # noqa: F401

    logging.disable(logging.WARNING)  # AppTest's bare-mode warnings, one per cached call
    st.cache_data.clear()
    for page_file in sorted((ROOT / "pages").glob("*.py")):
        at = AppTest.from_file(str(page_file), default_timeout=120)
        for k, v in state.items():
            at.session_state[k] = v
        t, _ = timed(at.run)
        exc = at.exception[0].message.splitlines()[0][:60] if at.exception else ""
        print(f"{page_file.name:<24} {t:>15.2f}  {'yes' if t < 2 else 'NO':>10}  {exc}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MiB")
    con.close()
    if args.long_posts:
        _long(args.long_posts)


def _long(n: int) -> None:
    """The pages on an export unlike the demo: 300 brands, ten years, top-5 competitors as the sidebar picks them."""
    import logging

    import streamlit as st

    from analytics import store
    from analytics.store import lookups

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.duckdb"
        t, _ = timed(lambda: build_long(path, n))
        with store.open_workspace(path, read_only=True) as con:
            brands = lookups.brands(con)
            lo, hi = lookups.date_bounds(con)
            count = con.execute("SELECT count(*) FROM posts").fetchone()[0]
        print(f"\nbuilt {count:,} posts, {len(brands)} brands, {lo} to {hi} in {t:.1f} s")
        state = {"workspace": str(path), "our_brand": brands[0], "competitors": brands[1:6],
                 "date_range": (lo, hi), "model_id": "default"}
        st.cache_data.clear()
        render_pages(path, state, label=f"{count:,} posts, {len(brands)} brands over ten years (issue 22):")


def _other_pages(con) -> list[tuple]:
    """The queries of the explorer, alerts and topics pages (their full time only; no pandas twin)."""
    from analytics.brand.alerts import detect_alerts
    from analytics.brand.explorer import search_posts
    from analytics.brand.topics import topic_overview

    return [
        ("post_explorer", "search_posts, first page", lambda: search_posts(con, model_id="default"), None, None),
        ("post_explorer", "search_posts, text query", lambda: search_posts(
            con, model_id="default", query="delays"), None, None),
        ("alerts", "detect_alerts, default rules", lambda: detect_alerts(con, model_id="default"), None, None),
        ("topics", "topic_overview, aspects", lambda: topic_overview(con, method="aspect", model_id="default"),
         None, None),
    ]


if __name__ == "__main__":
    main()
