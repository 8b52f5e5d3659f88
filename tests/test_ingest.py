"""Ingest end to end: accounting, quarantine, ids, privacy of authors, formats, transactions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.core.errors import InputFileError
from analytics.ingest import MAX_FIELD_CHARS, ingest_file, ingest_frame, read_preview
from analytics.privacy import hash_author

ROOT = Path(__file__).resolve().parent.parent

CSV = textwrap.dedent(
    """\
    id,company,message,created_at,sentiment,sentiment_confidence,user,channel
    1,Acme,"Love the new app &amp; the crew",2024-03-01T10:00:00Z,positive,0.9,alice,web
    2,Acme,"Parcel late again\\u2026 3rd time",2024-03-01T11:00:00+01:00,negative,0.8,bob,web
    3,Globex,"   ",2024-03-02T09:00:00Z,neutral,1,carol,app
    4,Globex,"Fine I guess",yesterday,neutral,1,dave,app
    5,Globex,"Great support",2024-03-03T09:00:00Z,meh,1,erin,app
    1,Acme,"Love the new app &amp; the crew",2024-03-01T10:00:00Z,positive,0.9,alice,web
    7,Acme,"No time given",,positive,0.5,,web
    """
)


def snapshot(con) -> dict[str, object]:
    """Everything an ingest may touch."""
    counts = store.table_counts(con)
    settings = con.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
    return {**counts, "settings": settings}


@pytest.fixture
def con(workspace: Path):
    with store.open_workspace(workspace) as connection:
        yield connection


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_every_row_is_accounted_for(con, small_csv: Path) -> None:
    summary = ingest_file(con, small_csv)
    d = summary.to_dict()
    assert (d["rows_read"], d["stored"], d["duplicates"], d["quarantined"]) == (7, 3, 1, 3)
    assert d["stored"] + d["duplicates"] + d["quarantined"] == d["rows_read"]
    assert d["quarantine_reasons"] == {"empty text": 1, "unknown label": 1, "unparseable date": 1}
    assert d["source"] == "export" and d["workspace"].endswith("workspace.duckdb")
    rows = con.execute(
        "SELECT row_number, column_name, reason, raw_row FROM quarantine ORDER BY row_number"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (3, "message", "empty text"), (4, "created_at", "unparseable date"), (5, "sentiment", "unknown label")]
    assert json.loads(rows[1][3])["created_at"] == "yesterday"
    run = con.execute("SELECT rows_read, stored, duplicates, quarantined, status FROM ingest_runs").fetchall()
    assert run == [(7, 3, 1, 3, "ok")]


def test_stored_posts_are_cleaned_hashed_and_complete(con, small_csv: Path) -> None:
    ingest_file(con, small_csv)
    posts = con.execute(
        "SELECT source_id, brand, created_at, text, original_text, author_hash, gold_label, gold_origin, "
        "gold_confidence, extra FROM posts ORDER BY source_id"
    ).fetchdf()
    first = posts.iloc[0]
    assert first["text"] == "Love the new app & the crew"
    assert first["original_text"] == "Love the new app &amp; the crew"
    assert str(first["created_at"]) == "2024-03-01 10:00:00"
    assert first["gold_label"] == "positive" and first["gold_origin"] == "source:sentiment"
    assert first["gold_confidence"] == pytest.approx(0.9)
    assert json.loads(first["extra"]) == {"channel": "web"}
    second = posts.iloc[1]
    assert second["text"] == "Parcel late again… 3rd time"
    assert str(second["created_at"]) == "2024-03-01 10:00:00"  # +01:00 converted to UTC
    salt = con.execute("SELECT value FROM settings WHERE key = 'author_salt'").fetchall()[0][0]
    assert first["author_hash"] == hash_author("alice", salt=salt)
    no_time = posts.iloc[2]
    assert pd.isna(no_time["created_at"]) and pd.isna(no_time["author_hash"])
    stored = " ".join(str(v) for v in con.execute("SELECT * FROM posts").fetchall()[0])
    assert "alice" not in stored and "bob" not in stored  # names only as salted hashes


def test_second_ingest_adds_nothing(con, small_csv: Path) -> None:
    first = ingest_file(con, small_csv)
    before = store.table_counts(con)["posts"]
    second = ingest_file(con, small_csv)
    assert store.table_counts(con)["posts"] == before
    assert second.stored == 0
    assert second.duplicates == first.stored + first.duplicates
    assert second.quarantined == first.quarantined


def test_chunked_reading_gives_the_same_result(workspace: Path, tmp_path: Path) -> None:
    rows = 5000
    frame = pd.DataFrame(
        {
            "text": [f"post number {i} about delivery" if i % 97 else "" for i in range(rows)],
            "brand": ["A" if i % 3 else "B" for i in range(rows)],
            "date": pd.date_range("2024-01-01", periods=rows, freq="h").strftime("%d.%m.%Y %H:%M"),
            "stars": [str(1 + i % 5) for i in range(rows)],
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    results = []
    for chunk_rows, name in ((100_000, "one.duckdb"), (300, "many.duckdb")):
        calls = []
        with store.open_workspace(tmp_path / name) as con:
            summary = ingest_file(con, path, chunk_rows=chunk_rows, progress=lambda d, t, m: calls.append(d))
            posts = con.execute("SELECT post_id, created_at, gold_label FROM posts ORDER BY post_id").fetchall()
        results.append((summary.to_dict(), posts, len(calls)))
    (one, posts_one, calls_one), (many, posts_many, calls_many) = results
    for key in ("rows_read", "stored", "duplicates", "quarantined", "quarantine_reasons"):
        assert one[key] == many[key]
    assert one["quarantine_reasons"] == {"empty text": 52}
    assert posts_one == posts_many
    assert calls_many > calls_one  # really read in several chunks
    assert {p[2] for p in posts_one} == {"negative", "neutral", "positive"}


def test_failure_in_a_later_chunk_leaves_the_workspace_unchanged(con, small_csv: Path, tmp_path: Path) -> None:
    ingest_file(con, small_csv)
    before = snapshot(con)
    path = tmp_path / "later.csv"
    pd.DataFrame({"text": [f"row {i} of a file long enough for several chunks" for i in range(20_000)]}).to_csv(
        path, index=False)
    calls = []

    def failing(done: int, total: int, message: str) -> None:
        calls.append(message)
        if len(calls) == 4:  # after the first chunks were inserted
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_file(con, path, chunk_rows=500, progress=failing)
    assert snapshot(con) == before


def test_killed_process_leaves_the_workspace_unchanged(workspace: Path, small_csv: Path, tmp_path: Path) -> None:
    with store.open_workspace(workspace) as con:
        ingest_file(con, small_csv)
        before = snapshot(con)
    path = tmp_path / "killme.csv"
    pd.DataFrame({"text": [f"row {i} of a file long enough for several chunks" for i in range(20_000)]}).to_csv(
        path, index=False)
    script = textwrap.dedent(
        f"""
        import os, signal
        from analytics import store
        from analytics.ingest import ingest_file
        calls = []
        def kill(done, total, message):
            calls.append(done)
            if len(calls) == 4:
                os.kill(os.getpid(), signal.SIGKILL)
        with store.open_workspace({str(workspace)!r}) as con:
            ingest_file(con, {str(path)!r}, chunk_rows=500, progress=kill)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    with store.open_workspace(workspace) as con:
        assert snapshot(con) == before


def test_over_long_fields_and_ragged_rows_are_quarantined(con, tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    long_text = "x" * (MAX_FIELD_CHARS + 1)
    path.write_text(f'text,brand\nok,A\n"{long_text}",A\ntoo,many,fields\nfine,B\n', encoding="utf-8")
    summary = ingest_file(con, path)
    assert summary.quarantine_reasons == {"over-long field": 1, "wrong number of fields (3 instead of 2)": 1}
    assert summary.stored == 2 and summary.rows_read == 4
    assert con.execute("SELECT row_number, column_name FROM quarantine ORDER BY row_number").fetchall() == [
        (2, "text"), (3, None)]


def test_brand_argument_and_missing_time_column(con, tmp_path: Path) -> None:
    path = tmp_path / "reviews.tsv"
    path.write_text("review\trating\nGreat phone\t5\nBroke in a week\t1\nok\t3\nweird\tsuper\n", encoding="utf-8")
    summary = ingest_file(con, path, brand="Phony", source="shop")
    assert summary.stored == 3 and summary.quarantine_reasons == {"unknown label": 1}
    assert any("no time column" in w for w in summary.warnings)
    assert con.execute("SELECT DISTINCT brand, source FROM posts").fetchall() == [("Phony", "shop")]
    assert sorted(r[0] for r in con.execute("SELECT gold_label FROM posts").fetchall()) == [
        "negative", "neutral", "positive"]


def test_explicit_time_format_and_mapping(con, tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text("when,comment\n03-04-2015,first post\n05-06-2015,second post\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="column 'when'.*day-first and month-first"):
        ingest_file(con, path)
    with pytest.raises(InputFileError, match="time format '%Y/%m/%d' reads none of the values such as '03-04-2015'"):
        ingest_file(con, path, time_format="%Y/%m/%d")
    summary = ingest_file(con, path, time_format="%m-%d-%Y", mapping={"time": "when", "text": "comment"})
    assert summary.stored == 2
    assert str(con.execute("SELECT min(created_at) FROM posts").fetchall()[0][0]) == "2015-03-04 00:00:00"


@pytest.mark.parametrize("kind", ["jsonl", "json", "parquet", "xlsx", "cp1252", "utf16", "semicolon"])
def test_other_formats(con, tmp_path: Path, kind: str) -> None:
    frame = pd.DataFrame(
        {"content": ["Caf\u00e9 was \u201cgreat\u201d", "Never again", "Meh"], "brand": ["A", "B", "A"],
         "label": ["positive", "negative", "neutral"]}
    )
    path = tmp_path / f"export.{kind}"
    if kind == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("{not json\n")
            handle.write('{"content": "late key", "brand": "A", "label": "neutral", "channel": "app"}\n')
    elif kind == "json":
        frame.to_json(path, orient="records", force_ascii=False)
    elif kind == "parquet":
        frame.to_parquet(path)
    elif kind == "xlsx":
        frame.to_excel(path, index=False)
    elif kind == "cp1252":
        path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    elif kind == "utf16":
        path.write_bytes(frame.to_csv(index=False, sep="\t").encode("utf-16"))
    else:
        frame.to_csv(path, index=False, sep=";")
    summary = ingest_file(con, path, chunk_rows=2)
    assert summary.stored == (4 if kind == "jsonl" else 3)
    assert summary.quarantined == (1 if kind == "jsonl" else 0)
    texts = sorted(r[0] for r in con.execute("SELECT text FROM posts").fetchall())
    assert texts[:3] == ["Caf\u00e9 was \u201cgreat\u201d", "Meh", "Never again"]
    if kind == "jsonl":  # a key first seen in a later record is kept in extra
        assert con.execute("SELECT extra FROM posts WHERE text = 'late key'").fetchall() == [('{"channel":"app"}',)]


def test_ingest_frame_and_typed_times(con) -> None:
    frame = pd.DataFrame(
        {
            "text": ["a good day", "a bad day"],
            "brand": ["X", "Y"],
            "created_at": pd.to_datetime(["2024-05-01 12:00", "2024-05-02 12:00"]).tz_localize("Europe/Berlin"),
            "true_label": ["positive", "negative"],
        }
    )
    summary = ingest_frame(con, frame, source="demo", mapping={"label": ""})  # true_label would be guessed as label
    assert summary.stored == 2 and summary.file == "demo"
    rows = con.execute("SELECT created_at, extra FROM posts ORDER BY created_at").fetchall()
    assert str(rows[0][0]) == "2024-05-01 10:00:00"
    assert json.loads(rows[0][1]) == {"true_label": "positive"}
    with pytest.raises(ValueError, match="source"):
        ingest_frame(con, frame, source="")


def test_read_preview(small_csv: Path) -> None:
    frame, mapping = read_preview(small_csv, n_rows=2)
    assert len(frame) == 2
    assert mapping["text"] == "message" and mapping["brand"] == "company" and mapping["time"] == "created_at"
    assert mapping["label"] == "sentiment" and mapping["label_confidence"] == "sentiment_confidence"
    assert mapping["author"] == "user"


def test_duplicates_across_chunks_are_counted_once(con, tmp_path: Path) -> None:
    path = tmp_path / "repeats.csv"
    texts = [f"complaint number {i % 700} about the late parcel" for i in range(6000)]
    pd.DataFrame({"text": texts, "brand": "A"}).to_csv(path, index=False)
    summary = ingest_file(con, path, chunk_rows=500)
    assert (summary.rows_read, summary.stored, summary.duplicates) == (6000, 700, 5300)
    assert store.table_counts(con)["posts"] == 700
