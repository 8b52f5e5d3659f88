"""Ctrl-C and SIGTERM end every command with one truthful line; a closed stdout ends quietly.

Real processes and real signals: ``brandlens score`` stopped mid-run says how many posts it
committed and the workspace holds exactly those; ``brandlens ingest`` stopped while reading
says nothing was committed and the workspace has no trace of the file; a signal that
arrives during the ingest's commit waits for the commit and then says it committed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics import store
from analytics.core.signals import Interrupted, Terminated, deferred_interrupts
from analytics.store.sharing import WorkspaceFile

CLI = [sys.executable, "-m", "analytics.cli"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def _interactive_signals() -> None:
    """In the child: SIGINT as a terminal gives it, even when this suite runs under nohup (which ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, **(env or {})}, preexec_fn=_interactive_signals)


def _wait_until(proc: subprocess.Popen, predicate, timeout: float = 120.0) -> None:
    """Poll until ``predicate()`` holds while ``proc`` runs (the timeout only bounds a hung job)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the job never reached the expected state"
        time.sleep(0.05)


def _wait_for(proc: subprocess.Popen, path: Path, predicate, timeout: float = 120.0) -> None:
    """Poll the workspace (read-only, between the job's commits) until ``predicate(con)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                if predicate(con):
                    return
        except duckdb.Error:
            pass  # the job is committing right now
        time.sleep(0.2)
    raise AssertionError("the job never reached the expected state")


@pytest.fixture
def default_sigint():
    """SIGINT as an interactive Python has it, whatever this test process inherited (nohup ignores it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_deferred_interrupts_hold_a_signal_until_the_commit_and_say_it_committed(default_sigint) -> None:
    with pytest.raises(Interrupted) as caught:
        with deferred_interrupts() as held:
            os.kill(os.getpid(), signal.SIGINT)  # to this process: handled before os.kill returns to Python code
            assert held.signals == [signal.SIGINT]  # held, nothing raised inside the block
            held.committed = "42 rows were committed"
    assert caught.value.committed == "42 rows were committed" and caught.value.signum == signal.SIGINT
    with pytest.raises(Terminated):
        with deferred_interrupts() as held:
            os.kill(os.getpid(), signal.SIGTERM)
            assert held.signals == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_deferred_interrupts_leave_an_ignored_signal_ignored(default_sigint) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup
    with deferred_interrupts() as held:
        os.kill(os.getpid(), signal.SIGINT)  # ignored: no handler runs, nothing is held
    assert held.signals == [] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_sigterm_mid_score_reports_the_committed_chunks_truthfully(demo_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    with store.open_workspace(path) as con:  # forget the default model's predictions: there is work to do
        con.execute("DELETE FROM predictions WHERE model_id = 'default'")
    proc = _start("score", "--workspace", str(path), "--model", "default", "--chunk-size", "64")
    _wait_for(proc, path, lambda con: con.execute(
        "SELECT count(*) FROM predictions WHERE model_id = 'default'").fetchall()[0][0] >= 64)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    found = re.search(r"stopped \(SIGTERM\); ([\d,]+) of ([\d,]+) posts were scored and committed", line)
    assert found, line
    with store.open_workspace(path, read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM predictions WHERE model_id = 'default'").fetchall()[0][0]
    assert stored == int(found[1].replace(",", "")) and 0 < stored < 3000


def test_ctrl_c_mid_ingest_leaves_no_trace_and_says_so(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    pd.DataFrame({"text": [f"post number {i} about the brand" for i in range(300_000)],
                  "brand": "Acme"}).to_csv(big, index=False)
    path = tmp_path / "w.duckdb"
    private_tmp = tmp_path / "tmp"  # where the child stages the file: the test waits for that state, not for a time
    private_tmp.mkdir()
    proc = _start("ingest", str(big), "--workspace", str(path), "--chunk-rows", "20000", env={"TMPDIR": str(private_tmp)})
    _wait_until(proc, lambda: any(private_tmp.glob("brandlens-ingest-*/staging.duckdb")))  # reading into staging
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the machine read the file before the signal arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted; the workspace is unchanged" in err.strip().splitlines()[-1]
    with store.open_workspace(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0] == 0


def test_a_signal_during_the_ingest_commit_waits_for_it_and_says_it_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_sigint
) -> None:
    from analytics.ingest import ingest_file, pipeline

    real = pipeline._publish

    def publish_while_ctrl_c_arrives(con, staging, run):  # noqa: ANN001 - same signature
        os.kill(os.getpid(), signal.SIGINT)  # mid-commit: held until the commit ends
        return real(con, staging, run)

    monkeypatch.setattr(pipeline, "_publish", publish_while_ctrl_c_arrives)
    csv = tmp_path / "posts.csv"
    pd.DataFrame({"text": [f"post {i}" for i in range(500)]}).to_csv(csv, index=False)
    with store.open_workspace(tmp_path / "w.duckdb") as con:
        with pytest.raises(Interrupted) as caught:
            ingest_file(con, csv)
        assert "committed" in caught.value.committed and "500 posts stored" in caught.value.committed
        assert con.execute("SELECT count(*) FROM posts").fetchall()[0][0] == 500  # truthfully committed


def test_a_signal_inside_a_duckdb_statement_keeps_its_name() -> None:
    """DuckDB turns the handler's exception into "Query interrupted": SIGTERM must stay SIGTERM (exit 143)."""
    from analytics.core import signals

    assert signals.interrupt_from(ValueError("bad row")) is None
    if not signals._terminated.is_set():  # no SIGTERM yet in this process: DuckDB's interrupt is a Ctrl-C
        assert signals.interrupt_from(RuntimeError("Query interrupted")).signum == signal.SIGINT
    try:
        with pytest.raises(Terminated):
            signals._raise_terminated(signal.SIGTERM, None)  # what the installed handler does on SIGTERM
        interrupt = signals.interrupt_from(duckdb.InterruptException("INTERRUPT Error: Query interrupted"))
        assert interrupt.signum == signal.SIGTERM
        assert signals.exit_code(signals.interrupt_from(RuntimeError("Query interrupted"))) == 143
    finally:
        signals._terminated.clear()  # this process was not really stopped


def test_a_closed_stdout_ends_quietly(demo_workspace: Path) -> None:
    proc = subprocess.Popen([*CLI, "kpis", "--workspace", str(demo_workspace), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    proc.stdout.close()  # `| head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_a_signal_that_duckdb_turned_into_query_interrupted_still_says_what_scoring_committed(
        demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal landing inside a DuckDB statement comes out as "Query interrupted": scoring must still say
    how many posts it had committed (it once said "the workspace is unchanged", after 64 were stored)."""
    from analytics.models import load_model
    from analytics.scoring import local

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    with store.open_workspace(path) as con:
        con.execute("DELETE FROM predictions WHERE model_id = 'vader'")
    reads = {"n": 0}
    real = local.unscored_after

    def interrupted_on_the_second_read(con, model_id, after, limit):
        reads["n"] += 1
        if reads["n"] == 2:
            raise duckdb.InterruptException("INTERRUPT Error: Query interrupted")
        return real(con, model_id, after, limit)

    monkeypatch.setattr(local, "unscored_after", interrupted_on_the_second_read)
    with pytest.raises(Interrupted) as caught:
        local.score_workspace(WorkspaceFile(path), load_model("vader"), chunk_size=100)
    assert caught.value.committed == "100 of 3,000 posts were scored and committed; score again to do the rest"
    with store.open_workspace(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM predictions WHERE model_id = 'vader'").fetchone() == (100,)


def test_a_signal_inside_a_migration_commit_surfaces_as_the_interruption(tmp_path) -> None:
    """DuckDB ends the transaction when a signal lands inside COMMIT; the failed ROLLBACK must not hide that."""
    import duckdb

    from analytics.core.signals import Interrupted, interrupt_from
    from analytics.store.schema import migrate

    real = duckdb.connect(str(tmp_path / "w.duckdb"))

    class InterruptedAtCommit:  # the real connection, but COMMIT is interrupted as a signal would
        def execute(self, sql, *args):
            if sql == "COMMIT":
                real.execute("ROLLBACK")
                raise RuntimeError("Query interrupted")
            return real.execute(sql, *args)

    with pytest.raises(RuntimeError, match="Query interrupted") as caught:
        migrate(InterruptedAtCommit())
    assert isinstance(interrupt_from(caught.value), Interrupted)
    real.close()
