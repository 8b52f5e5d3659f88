"""The Ray engine: the same predictions as the local engine, idempotent, clear errors."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (optional extra: pip install 'brandlens[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (optional extra: pip install 'brandlens[ray]')")

from analytics import store  # noqa: E402
from analytics.core.errors import BrandLensError  # noqa: E402
from analytics.models import DEFAULT_MODEL_DIR, load_model  # noqa: E402
from analytics.scoring.local import score_workspace  # noqa: E402
from analytics.scoring.ray_engine import score_workspace_ray  # noqa: E402

WORDS = ["love", "hate", "great", "awful", "fine", "broken", "fast", "slow", "ok", "the", "phone", "service"]
UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: the connection is refused at once


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray for the module (2 CPUs), shut down at its end."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield
    ray.shutdown()


def add_posts(con, n: int, *, start: int = 0) -> None:
    """Posts with varied texts (VADER gives them different scores), one very long."""
    rng = np.random.default_rng(start)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 30)))) for _ in range(n)]
    if start == 0:
        texts[0] = "I love this phone but the service is awful. " * 80
    con.executemany(
        "INSERT INTO posts (post_id, source, text, original_text, ingest_run) VALUES (?, 'test', ?, ?, 'run')",
        [(f"p{start + i:06d}", t, t) for i, t in enumerate(texts)],
    )


def predictions(con, model_id: str) -> tuple[list[str], np.ndarray, list[str]]:
    rows = con.execute(
        "SELECT post_id, p_negative, p_neutral, p_positive, label FROM predictions WHERE model_id = ? ORDER BY post_id",
        [model_id],
    ).fetchall()
    return [r[0] for r in rows], np.array([r[1:4] for r in rows], dtype=float), [r[4] for r in rows]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 300 posts scored by VADER with the local engine and with Ray (2 actors, 5 chunks)."""
    root = tmp_path_factory.mktemp("ray")
    local, remote = root / "local.duckdb", root / "ray.duckdb"
    with store.open_workspace(local) as con:
        add_posts(con, 300)
    shutil.copy(local, remote)
    with store.open_workspace(local) as con:
        score_workspace(con, load_model("vader"), chunk_size=64)
    calls: list[tuple[int, int]] = []
    with store.open_workspace(remote) as con:
        summary = score_workspace_ray(
            con, "vader", num_workers=2, chunk_size=64, progress=lambda d, t, m: calls.append((d, t))
        )
    return {"local": local, "ray": remote, "summary": summary, "calls": calls}  # type: ignore[dict-item]


def test_ray_writes_the_same_predictions_as_the_local_engine(scored: dict) -> None:
    with store.open_workspace(scored["local"]) as con:
        ids_local, p_local, labels_local = predictions(con, "vader")
    with store.open_workspace(scored["ray"]) as con:
        ids_ray, p_ray, labels_ray = predictions(con, "vader")
    assert len(ids_ray) == 300
    assert ids_ray == ids_local
    np.testing.assert_allclose(p_ray, p_local, rtol=0, atol=1e-12)
    assert labels_ray == labels_local
    assert len(set(labels_ray)) == 3  # the texts really differ: all three classes occur
    summary = scored["summary"]
    assert (summary.model, summary.scored, summary.already_scored, summary.device) == ("vader", 300, 0, "cpu")


def test_progress_is_reported_per_chunk(scored: dict) -> None:
    calls = scored["calls"]
    assert calls[0] == (0, 300)
    assert calls[-1] == (300, 300)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) == 1 + 5  # the start, then one call per chunk of 64


def test_a_second_run_scores_nothing_and_new_posts_only_are_scored_next(scored: dict, tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    shutil.copy(scored["ray"], path)
    with store.open_workspace(path) as con:
        again = score_workspace_ray(con, "vader")
        assert (again.scored, again.already_scored) == (0, 300)
        before = predictions(con, "vader")
        add_posts(con, 40, start=300)
        more = score_workspace_ray(con, "vader", num_workers=1)
        assert (more.scored, more.already_scored) == (40, 300)
        ids, proba, _ = predictions(con, "vader")
    assert ids[:300] == before[0]
    np.testing.assert_array_equal(proba[:300], before[1])  # rows already there are kept as they were
    assert len(ids) == len(set(ids)) == 340
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_cli_engine_ray_prints_the_public_keys_and_the_engine(
    scored: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analytics.cli import main

    path = tmp_path / "cli.duckdb"
    shutil.copy(scored["ray"], path)
    assert main(["score", "--workspace", str(path), "--model", "vader", "--engine", "ray", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"model", "scored", "already_scored", "seconds", "device", "engine"}
    assert (out["model"], out["scored"], out["already_scored"], out["engine"]) == ("vader", 0, 300, "ray")


def test_an_unreachable_address_is_a_clear_error(scored: dict, tmp_path: Path) -> None:
    path = tmp_path / "unreachable.duckdb"
    shutil.copy(scored["local"], path)
    with store.open_workspace(path) as con, pytest.raises(BrandLensError, match=r"cannot reach the Ray cluster at '127\.0\.0\.1:1'"):
        score_workspace_ray(con, "vader", address=UNREACHABLE)


def test_cli_reports_an_unreachable_address(scored: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import main

    path = tmp_path / "unreachable.duckdb"
    shutil.copy(scored["local"], path)
    code = main(["score", "--workspace", str(path), "--model", "vader", "--engine", "ray", "--address", UNREACHABLE])
    assert code == 2
    assert "cannot reach the Ray cluster" in capsys.readouterr().err


def test_cli_refuses_ray_options_without_the_ray_engine(scored: dict, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import main

    assert main(["score", "--workspace", str(scored["local"]), "--model", "vader", "--workers", "2"]) == 2
    assert "--engine ray" in capsys.readouterr().err


def test_missing_ray_is_a_clear_error(scored: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with store.open_workspace(scored["local"]) as con, pytest.raises(BrandLensError, match=r"pip install 'brandlens\[ray\]'"):
        score_workspace_ray(con, "vader")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_workers": 0}, "num_workers"),
        ({"batch_size": -1}, "batch_size"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"device": "tpu"}, "device"),
        ({"address": " "}, "address"),
    ],
)
def test_arguments_are_checked(scored: dict, kwargs: dict, message: str) -> None:
    with store.open_workspace(scored["local"]) as con, pytest.raises(ValueError, match=message):
        score_workspace_ray(con, "vader", **kwargs)


def test_the_default_model_gives_the_same_predictions_on_ray(tmp_path: Path) -> None:
    if not (DEFAULT_MODEL_DIR.is_dir() and any(DEFAULT_MODEL_DIR.iterdir())):
        pytest.skip(f"the default model's artifact {DEFAULT_MODEL_DIR} is absent (train it with `brandlens train`)")
    local, remote = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    with store.open_workspace(local) as con:
        add_posts(con, 50)
    shutil.copy(local, remote)
    with store.open_workspace(local) as con:
        score_workspace(con, load_model("default", device="cpu"))
        ids_local, p_local, labels_local = predictions(con, "default")
    with store.open_workspace(remote) as con:
        summary = score_workspace_ray(con, "default", device="cpu", num_workers=1)
        ids_ray, p_ray, labels_ray = predictions(con, "default")
    assert (summary.scored, summary.device) == (50, "cpu")
    assert ids_ray == ids_local
    # same weights and code; only the number of torch threads may differ (float summation order)
    np.testing.assert_allclose(p_ray, p_local, atol=1e-5)
    assert labels_ray == labels_local
