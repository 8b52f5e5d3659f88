"""The scoring engine: chunked, idempotent, resumable after an error or a kill."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from analytics import store
from analytics.scoring.local import ScoreSummary, score_texts, score_workspace
from analytics.core.labels import CLASSES

ROOT = Path(__file__).resolve().parent.parent


class LengthModel:
    """A deterministic stand-in model: probabilities from the text's length."""

    classes_ = CLASSES
    device = "cpu"

    def __init__(self, model_id: str = "fake", *, fail_after_calls: int | None = None) -> None:
        self.model_id = model_id
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise RuntimeError("simulated crash in the middle of a run")
        self.calls += 1
        n = np.array([len(t) for t in texts], dtype=float)
        logits = np.column_stack([np.sin(n), np.cos(n), np.sin(n / 3)])
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def add_posts(con, n: int, *, start: int = 0) -> None:
    con.execute(
        """
        INSERT INTO posts (post_id, source, text, original_text, ingest_run)
        SELECT printf('p%06d', i), 'test', repeat('x', (i % 37) + 1), repeat('x', (i % 37) + 1), 'run'
        FROM range(?, ?) t(i)
        """,
        [start, start + n],
    )


@pytest.fixture
def ws(workspace: Path) -> Path:
    with store.open_workspace(workspace) as con:
        add_posts(con, 250)
    return workspace


def predictions(con, model_id: str = "fake") -> np.ndarray:
    return np.array(
        con.execute(
            "SELECT p_negative, p_neutral, p_positive FROM predictions WHERE model_id = ? ORDER BY post_id",
            [model_id],
        ).fetchall()
    )


def test_scores_every_post_once_and_a_second_run_scores_nothing(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        first = score_workspace(con, LengthModel(), chunk_size=64)
        second = score_workspace(con, LengthModel(), chunk_size=64)
        rows = con.execute(
            "SELECT count(*), count(DISTINCT post_id), min(label IN ('negative','neutral','positive')::INT) "
            "FROM predictions WHERE model_id = 'fake'"
        ).fetchone()
        texts = [r[0] for r in con.execute("SELECT text FROM posts ORDER BY post_id").fetchall()]
        stored = predictions(con)
        labels = [r[0] for r in con.execute("SELECT label FROM predictions ORDER BY post_id").fetchall()]
    assert (first.scored, first.already_scored) == (250, 0)
    assert (second.scored, second.already_scored) == (0, 250)
    assert rows == (250, 250, 1)
    expected = LengthModel().predict_proba(texts)
    np.testing.assert_allclose(stored, expected, atol=1e-12)
    assert labels == [CLASSES[i] for i in expected.argmax(axis=1)]


def test_new_posts_are_scored_on_the_next_run(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        score_workspace(con, LengthModel(), chunk_size=100)
        add_posts(con, 30, start=1000)
        again = score_workspace(con, LengthModel(), chunk_size=100)
    assert (again.scored, again.already_scored) == (30, 250)


def test_models_are_scored_independently(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        score_workspace(con, LengthModel("a"))
        b = score_workspace(con, LengthModel("b"), chunk_size=1000)
        counts = dict(con.execute("SELECT model_id, count(*) FROM predictions GROUP BY ALL").fetchall())
    assert (b.scored, b.already_scored) == (250, 0)
    assert counts == {"a": 250, "b": 250}


def test_resumes_after_a_crash_without_duplicates(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        crashing = LengthModel(fail_after_calls=2)
        with pytest.raises(RuntimeError, match="simulated crash"):
            score_workspace(con, crashing, chunk_size=60)
        kept = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        resumed = score_workspace(con, LengthModel(), chunk_size=60)
        total, distinct = con.execute("SELECT count(*), count(DISTINCT post_id) FROM predictions").fetchone()
        stored = predictions(con)
    assert kept == 120, "the two chunks finished before the crash stay written"
    assert (resumed.scored, resumed.already_scored) == (130, 120)
    assert total == distinct == 250
    with store.open_workspace(ws) as con:
        texts = [r[0] for r in con.execute("SELECT text FROM posts ORDER BY post_id").fetchall()]
    np.testing.assert_allclose(stored, LengthModel().predict_proba(texts), atol=1e-12)


def test_resumes_after_the_process_is_killed(ws: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from analytics import store
        from analytics.scoring.local import score_workspace
        from test_scoring import LengthModel

        class Killed(LengthModel):
            def predict_proba(self, texts):
                if self.calls == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
                return super().predict_proba(texts)

        with store.open_workspace({str(ws)!r}) as con:
            score_workspace(con, Killed(), chunk_size=50)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with store.open_workspace(ws) as con:
        kept = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        resumed = score_workspace(con, LengthModel(), chunk_size=50)
        total, distinct = con.execute("SELECT count(*), count(DISTINCT post_id) FROM predictions").fetchone()
    assert kept == 150
    assert (resumed.scored, resumed.already_scored) == (100, 150)
    assert total == distinct == 250


def test_bad_probabilities_write_nothing(ws: Path) -> None:
    class Broken(LengthModel):
        def predict_proba(self, texts):
            return np.full((len(texts), 3), 0.5)

    with store.open_workspace(ws) as con:
        with pytest.raises(ValueError, match="rows must sum to 1"):
            score_workspace(con, Broken())
        assert con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0


def test_progress_reports_reach_the_total(ws: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    with store.open_workspace(ws) as con:
        score_workspace(con, LengthModel(), chunk_size=100, progress=lambda d, t, m: calls.append((d, t, m)))
    assert [c[:2] for c in calls] == [(0, 250), (100, 250), (200, 250), (250, 250)]


def test_summary_json_has_exactly_the_public_keys(ws: Path) -> None:
    with store.open_workspace(ws) as con:
        summary = score_workspace(con, LengthModel())
    assert isinstance(summary, ScoreSummary)
    d = summary.to_dict()
    assert set(d) == {"model", "scored", "already_scored", "seconds", "device"}
    assert d["model"] == "fake" and d["device"] == "cpu" and d["seconds"] >= 0
    json.dumps(d)


@pytest.mark.parametrize("kwargs, message", [({"chunk_size": 0}, "chunk_size"), ({"batch_size": -1}, "batch_size")])
def test_arguments_are_checked(ws: Path, kwargs: dict, message: str) -> None:
    with store.open_workspace(ws) as con, pytest.raises(ValueError, match=message):
        score_workspace(con, LengthModel(), **kwargs)


def test_not_a_model_is_refused(ws: Path) -> None:
    with store.open_workspace(ws) as con, pytest.raises(ValueError, match="SentimentModel"):
        score_workspace(con, object())  # type: ignore[arg-type]


def test_cli_scores_with_vader_and_is_idempotent(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import main

    assert main(["score", "--workspace", str(ws), "--model", "vader", "--json", "--chunk-size", "100"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["score", "--workspace", str(ws), "--model", "vader", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert {"model", "scored", "already_scored", "seconds", "device"} <= set(first)  # other keys may be added
    assert (first["model"], first["scored"], first["already_scored"], first["device"]) == ("vader", 250, 0, "cpu")
    assert (second["scored"], second["already_scored"]) == (0, 250)


def test_cli_reports_a_missing_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import main

    assert main(["score", "--workspace", str(tmp_path / "absent.duckdb"), "--model", "vader"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_score_texts_passes_lexicon_models_whole_texts() -> None:
    model = LengthModel()
    texts = ["x" * 5000, "short"]
    np.testing.assert_allclose(score_texts(model, texts), model.predict_proba(texts))
    assert score_texts(model, []).shape == (0, 3)
