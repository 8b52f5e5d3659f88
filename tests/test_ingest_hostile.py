"""Files an outside tester built to break the ingest: each bad row is quarantined with its row, the good rows
are kept, and nothing ends in a traceback (issue 25, section 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.cli import main


def ingest_cli(capsys, path: Path, workspace: Path, *args: str) -> tuple[int, dict | None, str]:
    code = main(["ingest", str(path), "--workspace", str(workspace), "--no-progress", "--json", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, (json.loads(out.out) if code == 0 else None), out.err


def quarantine(workspace: Path) -> list[tuple]:
    with store.open_workspace(workspace, read_only=True) as con:
        return con.execute("SELECT row_number, column_name, reason FROM quarantine ORDER BY row_number").fetchall()


# ----------------------------------------------------------------------------- 3.7 JSON that breaks parsers


def test_a_deeply_nested_line_and_a_5001_digit_number_are_quarantined_with_their_rows(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    path = tmp_path / "nested.jsonl"
    with path.open("w") as f:
        f.write(json.dumps({"text": "good one", "brand": "A"}) + "\n")
        f.write('{"text": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
        f.write('{"text": "big", "n": ' + "9" * 5001 + "}\n")
        f.write('{"text": "deep but readable", "x": ' + "[" * 50 + "]" * 50 + "}\n")
        f.write(json.dumps({"text": "good two", "brand": "A"}) + "\n")
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["rows_read"] == 5 and summary["stored"] == 3 and summary["quarantined"] == 2
    assert quarantine(workspace) == [
        (2, None, "invalid JSON (nested too deeply to read)"),
        (3, None, "invalid JSON (a number with more digits than can be read: more than 4,300)"),
    ]


@pytest.mark.parametrize("body, message", [
    ("[" + "[" * 100_000 + "]" * 100_000 + "]", "nested too deeply"),
    ('[{"text": "x", "n": ' + "1" * 5001 + "}]", "more digits than can be read"),
])
def test_a_json_array_that_cannot_be_read_is_refused_with_a_message(
    tmp_path: Path, workspace: Path, capsys, body: str, message: str
) -> None:
    path = tmp_path / "array.json"
    path.write_text(body)
    code, _, err = ingest_cli(capsys, path, workspace)
    assert code == 2 and message in err and "array.json" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- 3.8 far dates


@pytest.mark.parametrize("far", ["9999-12-31", "2300-01-01T10:00:00", "0001-01-01", "1500-06-01 10:00"])
def test_one_far_date_quarantines_only_its_row(tmp_path: Path, workspace: Path, capsys, far: str) -> None:
    rows = [{"text": f"post {i}", "time": f"2024-01-{i + 1:02d} 10:00"} for i in range(20)]
    rows[7]["time"] = far
    path = tmp_path / "far.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["stored"] == 19 and summary["quarantined"] == 1
    assert quarantine(workspace) == [(8, "time", "date out of range (dates run from 1677-09-22 to 2262-04-11)")]


def test_far_epochs_and_a_year_9999_parquet_timestamp_quarantine_only_their_rows(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    times = [dt.datetime(2024, 1, d + 1, 10) for d in range(10)]
    times[3] = dt.datetime(9999, 12, 31)
    parquet = tmp_path / "far.parquet"
    pq.write_table(pa.table({"text": [f"post {i}" for i in range(10)],
                             "time": pa.array(times, type=pa.timestamp("us"))}), parquet)
    code, summary, err = ingest_cli(capsys, parquet, workspace)
    assert code == 0, err
    assert summary["stored"] == 9 and quarantine(workspace)[0][:2] == (4, "time")

    epochs = tmp_path / "epochs.csv"
    values = [str(1_704_100_000 + 3600 * i) for i in range(10)]
    values[5] = "99999999999999"  # seconds: the year 3,170,843
    pd.DataFrame({"text": [f"e {i}" for i in range(10)], "time": values}).to_csv(epochs, index=False)
    other = workspace.with_name("epochs.duckdb")
    code, summary, err = ingest_cli(capsys, epochs, other)
    assert code == 0, err
    assert summary["stored"] == 9 and quarantine(other) == [
        (6, "time", "date out of range (dates run from 1677-09-22 to 2262-04-11)")]


# ----------------------------------------------------------------------------- 3.9 encodings


def _texts(workspace: Path) -> list[str]:
    with store.open_workspace(workspace, read_only=True) as con:
        return [r[0] for r in con.execute("SELECT original_text FROM posts ORDER BY text").fetchall()]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_utf8_lines_beside_one_latin1_line_are_each_decoded_right_and_the_line_is_named(
    tmp_path: Path, workspace: Path, capsys, suffix: str
) -> None:
    rows = ["Café crème", "Déjà vu", "Crème brûlée", "naïve señor"]
    path = tmp_path / f"mixed{suffix}"
    with path.open("wb") as f:
        f.write(b"text,brand\n" if suffix == ".csv" else b"")
        for i, text in enumerate(rows):
            line = f"{text},A\n" if suffix == ".csv" else json.dumps({"text": text, "brand": "A"}, ensure_ascii=False) + "\n"
            f.write(line.encode("latin-1" if i == 2 else "utf-8"))  # line 4 (CSV) / 3 (JSONL) is latin-1
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["stored"] == 4 and sorted(_texts(workspace)) == sorted(rows)  # no "CafÃ©"
    line = 4 if suffix == ".csv" else 3
    assert f"the file is UTF-8 except line(s) {line}, read as Windows-1252; check those rows" in summary["warnings"]


def test_a_whole_cp1252_file_is_still_read_as_one_encoding_without_a_warning(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes("text,brand\nCafé “quoted”,A\nDéjà vu,B\n".encode("cp1252"))
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert sorted(_texts(workspace)) == ["Café “quoted”", "Déjà vu"]
    assert not any("UTF-8 except" in w for w in summary["warnings"])


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_not_refused_as_binary(tmp_path: Path, workspace: Path, capsys, codec) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("text,brand\nCafé crème,A\nhello there,B\n".encode(codec))
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert sorted(_texts(workspace)) == ["Café crème", "hello there"]


# ----------------------------------------------------------------------------- 3.10 and issue 22 item 11: the mapping guess


@pytest.mark.parametrize("header", ["product", "product_name", "Product Name", "company"])
def test_a_catalogue_of_250_products_is_the_brand_never_the_author(header: str) -> None:
    from analytics.ingest.mapping import guess_mapping, mapping_notes

    n = 1000
    frame = pd.DataFrame({
        "review": [f"the item number {i} works well enough for me" for i in range(n)],
        header: [f"Product {i % 250}" for i in range(n)],
        "user": [f"user{i}" for i in range(n)],
    })
    mapping = guess_mapping(frame)
    assert mapping["brand"] == header and mapping["author"] == "user" and mapping["text"] == "review"
    assert mapping_notes(frame, mapping) == []
    only_product = frame.drop(columns=["user"])
    assert "author" not in guess_mapping(only_product) and guess_mapping(only_product)["brand"] == header
    never_repeats = frame.assign(**{header: [f"Product {i}" for i in range(n)]}).drop(columns=["user"])
    guessed = guess_mapping(never_repeats)
    assert "author" not in guessed
    if header in ("product", "company"):  # named exactly for brands: the brand, however rarely names repeat
        assert guessed["brand"] == header
    else:
        assert "brand" not in guessed
        assert any("looks like the brand by its name" in note for note in mapping_notes(never_repeats, guessed))


def test_a_label_column_in_an_unknown_vocabulary_keeps_its_valid_labels_and_quarantines_the_rest(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    values = ["positive", "NEG", "meh", "5 stars", "\U0001F642", "neutral", "meh", "\U0001F620"]
    path = tmp_path / "labels.csv"
    pd.DataFrame({"text": [f"post number {i}" for i in range(len(values))], "label": values}).to_csv(path, index=False)
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["mapping"]["label"] == "label"
    assert summary["stored"] == 4 and summary["quarantine_reasons"] == {"unknown label": 4}
    note = next(w for w in summary["warnings"] if w.startswith("column 'label'"))
    assert "4 of 8 values" in note and "'meh'" in note
    with store.open_workspace(workspace, read_only=True) as con:
        assert sorted(r[0] for r in con.execute("SELECT gold_label FROM posts").fetchall()) == [
            "negative", "neutral", "positive", "positive"]
    assert [r[0] for r in quarantine(workspace)] == [3, 5, 7, 8]

    nothing_readable = tmp_path / "emoji.csv"
    pd.DataFrame({"text": ["a post here", "another post"], "label": ["\U0001F642", "meh"]}).to_csv(nothing_readable,
                                                                                                 index=False)
    code, summary, err = ingest_cli(capsys, nothing_readable, workspace.with_name("w2.duckdb"))
    assert code == 0 and "label" not in summary["mapping"] and summary["stored"] == 2
    assert any("named like labels but none of its values reads as one" in w for w in summary["warnings"])


def test_a_column_without_a_header_is_said_not_silently_named(tmp_path: Path, workspace: Path, capsys) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("text,,brand\nhello there friend,x,A\nanother post here,y,B\n")
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert "column 2 has no header: it is named 'column_2'" in summary["warnings"]


# ----------------------------------------------------------------------------- 3.11 a record longer than a block


def test_the_cli_and_the_preview_read_a_file_with_a_huge_line_alike(tmp_path: Path, workspace: Path, capsys) -> None:
    from analytics.ingest import read_preview
    from analytics.ingest.readers import iter_chunks

    path = tmp_path / "long.csv"
    with path.open("w") as f:
        f.write("text,brand\n")
        for i in range(3000):
            f.write(f"ordinary post {i},A\n")
        f.write("x" * 6_000_000 + ",B\n")  # longer than the smallest block (4 MiB): no quote anywhere
        for i in range(3000):
            f.write(f"later post {i},A\n")
    head, _ = read_preview(path, n_rows=20)
    assert len(head) == 20
    rows, numbers = 0, []
    for chunk in iter_chunks(path, chunk_rows=50):  # small chunks: the smallest blocks, as a preview reads
        rows += len(chunk.frame)
        numbers += chunk.row_numbers.tolist()
    assert rows == 6001 and numbers == list(range(1, 6002))  # each row once, numbered as in the file
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["stored"] == 6000 and summary["quarantine_reasons"] == {"over-long field": 1}
    assert quarantine(workspace) == [(3001, "text", "over-long field")]


# ----------------------------------------------------------------------------- 3.12 private files, orphaned folders


def test_a_new_workspace_and_its_folder_are_private(tmp_path: Path, capsys) -> None:
    import stat

    path = tmp_path / "new" / "w.duckdb"
    csv = tmp_path / "p.csv"
    csv.write_text("text\nhello there\n")
    code, _, err = ingest_cli(capsys, csv, path)
    assert code == 0, err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    wal = Path(f"{path}.wal")
    assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600
    path.chmod(0o644)  # an older workspace: made private at its next write
    code, _, err = ingest_cli(capsys, csv, path)
    assert code == 0 and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_onnx_cache_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    pytest.importorskip("onnx")
    import torch

    from analytics.models.onnx import cache_dir, export_onnx

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(10, 3)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return (self.embed(input_ids) * attention_mask.unsqueeze(-1)).sum(1)

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    path = export_onnx(Tiny(), cache_dir() / "tiny.onnx")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_killed_ingests_staging_folder_is_removed_by_the_next_ingest(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    big = tmp_path / "big.csv"
    pd.DataFrame({"text": [f"post number {i} about the brand" for i in range(300_000)]}).to_csv(big, index=False)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(private_tmp), "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "analytics.cli", "ingest"]
    proc = subprocess.Popen([*cli, str(big), "--workspace", str(tmp_path / "w.duckdb"), "--chunk-rows", "20000",
                             "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(private_tmp.glob("brandlens-ingest-*/staging.duckdb")):  # the state: staging
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (left,) = private_tmp.glob("brandlens-ingest-*")  # what kill -9 leaves
    small = tmp_path / "small.csv"
    small.write_text("text\nhello there\n")
    done = subprocess.run([*cli, str(small), "--workspace", str(tmp_path / "w.duckdb"), "--no-progress"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not left.exists() and list(private_tmp.glob("brandlens-ingest-*")) == []


def test_orphans_are_only_the_folders_of_gone_processes(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from analytics.core.private import OWNER_FILE, remove_orphans

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        folders = {}
        for name, pid in (("dead", dead.pid), ("alive", alive.pid)):
            folders[name] = tmp_path / f"brandlens-ingest-{name}"
            folders[name].mkdir()
            (folders[name] / OWNER_FILE).write_text(f"{pid} {socket.gethostname()}")
        (tmp_path / "other-tool-dead").mkdir()
        assert remove_orphans("brandlens-ingest-", root=tmp_path) == [folders["dead"]]
        assert folders["alive"].exists() and (tmp_path / "other-tool-dead").exists()
    finally:
        alive.kill()
        alive.wait()


# ----------------------------------------------------------------------------- dates written several ways in one column


def test_a_column_of_dates_written_four_ways_reads_each_value_to_its_own_time(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    import datetime as dt

    times = [dt.datetime(2026, 1, 5) + dt.timedelta(days=3 * i, hours=i % 24) for i in range(40)]
    ways = (lambda t: t.isoformat(timespec="seconds"), lambda t: t.strftime("%d/%m/%Y %H:%M"),
            lambda t: t.strftime("%B %d, %Y"), lambda t: str(int(t.replace(tzinfo=dt.UTC).timestamp())))
    stamps = [ways[i % 4](t) for i, t in enumerate(times)]
    path = tmp_path / "dates.csv"
    pd.DataFrame({"text": [f"post {i} here" for i in range(40)], "created_at": stamps}).to_csv(path, index=False)
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["mapping"]["time"] == "created_at" and summary["stored"] == 40 and summary["quarantined"] == 0
    with store.open_workspace(workspace, read_only=True) as con:
        stored = dict(con.execute("SELECT original_text, created_at FROM posts").fetchall())
    for i, t in enumerate(times):
        expected = t.replace(hour=0) if i % 4 == 2 else t  # month names carry no time of day
        assert stored[f"post {i} here"] == expected, (stamps[i], stored[f"post {i} here"])


def test_a_minority_of_dates_that_read_either_way_round_are_quarantined_not_guessed(
    tmp_path: Path, workspace: Path, capsys
) -> None:
    stamps = [f"2026-02-{d:02d}T10:00:00" for d in range(1, 21)] + ["03/04/2026 10:00", "05/06/2026 11:00"]
    path = tmp_path / "dates.csv"
    pd.DataFrame({"text": [f"post {i} here" for i in range(22)], "created_at": stamps}).to_csv(path, index=False)
    code, summary, err = ingest_cli(capsys, path, workspace)
    assert code == 0, err
    assert summary["stored"] == 20 and summary["quarantine_reasons"] == {"unparseable date": 2}
