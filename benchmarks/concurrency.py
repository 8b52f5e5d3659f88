"""The dashboard and a scheduled job on one workspace: page render times and job time, shared vs alone.

1. Builds a demo workspace (``--posts``, scored by the default model) and three export files of
   ``--file-posts`` new posts each.
2. **Pages alone**: renders the dashboard's pages in a loop through Streamlit's AppTest (the real
   entry point; query caches cleared before each render, so every render reads the workspace),
   for ``--seconds``: p50/p95 per render.
3. **Job alone**: ``brandlens run --once`` (ingest the three files, score them with the default
   model, detect alerts) on a fresh copy, timed.
4. **Together**: the same job on another fresh copy in another process while the page loop runs
   until the job ends: page p50/p95, job time, and errors (exceptions or error boxes on a page,
   a non-zero exit of the job; goal 0). Lock waits are counted from the pages' toasts.

Both sides compete for the same 2 cores in step 4, so part of the slow-down is CPU, not the
lock: the "pages alone while a CPU burner runs" row separates the two.

Run alone on the machine: ``nice -n 10 .venv/bin/python benchmarks/concurrency.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
PAGES = ("overview.py", "brand_monitor.py", "topics.py", "alerts.py", "post_explorer.py", "data.py",
         "model_evaluation.py")


def build(path: Path, n_posts: int) -> None:
    from analytics import store
    from analytics.demo import generate_demo
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    with store.open_workspace(path) as con:
        generate_demo(con, seed=7, n_posts=n_posts)
        score_workspace(con, load_model("default", device="cpu"))


def exports(folder: Path, workspace: Path, n: int) -> None:
    from analytics import store

    with store.open_workspace(workspace, read_only=True) as con:
        brands = [r[0] for r in con.execute("SELECT DISTINCT brand FROM posts ORDER BY 1").fetchall()]
        newest = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
    texts = ["the app keeps crashing since the update", "great support, fixed in minutes",
                         "bill doubled, no answer from the hotline", "love the new plan", "network down again today"]
    rng = random.Random(0)
    import pandas as pd

    folder.mkdir()
    for f in range(3):
        rows = [{"text": f"{rng.choice(texts)} ({f}-{i})", "brand": rng.choice(brands),
                 "created_at": (newest + dt.timedelta(minutes=5 * i + f)).isoformat()} for i in range(n)]
        pd.DataFrame(rows).to_csv(folder / f"export-{f}.csv", index=False)
        os.utime(folder / f"export-{f}.csv", (time.time() - 60, time.time() - 60))


def render_loop(workspace: Path, *, until, errors: list[str], waits: list[str]) -> list[float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.navigation import PAGES_DIR

    for name in ("streamlit", "streamlit.runtime.caching.storage.dummy_cache_storage"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ["BRANDLENS_WORKSPACE"] = str(workspace)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
    at.session_state["workspace"] = str(workspace)
    at.run()
    times, i = [], 0
    while not until(len(times)):
        page = PAGES[i % len(PAGES)]
        i += 1
        st.cache_data.clear()
        t = time.perf_counter()
        at.switch_page(str(PAGES_DIR / page)).run()
        times.append(time.perf_counter() - t)
        errors += [f"{page}: {e.value}" for e in at.exception] + [f"{page}: {e.value}" for e in at.error]
        waits += [t.value for t in at.toast if "busy" in str(t.value)]
    return times


def job(workspace: Path, inbox: Path) -> tuple[float, int, dict]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "analytics.cli", "run", "--workspace", str(workspace), "--inbox",
                           str(inbox), "--once", "--model", "default", "--json"],
                          capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - t
    return seconds, done.returncode, (json.loads(done.stdout) if done.returncode == 0 else {"stderr": done.stderr[-500:]})


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--file-posts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the idle page loop")
    args = parser.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = tmp / "base.duckdb"
        print(f"building a {args.posts:,}-post demo workspace ...", file=sys.stderr)
        build(base, args.posts)
        exports(tmp / "inbox", base, args.file_posts)

        rows = []
        idle = tmp / "idle.duckdb"
        shutil.copy(base, idle)
        errors: list[str] = []
        waits: list[str] = []
        start = time.perf_counter()
        alone = render_loop(idle, until=lambda n: time.perf_counter() - start > args.seconds, errors=errors, waits=waits)
        rows.append(("pages alone", len(alone), pct(alone, 50), pct(alone, 95), None, len(errors), len(waits)))

        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            errors, waits, start = [], [], time.perf_counter()
            cpu = render_loop(idle, until=lambda n: time.perf_counter() - start > args.seconds / 2, errors=errors,
                              waits=waits)
        finally:
            burner.kill()
        rows.append(("pages, a CPU burner beside", len(cpu), pct(cpu, 50), pct(cpu, 95), None, len(errors), len(waits)))

        solo = tmp / "solo.duckdb"
        shutil.copy(base, solo)
        shutil.copytree(tmp / "inbox", tmp / "inbox-solo", copy_function=shutil.copy2)
        job_alone, rc, summary = job(solo, tmp / "inbox-solo")
        rows.append(("job alone", None, None, None, job_alone, int(rc != 0), 0))

        shared = tmp / "shared.duckdb"
        shutil.copy(base, shared)
        shutil.copytree(tmp / "inbox", tmp / "inbox-shared", copy_function=shutil.copy2)
        proc_start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "analytics.cli", "run", "--workspace", str(shared), "--inbox",
                                 str(tmp / "inbox-shared"), "--once", "--model", "default", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        errors, waits = [], []
        together = render_loop(shared, until=lambda n: proc.poll() is not None, errors=errors, waits=waits)
        out, err = proc.communicate()
        job_shared = time.perf_counter() - proc_start
        shared_summary = json.loads(out) if proc.returncode == 0 else {"stderr": err[-500:]}
        rows.append(("pages during the job", len(together), pct(together, 50) if together else float("nan"),
                     pct(together, 95) if together else float("nan"), None, len(errors), len(waits)))
        rows.append(("job beside the pages", None, None, None, job_shared, int(proc.returncode != 0), 0))

    print(f"\nworkspace {args.posts:,} posts; job: 3 files x {args.file_posts:,} posts, ingest + score (default model) "
          f"+ alerts; {os.cpu_count()} CPUs\n")
    print(f"{'':30} {'renders':>8} {'p50 s':>7} {'p95 s':>7} {'job s':>7} {'errors':>7} {'lock waits':>10}")
    for name, n, p50, p95, job_s, errs, lock in rows:
        cell = lambda v, f: f"{v:{f}}" if v is not None else "-"  # noqa: E731
        print(f"{name:30} {cell(n, '8d'):>8} {cell(p50, '7.2f'):>7} {cell(p95, '7.2f'):>7} {cell(job_s, '7.1f'):>7} "
              f"{errs:>7} {lock:>10}")
    print(f"\npage p50 during the job / alone: {pct(together, 50) / pct(alone, 50):.2f}x; "
          f"p95: {pct(together, 95) / pct(alone, 95):.2f}x; job beside pages / alone: {job_shared / job_alone:.2f}x")
    print(f"job alone stored {summary.get('stored')} scored {summary.get('scored')}; "
          f"beside pages stored {shared_summary.get('stored')} scored {shared_summary.get('scored')}")
    if errors:
        print("errors:", *errors[:10], sep="\n  ")


if __name__ == "__main__":
    main()
