"""The demo generator: deterministic, realistic in shape, its crisis recorded, no reference text copied."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest

from analytics import store
from analytics.demo import LABELLED_SHARE, demo_frame, generate_demo
from tests.conftest import reference_file


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with store.open_workspace(path) as con:
        summary = generate_demo(con, seed=3, n_posts=2000)
    return path, summary


def test_same_seed_gives_the_same_posts_and_another_seed_does_not() -> None:
    a, _ = demo_frame(seed=11, n_posts=500)
    b, _ = demo_frame(seed=11, n_posts=500)
    c, _ = demo_frame(seed=12, n_posts=500)
    pd.testing.assert_frame_equal(a, b)
    assert a["text"].tolist() != c["text"].tolist()


def test_demo_workspace_has_brands_labels_regions_and_the_planted_crisis(small_demo) -> None:
    path, summary = small_demo
    con = duckdb.connect(str(path), read_only=True)
    assert summary.stored == summary.posts_generated == 2000
    brands = dict(con.execute("SELECT brand, count(*) FROM posts GROUP BY brand").fetchall())
    assert 3 <= len(brands) <= 5 and summary.our_brand in brands
    labelled = con.execute("SELECT count(*) FROM posts WHERE gold_label IS NOT NULL").fetchall()[0][0]
    assert abs(labelled / 2000 - LABELLED_SHARE) < 0.03
    assert con.execute("SELECT count(DISTINCT region) FROM posts").fetchall()[0][0] >= 4
    truth = json.loads(store.get_setting(con, "demo_truth"))
    in_window, before = con.execute(
        """
        SELECT avg(CASE WHEN created_at::DATE BETWEEN ?::DATE AND ?::DATE THEN 1.0 ELSE 0 END),
               avg(CASE WHEN created_at::DATE < ?::DATE THEN 1.0 ELSE 0 END)
        FROM posts WHERE brand = ?
        """,
        [truth["start"], truth["end"], truth["start"], truth["brand"]],
    ).fetchall()[0]
    # five crisis days out of ninety hold far more than 5/90 of the brand's posts
    assert in_window > 2.0 * 5 / 90
    crisis_texts = con.execute(
        "SELECT text FROM posts WHERE extra->>'aspect_truth' = 'app outage'"
    ).fetchall()
    assert crisis_texts and all(
        any(k in t.lower() for k in truth["keywords"]) for (t,) in crisis_texts
    )


def test_noise_in_gold_labels_is_small_but_present(small_demo) -> None:
    path, _ = small_demo
    con = duckdb.connect(str(path), read_only=True)
    agree = con.execute(
        "SELECT avg(CASE WHEN gold_label = extra->>'true_label' THEN 1.0 ELSE 0 END) FROM posts WHERE gold_label IS NOT NULL"
    ).fetchall()[0][0]
    assert 0.9 < agree < 1.0


def test_second_generation_adds_nothing(small_demo, tmp_path) -> None:
    path, _ = small_demo
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    with store.open_workspace(copy) as con:
        again = generate_demo(con, seed=3, n_posts=2000)
        assert again.stored == 0
        assert store.table_counts(con)["posts"] == 2000


def test_no_text_is_copied_from_the_airline_export() -> None:
    airline = pd.read_csv(reference_file("airline/Tweets.csv"), usecols=["text"])["text"].str.lower()
    words = lambda s: re.findall(r"[a-z']+", s)  # noqa: E731
    grams = {tuple(w[i : i + 8]) for t in airline for w in [words(t)] for i in range(len(w) - 7)}
    frame, _ = demo_frame(seed=7, n_posts=3000)
    ours = {tuple(w[i : i + 8]) for t in frame["text"].str.lower() for w in [words(t)] for i in range(len(w) - 7)}
    assert not grams & ours


def test_same_seed_gives_identical_post_ids_in_two_workspaces(tmp_path) -> None:
    ids = []
    for name in ("a", "b"):
        with store.open_workspace(tmp_path / f"{name}.duckdb") as con:
            generate_demo(con, seed=5, n_posts=300)
            ids.append(sorted(r[0] for r in con.execute("SELECT post_id, author_hash FROM posts").fetchall()))
    assert ids[0] == ids[1]


def test_demo_texts_give_the_masking_private_handles_and_emails_but_keep_brand_handles(small_demo) -> None:
    from analytics.privacy import display_texts

    path, _ = small_demo
    con = duckdb.connect(str(path), read_only=True)
    texts = [r[0] for r in con.execute(
        "SELECT text FROM posts WHERE text LIKE '%cc @%' OR text LIKE '%@example.%' ORDER BY post_id"
    ).fetchall()]
    assert texts
    shown = display_texts(con, texts)
    assert not any("@example." in s or "cc @" in s and "cc @[user]" not in s for s in shown)
    assert any("@NimbusMobile" in s or "@VertexTelecom" in s for s in shown)
    assert con.execute("SELECT max(length(text)) FROM posts").fetchall()[0][0] > 1500  # long reviews exist
