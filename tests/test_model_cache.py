"""The model cache as a user sees it: ``brandlens cache`` and the unpacked adapted models it prunes.

Each adapted model a workspace serves is unpacked into ``$BRANDLENS_CACHE/models``. A team that
adapts weekly would keep every one it ever served; these tests hold the prune to what is safe on a
machine shared by a dashboard and jobs: a folder unused for :data:`~analytics.core.held.IDLE_DAYS`
goes, a folder a process is loading stays, and a model pruned is unpacked again when next loaded.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

DAY = 86400


def _artifact(tmp_path: Path, payload: bytes) -> bytes:
    from analytics.models.network import CONFIG_FILE
    from analytics.models.workspace import pack_artifact

    folder = tmp_path / f"artifact-{payload.hex()[:8]}"
    folder.mkdir()
    (folder / CONFIG_FILE).write_text(json.dumps({"variant": "lora"}))
    (folder / "head.safetensors").write_bytes(payload)
    return pack_artifact(folder)


def _age(folder: Path, days: float) -> None:
    from analytics.models.network import CONFIG_FILE

    then = time.time() - days * DAY
    os.utime(folder / CONFIG_FILE, (then, then))


def test_idle_unpacked_models_are_pruned_and_those_in_use_or_recent_kept(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.core.held import IDLE_DAYS
    from analytics.models.workspace import (
        models_cache,
        prune_unpacked,
        unpack_artifact,
        unpacked_artifact,
    )

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    idle, loading, recent = (_artifact(tmp_path, bytes([i]) * 5000) for i in (1, 2, 3))
    idle_dir, recent_dir = unpack_artifact(idle), unpack_artifact(recent)
    with unpacked_artifact(loading) as loading_dir:  # a dashboard loading a model unused for months
        killed = models_cache() / ".0123456789abcdef-x1y2"  # a half-unpacked folder of a killed process
        killed.mkdir()
        (killed / "head.safetensors").write_bytes(b"partial")
        then = time.time() - 2 * DAY
        os.utime(killed, (then, then))
        _age(idle_dir, IDLE_DAYS + 1)
        _age(loading_dir, IDLE_DAYS + 1)
        pruned = prune_unpacked()
        assert set(pruned.files) == {idle_dir.name, killed.name}
        assert pruned.bytes > 5000
        assert not idle_dir.exists() and not killed.exists()
        assert (loading_dir / "head.safetensors").read_bytes() == bytes([2]) * 5000
        assert recent_dir.is_dir()
    assert not any(p.name.startswith(".removed-") for p in models_cache().iterdir()), "nothing left aside"
    _age(loading_dir, IDLE_DAYS + 1)
    assert prune_unpacked().files == (loading_dir.name,), "released, and idle"
    with unpacked_artifact(idle) as again:  # the workspace still has it: unpacked again on its next load
        assert again == idle_dir and (again / "head.safetensors").read_bytes() == bytes([1]) * 5000


def test_a_load_that_waited_on_a_prune_unpacks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loader that opened the folder's marker just before a prune moved the folder away must not use it."""
    from analytics.core.held import hold_file
    from analytics.models.network import CONFIG_FILE
    from analytics.models.workspace import unpack_artifact, unpacked_artifact

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    artifact = _artifact(tmp_path, b"weights" * 100)
    folder = unpack_artifact(artifact)
    marker = folder / CONFIG_FILE
    prune = os.open(marker, os.O_RDONLY)
    fcntl.flock(prune, fcntl.LOCK_EX)  # a prune holds the marker, about to move the folder away
    held: list[int | None] = []
    loader = threading.Thread(target=lambda: held.append(hold_file(marker)))
    loader.start()
    time.sleep(0.3)
    assert loader.is_alive(), "the loader waits for the prune"
    folder.rename(folder.with_name(".removed-" + folder.name))
    assert unpack_artifact(artifact) == folder  # and another process unpacked it again meanwhile
    fcntl.flock(prune, fcntl.LOCK_UN)
    os.close(prune)
    loader.join(5)
    assert held == [None], "the marker it opened was moved away (another took its place): not held"
    with unpacked_artifact(artifact) as again:
        assert again == folder and (again / "head.safetensors").read_bytes() == b"weights" * 100


def test_brandlens_cache_shows_each_part_and_prunes_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import main
    from analytics.models.onnx import cache_dir, index_graph
    from analytics.models.workspace import unpack_artifact

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    folder = unpack_artifact(_artifact(tmp_path, b"w" * 3000))
    cache_dir().mkdir(parents=True)
    graph = cache_dir() / "g.int8pc.onnx"
    graph.write_bytes(b"g" * 7000)
    index_graph("k", graph)

    assert main(["cache", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    parts = {p["name"]: p for p in shown["parts"]}
    assert set(parts) == {"encoders", "tokenizers", "onnx", "models"}
    assert parts["onnx"]["entries"] == 1 and parts["onnx"]["bytes"] == 7000, "the graph index is not an entry"
    assert parts["models"]["entries"] == 1 and parts["models"]["bytes"] > 3000
    assert shown["bytes"] == sum(p["bytes"] for p in shown["parts"])

    assert main(["cache", "--prune", "--json"]) == 0  # used just now: nothing is idle for 30 days
    assert json.loads(capsys.readouterr().out)["pruned"]["onnx"]["files"] == []
    assert main(["cache", "--prune", "--idle-days", "0", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["pruned"]["onnx"] == {"files": [graph.name], "bytes": 7000}
    assert after["pruned"]["models"]["files"] == [folder.name]
    assert after["bytes"] == 0 and not graph.exists() and not folder.exists()

    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert "models" in out and "0 entries" in out

    with pytest.raises(SystemExit) as exit_:
        main(["cache", "--prune", "--idle-days", "soon"])
    assert exit_.value.code == 2
    assert "--idle-days: expected a number of days, got 'soon'" in capsys.readouterr().err
