"""The labelling queue: strata by brand, a marked random share, no labelled or skipped post; labels from a file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.cli import main as cli_main
from analytics.labelling.queue import allocate, label_progress, next_posts, skip_post


@pytest.fixture
def ws(demo_workspace: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    return path


def test_queue_strata_random_share_and_exclusions(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        skipped = con.execute("SELECT p.post_id FROM posts p LEFT JOIN gold_labels g USING (post_id) "
                              "WHERE g.post_id IS NULL ORDER BY p.post_id LIMIT 3").fetchall()
        for (pid,) in skipped:
            skip_post(con, pid, origin="test")
        queue = next_posts(con, "default", n=40, seed=1)
        labelled = {r[0] for r in con.execute("SELECT post_id FROM gold_labels").fetchall()}
        brands = {r[0] for r in con.execute("SELECT DISTINCT brand FROM posts").fetchall()}
        again = next_posts(con, "default", n=40, seed=1)
    assert len(queue) == 40 and queue["post_id"].is_unique
    assert (queue["chosen_by"] == "queue:random").sum() == 10  # a quarter, marked
    assert set(queue["chosen_by"]) == {"queue:random", "queue:active"}
    assert labelled.isdisjoint(queue["post_id"]) and {p for (p,) in skipped}.isdisjoint(queue["post_id"])
    active = queue[queue["chosen_by"] == "queue:active"]
    assert set(active["brand"]) == brands  # every brand gets a share
    # the active picks are the uncertain ones: their mean margin is below the random ones'
    assert active["margin"].mean() < queue[queue["chosen_by"] == "queue:random"]["margin"].mean()
    assert queue["post_id"].tolist() == again["post_id"].tolist()  # seeded


def test_every_brands_pool_is_embedded_in_one_call(ws: Path) -> None:
    """Hundreds of brands must not load the encoder once each (one call took 1.8 s before any text)."""
    calls: list[int] = []

    def embed(texts):
        calls.append(len(texts))
        rng = np.random.default_rng(len(texts))
        vectors = rng.normal(size=(len(texts), 8))
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    with store.open_workspace(ws, read_only=True) as con:
        brands = con.execute("SELECT count(DISTINCT brand) FROM posts").fetchone()[0]
        queue = next_posts(con, "default", n=40, seed=1, embed=embed)
    active = queue[queue["chosen_by"] == "queue:active"]
    assert brands > 1 and active["brand"].nunique() == brands  # every brand gets a share
    assert len(calls) == 1 and calls[0] > len(active)  # every brand's candidates at once, more than it picks


def test_allocation_is_proportional_with_a_floor_of_one() -> None:
    assert allocate(pd.Series({"big": 900, "mid": 90, "tiny": 10}), 10) == {"big": 8, "mid": 1, "tiny": 1}
    assert sum(allocate(pd.Series({"a": 3, "b": 2}), 10).values()) == 5  # no more than there are


def test_label_queue_cli_and_spreadsheet_round_trip(ws: Path, tmp_path: Path, capsys) -> None:
    sheet = tmp_path / "queue.csv"
    assert cli_main(["label-queue", "--workspace", str(ws), "--n", "8", "--csv", str(sheet), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n"] == 8 and {"post_id", "text", "brand", "guess", "chosen_by"} <= set(payload["posts"][0])
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["post_id", "brand", "text", "guess", "chosen_by", "label"]
    frame.loc[0:4, "label"] = ["negative", "pos", "Neutral", "banana", ""]
    frame.loc[5, "post_id"] = "no-such-post"
    frame.loc[5, "label"] = "negative"
    frame.to_csv(sheet, index=False)
    assert cli_main(["ingest", str(sheet), "--workspace", str(ws), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "labels" and result["stored"] == 3 and result["rejected"] == 2
    assert {p["row"] for p in result["problems"]} == {4, 6}
    with store.open_workspace(ws, read_only=True) as con:
        rows = con.execute("SELECT post_id, label, chosen_by, origin FROM label_corrections ORDER BY corrected_at").df()
        counts = label_progress(con)
    assert rows["label"].tolist() == ["negative", "positive", "neutral"]
    assert rows["chosen_by"].tolist() == frame["chosen_by"].iloc[:3].tolist()  # how each was chosen survives
    assert (rows["origin"] == "file:queue.csv").all()
    assert sum(v for k, v in counts.items() if k.startswith("queue:")) == 3


def test_off_topic_posts_leave_the_kpis(ws: Path) -> None:
    from analytics.brand.kpis import brand_kpis

    with store.open_workspace(ws) as con:
        before = brand_kpis(con, "default", n_boot=50).overall.n
        pid = con.execute("SELECT post_id FROM posts ORDER BY post_id LIMIT 1").fetchall()[0][0]
        skip_post(con, pid, reason="off_topic", origin="test")
        after = brand_kpis(con, "default", n_boot=50)
    assert after.overall.n == before - 1
    assert after.correction.excluded == {"off_topic": 1}
