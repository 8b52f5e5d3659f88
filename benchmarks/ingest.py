"""Benchmark: BrandLens ingest vs a plain ``pandas.read_csv`` + DuckDB insert, same file, same run.

Writes a synthetic brand-monitoring export (text with HTML entities and escapes, day-first
dotted times, brands, word labels, confidences, author names, one unmapped column) of
``--rows`` rows to a temporary directory, then runs each contender in its own subprocess so
that peak memory (``ru_maxrss``) is measured per contender:

* **baseline** — ``pandas.read_csv`` of the whole file, ``INSERT INTO t SELECT * FROM df``
  into a fresh DuckDB file. No cleaning, no checks, no ids: the floor for "read and store".
* **brandlens** — :func:`analytics.ingest.ingest_file` into a fresh workspace with the
  guessed mapping (chunked reading, cleaning, date/label checks, quarantine, ids, dedup).

Prints rows/s for both, the ratio, and peak RSS. Usage::

    nice -n 10 python benchmarks/ingest.py --rows 1000000 --repeat 2
    python benchmarks/ingest.py --rows 200000 --big-file-mb 200   # also time a ~200 MB file
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

BRANDS = ("Northwind", "Contoso Air", "Globex", "Initech", "Umbrella")
WORDS = ("late", "great", "service", "refund", "app", "crashed", "friendly", "crew", "lost", "bag",
         "delayed", "thanks", "awful", "love", "seat", "price", "support", "waiting", "hours", "again")


def write_export(path: Path, rows: int, *, seed: int = 0, chunk: int = 200_000) -> int:
    """Write a synthetic CSV export of ``rows`` rows; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    header = True
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        words = rng.choice(np.asarray(WORDS), size=(n, 12))
        text = pd.Series([" ".join(w) for w in words])
        text = "@" + pd.Series(rng.choice(np.asarray(BRANDS), n)).str.replace(" ", "") + " " + text
        text = text.where(rng.random(n) > 0.1, text + " &amp; more")
        text = text.where(rng.random(n) > 0.1, text + " I\\u2019m done")
        minutes = rng.integers(0, 90 * 24 * 60, n)
        times = (pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="m")).strftime("%d-%m-%Y %H.%M")
        frame = pd.DataFrame(
            {
                "post_id": np.arange(start, start + n) + 10**17,
                "sentiment": rng.choice(np.asarray(["negative", "neutral", "positive"]), n),
                "sentiment_confidence": rng.random(n).round(4),
                "company": rng.choice(np.asarray(BRANDS), n),
                "user_name": "user" + pd.Series(rng.integers(0, 50_000, n)).astype(str),
                "text": text,
                "created": times,
                "retweets": rng.integers(0, 50, n),
            }
        )
        frame.to_csv(path, mode="w" if header else "a", header=header, index=False)
        header = False
    return path.stat().st_size


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _run_baseline(csv: Path, db: Path) -> dict[str, float]:
    import time

    import duckdb

    start = time.perf_counter()
    frame = pd.read_csv(csv)
    con = duckdb.connect(str(db))
    con.register("df", frame)
    con.execute("CREATE TABLE t AS SELECT * FROM df").fetchall()
    con.close()
    return {"seconds": time.perf_counter() - start, "rows": len(frame), "peak_mb": _peak_rss_mb()}


def _run_brandlens(csv: Path, db: Path) -> dict[str, float]:
    import time

    from analytics import store
    from analytics.ingest import ingest_file

    start = time.perf_counter()
    with store.open_workspace(db) as con:
        summary = ingest_file(con, csv)
    out = summary.to_dict()
    return {"seconds": time.perf_counter() - start, "rows": out["rows_read"], "stored": out["stored"],
            "quarantined": out["quarantined"], "peak_mb": _peak_rss_mb()}


def _child(which: str, csv: str, db: str) -> None:
    result = (_run_baseline if which == "baseline" else _run_brandlens)(Path(csv), Path(db))
    print(json.dumps(result))


def _measure(which: str, csv: Path, db: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", which, str(csv), str(db)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the synthetic export")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each contender, interleaved; the fastest counts (the machine may be shared)")
    parser.add_argument("--big-file-mb", type=int, default=0, help="also ingest a file of about this many MB")
    parser.add_argument("--child", nargs=3, metavar=("WHICH", "CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="brandlens-bench-") as tmp:
        csv = Path(tmp) / "export.csv"
        size = write_export(csv, args.rows)
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "brandlens": []}
        for i in range(max(1, args.repeat)):
            for which in runs:
                runs[which].append(_measure(which, csv, Path(tmp) / f"{which}-{i}.duckdb"))
                (Path(tmp) / f"{which}-{i}.duckdb").unlink()
        best = {which: min(r, key=lambda x: x["seconds"]) for which, r in runs.items()}
        rows = [("baseline: pandas.read_csv + DuckDB insert", best["baseline"]),
                ("brandlens ingest_file", best["brandlens"])]
        base = rows[0][1]["rows"] / rows[0][1]["seconds"]
        print(f"\ningest benchmark: {args.rows:,} rows, {size / 1e6:.0f} MB CSV, {os.cpu_count()} CPUs, "
              f"best of {max(1, args.repeat)}\n")
        print(f"{'contender':<44}{'seconds':>9}{'rows/s':>12}{'ratio':>8}{'peak RSS MB':>13}")
        for name, r in rows:
            rate = r["rows"] / r["seconds"]
            print(f"{name:<44}{r['seconds']:>9.1f}{rate:>12,.0f}{rate / base:>8.2f}{r['peak_mb']:>13,.0f}")
        print("\nratio = rows/s relative to the baseline (higher is faster); peak RSS = ru_maxrss of the run's process.")
        if args.big_file_mb:
            big = Path(tmp) / "big.csv"
            n_big = int(args.rows * args.big_file_mb * 1e6 / size)
            big_size = write_export(big, n_big, seed=1)
            r = _measure("brandlens", big, Path(tmp) / "big.duckdb")
            print(f"\n{big_size / 1e6:.0f} MB file ({n_big:,} rows): {r['seconds']:.1f} s, "
                  f"{n_big / r['seconds']:,.0f} rows/s, peak RSS {r['peak_mb']:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
