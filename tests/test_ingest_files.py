"""Bad files, the real airline export, and the ``brandlens ingest`` command.

Each bad file is refused with a message naming the file (and row or column where there is
one), exit status 2 from the CLI without a traceback, and the workspace unchanged. The
~200 MB case is exercised here through the chunked path (small chunks of a ~2 MB file, so
the suite stays fast); ``benchmarks/ingest.py --big-file-mb 200`` ingests a real 200 MB file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.cli import main
from analytics.core.errors import InputFileError
from analytics.ingest import ingest_file
from tests.conftest import reference_file

ROOT = Path(__file__).resolve().parent.parent
JSON_KEYS = {"rows_read", "stored", "duplicates", "quarantined", "quarantine_reasons", "source", "workspace"}


def snapshot(workspace: Path) -> dict[str, object]:
    with store.open_workspace(workspace) as con:
        return {**store.table_counts(con), "settings": con.execute("SELECT * FROM settings ORDER BY key").fetchall()}


@pytest.fixture
def seeded(workspace: Path, tmp_path: Path) -> Path:
    """A workspace that already holds a few posts, so 'unchanged' means something."""
    path = tmp_path / "seed.csv"
    path.write_text("text,brand,author\nfirst post,A,ann\nsecond post,B,ben\n", encoding="utf-8")
    with store.open_workspace(workspace) as con:
        ingest_file(con, path)
    return workspace


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["ingest", *args, "--no-progress"])
    out = capsys.readouterr()
    return code, out.out, out.err


def bad_file(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """Write one bad file; return it with a regex its error message must match."""
    path = tmp_path / f"{kind}.csv"
    if kind == "empty":
        path.write_bytes(b"")
        return path, r"file .*empty\.csv: the file is empty"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 64)
        return path, r"file .*binary\.csv: binary content \(byte 0x00 at offset 0\)"
    if kind == "truncated":
        path.write_text('text,brand\n"fine",A\n"also fine",B\n"cut off in the mid', encoding="utf-8")
        return path, r"file .*truncated\.csv, row 3: a quoted field opens here and never closes"
    if kind == "missing_text":
        path.write_text("id,count\n1,2\n3,4\n", encoding="utf-8")
        return path, r"file .*missing_text\.csv, column 'text': no text column"
    if kind == "bad_utf16":
        path.write_bytes(b"\xff\xfe" + "text\nok\n".encode("utf-16-le") + b"\x00\xd8")  # lone surrogate at the end
        return path, r"file .*bad_utf16\.csv: undecodable UTF-16 text"
    if kind == "bad_mapping":
        path.write_text("text,brand\nhello there,A\n", encoding="utf-8")
        return path, r"file .*bad_mapping\.csv: mapping label='stars': the file has no column 'stars'"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["empty", "binary", "truncated", "missing_text", "bad_utf16", "bad_mapping"])
def test_bad_files_are_refused_and_leave_the_workspace_unchanged(seeded: Path, tmp_path: Path, capsys, kind: str) -> None:
    path, pattern = bad_file(tmp_path, kind)
    before = snapshot(seeded)
    mapping = {"label": "stars"} if kind == "bad_mapping" else None
    with store.open_workspace(seeded) as con, pytest.raises(InputFileError, match=pattern):
        ingest_file(con, path, mapping=mapping)
    assert snapshot(seeded) == before
    extra = ["--map", "label=stars"] if kind == "bad_mapping" else []
    code, out, err = run_cli(capsys, str(path), "--workspace", str(seeded), *extra)
    assert code == 2
    assert re.search(pattern, err), err
    assert "Traceback" not in err and out == ""
    assert snapshot(seeded) == before


def test_cp1252_file_is_detected_and_read(seeded: Path, tmp_path: Path) -> None:
    path = tmp_path / "excel-export.csv"
    path.write_bytes("text;brand\n\u201cBest caf\u00e9\u201d \u2013 5\u20ac;A\nna\u00efve;B\n".encode("cp1252"))
    with store.open_workspace(seeded) as con:
        summary = ingest_file(con, path)
        texts = {r[0] for r in con.execute("SELECT text FROM posts WHERE source = 'excel-export'").fetchall()}
    assert summary.stored == 2
    assert texts == {"\u201cBest caf\u00e9\u201d \u2013 5\u20ac", "na\u00efve"}


def test_large_file_is_read_in_chunks(seeded: Path, tmp_path: Path) -> None:
    rows = 40_000
    path = tmp_path / "large.csv"
    pd.DataFrame(
        {"text": [f"post {i} says the delivery was late" for i in range(rows)], "brand": ["A", "B"] * (rows // 2)}
    ).to_csv(path, index=False)
    chunks = []
    with store.open_workspace(seeded) as con:
        summary = ingest_file(con, path, chunk_rows=1000, progress=lambda d, t, m: chunks.append(d))
    assert summary.rows_read == rows == summary.stored
    assert len(chunks) > 10  # many chunks, not one read of the whole file


def test_cli_json_has_the_documented_keys(seeded: Path, tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("message,company,rating\ngreat,A,5\n,A,1\ngreat,A,5\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analytics.cli", "ingest", str(path), "--workspace", str(seeded), "--json",
         "--source", "shop"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert JSON_KEYS <= set(payload)
    assert (payload["rows_read"], payload["stored"], payload["duplicates"], payload["quarantined"]) == (3, 1, 1, 1)
    assert payload["quarantine_reasons"] == {"empty text": 1}
    assert payload["source"] == "shop" and payload["workspace"] == str(seeded)


def test_cli_map_brand_and_errors(seeded: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text("body,x\nthe app keeps crashing,1\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, str(path), "-w", str(seeded), "--map", "text=body", "--brand", "Acme", "--json")
    assert code == 0 and json.loads(out)["stored"] == 1
    code, _, err = run_cli(capsys, str(path), "-w", str(seeded), "--map", "txt=body")
    assert code == 2 and "--map field 'txt' is not one of" in err
    code, _, err = run_cli(capsys, str(tmp_path / "nope.csv"), "-w", str(seeded))
    assert code == 2 and "nope.csv: no such file" in err


@pytest.mark.reference_data
def test_airline_export(workspace: Path) -> None:
    path = reference_file("airline/Tweets.csv")
    with store.open_workspace(workspace) as con:
        first = ingest_file(con, path)
        assert first.rows_read == 14_640
        assert first.stored + first.duplicates + first.quarantined == 14_640
        assert first.mapping["text"] == "text" and first.mapping["brand"] == "airline"
        assert first.mapping["time"] == "tweet_created" and first.mapping["label"] == "airline_sentiment"
        assert first.mapping["aspect"] == "negativereason" and first.mapping["timezone"] == "user_timezone"
        assert "id" not in first.mapping  # 5.70306E+17: mangled, not a key
        assert any("scientific notation" in w for w in first.warnings)
        lo, hi, brands, labelled, with_conf, aspects, zones, sources = con.execute(
            "SELECT min(created_at)::DATE, max(created_at)::DATE, count(DISTINCT brand), count(gold_label), "
            "count(gold_confidence), count(DISTINCT aspect), count(DISTINCT timezone), count(source_id) FROM posts"
        ).fetchall()[0]
        assert (str(lo), str(hi)) == ("2015-02-16", "2015-02-24")
        assert brands == 6 and sources == 0
        assert labelled == first.stored == with_conf
        assert aspects >= 10 and zones >= 50
        assert con.execute("SELECT count(*) FROM posts WHERE created_at IS NULL").fetchall()[0][0] == 0
        labels = dict(con.execute("SELECT gold_label, count(*) FROM posts GROUP BY 1").fetchall())
        assert set(labels) == {"negative", "neutral", "positive"} and labels["negative"] > labels["positive"]
        confidence = con.execute(
            "SELECT gold_confidence, gold_origin, json_extract_string(extra, '$.tweet_id') FROM posts "
            "WHERE original_text LIKE '%really aggressive to blast obnoxious%'"
        ).fetchall()
        assert confidence == [(1.0, "source:airline_sentiment", "5.70301E+17")]
        second = ingest_file(con, path)
        assert second.stored == 0 and second.duplicates + second.quarantined == 14_640
        assert store.table_counts(con)["posts"] == first.stored


@pytest.mark.reference_data
def test_semeval_corpus_file(workspace: Path) -> None:
    path = reference_file("semeval2017/twitter-2013dev-A.tsv")
    lines = path.read_bytes().count(b"\n")
    with store.open_workspace(workspace) as con:
        summary = ingest_file(con, path, source="semeval")
        assert summary.rows_read == lines and summary.quarantined == 0
        assert summary.mapping == {"text": "column_3", "label": "column_2"}
        escaped = con.execute(
            "SELECT count(*) FROM posts WHERE text LIKE '%\\u2019%' OR text LIKE '%\\u002c%'"
        ).fetchall()[0][0]
        decoded = con.execute("SELECT count(*) FROM posts WHERE text LIKE '%’%'").fetchall()[0][0]
        assert escaped == 0 and decoded > 0
