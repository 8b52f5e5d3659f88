"""ONNX Runtime as the CPU arithmetic of a transformer model.

The torch module is exported once to ONNX (``torch.onnx.export``, dynamic batch and
sequence axes) and cached under ``$BRANDLENS_CACHE`` (default ``~/.cache/brandlens``) by a
hash of its weights, so that a second load reuses the file. :class:`OnnxRunner` is then
called like the module (``input_ids``, ``attention_mask`` -> logits), so the batching,
windows and label mapping of :class:`~analytics.models.transformer.TransformerSentiment`
are unchanged. The export traces the encoder's plain ("eager") attention, not PyTorch's fused
``scaled_dot_product_attention``: the same arithmetic, but the fused op's traced form guards every
attention row against NaN (``IsNaN`` + ``Where`` over batch x heads x tokens x tokens in each
layer), which ONNX Runtime runs as extra passes; without them the default model's int8 graph scored
1.13x the tweets per second with the same share of labels agreeing with fp32 (2 cores, 2,000 SemEval
tweets, 7 alternating rounds). With ``quantize=True`` the exported graph is quantised once more with ONNX
Runtime's dynamic int8 quantisation (per-channel int8 weights, activations quantised per
batch): on the default model, 2 cores without VNNI, 1.39x the speed of ONNX Runtime fp32
with the same F1^PN (``benchmarks/inference.py``). Needs ``onnxruntime`` and ``onnx``
(dependencies of BrandLens).

Per-batch activation scales are what int8 loses most by: in eight of the default model's twelve
feed-forward blocks one or two of the 1,536 channels entering the down-projection peak 8-45 times
the 90th percentile of the others (layer 4's near 70 where the rest stay under 7: the "massive
activations" of transformers), so one scale for the whole tensor leaves the ordinary channels a
handful of int8 steps. Given calibration inputs,
:func:`outlier_channels` finds those channels and :func:`split_outlier_channels` moves each into its
own small fp32 branch (its column of the up-projection, its activation and its row of the
down-projection), an exact rewrite of the fp32 graph; the rest is quantised with a range the outlier
no longer sets. On the default model every linear layer is then int8: 97.5% of labels agreeing with
fp32 on 2,000 SemEval tweets at 1.23x the tweets per second of the previous recipe, which kept the
lower six down-projections in fp32 for 97.2% (``benchmarks/model_v2.py``, same run).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analytics.core.errors import BrandLensError
from analytics.core.held import (
    IDLE_DAYS,
    STALE_PARTIAL_SECONDS,
    Pruned,
    folder_entries,
    hold_file,
    prune,
    remove_unheld,
)
from analytics.core.private import make_private, private_folder

MISSING = "cpu_backends 'onnx' and 'onnx-int8' need the packages onnxruntime and onnx ({error}); reinstall brandlens, whose dependencies they are, or use cpu_backend 'torch'"


GRAPH_CACHE = "onnx"
"""Under :func:`~analytics.models.backbones.cache_root`: the exported and quantised graphs, and their index."""


def cache_dir() -> Path:
    """Where exported models are kept: ``$BRANDLENS_CACHE/onnx`` or ``~/.cache/brandlens/onnx``."""
    from analytics.models.backbones import cache_root

    return cache_root() / GRAPH_CACHE


CALIBRATION_TEXTS: tuple[str, ...] = (
    "The delivery was late again and nobody answered my emails.",
    "Love the new update, works great!",
    "It's ok I guess.",
    "Der Kundendienst war sehr freundlich.",
    "Le produit est arrivé cassé.",
    "¿Alguien sabe cuándo abre la tienda?",
    "这个手机很好用",
    "Worst. Service. Ever. @support #fail http://t.co/x",
    "Meeting at 5pm tomorrow, see you there :)",
    "I have been using this vacuum for three months and the battery barely lasts twenty minutes now.",
)
"""What :func:`outlier_channels` runs the fp32 graph on: short posts and a review in several languages.
Fixed, so the same weights always give the same int8 graph."""

OUTLIER_FACTOR = 6.0
"""A channel is an outlier when its peak on the calibration texts exceeds this many times the 90th
percentile of its layer's channel peaks (on the default model's eight such layers 7.7-45 times; every
other channel under 5.3)."""

MAX_OUTLIERS = 4
"""At most this many channels per layer are split out (each costs two thin fp32 products)."""

OUTLIER_BRANCH = "/outlier/"
"""Part of the name of every node :func:`split_outlier_channels` adds (they stay in fp32)."""

EXPORT_RECIPE = "eager-attention"
"""Part of the cache key: how the graph is traced, so a changed recipe exports anew instead of reusing a file."""


GRAPH_INDEX = "index"
"""Under :func:`cache_dir`: ``<key>.json`` files, each naming the graph a model's :func:`graph_key` was served by."""


def graph_key(recipe: str, *, contents: Sequence[Path] = (), folders: Sequence[Path] = ()) -> str:
    """A short hash of everything a served graph is built from, known before any weight is read.

    ``recipe`` says how it is built (the model, backend, nodes kept in fp32, outlier split, window,
    instruction); ``contents`` are small files hashed whole (an artifact's delta and config);
    the files directly in ``folders`` are large ones that only their path, size and modification
    time stand for (the converted encoder's 470 MB of weights: re-converting rewrites them).
    The versions of torch, transformers, onnx and ONNX Runtime, the export recipe and the
    calibration texts are part of the key, so an upgrade or a changed recipe builds the graph
    anew instead of reusing one.
    """
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256(f"{EXPORT_RECIPE}\n{recipe}\n{OUTLIER_FACTOR} {MAX_OUTLIERS}\n".encode())
    h.update("\n".join(CALIBRATION_TEXTS).encode())
    for package in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            h.update(f"\n{package} {version(package)}".encode())
        except PackageNotFoundError:
            h.update(f"\n{package} absent".encode())
    for path in contents:
        h.update(f"\n{Path(path).name}\n".encode())
        h.update(Path(path).read_bytes())
    for folder in folders:
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            st = path.stat()
            h.update(f"\n{path.resolve()} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def indexed_graph(key: str) -> Path | None:
    """The graph an earlier load recorded under ``key`` (:func:`index_graph`), if it is still there."""
    import json

    entry = cache_dir() / GRAPH_INDEX / f"{key}.json"
    try:
        graph = cache_dir() / json.loads(entry.read_text(encoding="utf-8"))["graph"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return graph if graph.is_file() else None


def index_graph(key: str, graph: Path) -> None:
    """Record that ``graph`` (a file in :func:`cache_dir`) serves the model of ``key``, atomically.

    The next load of that model opens the graph without reading, merging or hashing its torch
    weights: on the default model about 1.1 GB less at peak and 6-8 s less.
    """
    import json

    folder = cache_dir() / GRAPH_INDEX
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    try:
        private_folder(folder)
        tmp.write_text(json.dumps({"graph": Path(graph).name}), encoding="utf-8")
        make_private(tmp)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:  # a full disk: the model is served all the same, and the next load builds it again
        tmp.unlink(missing_ok=True)


@contextmanager
def building(key: str) -> Iterator[Path | None]:
    """The graph indexed under ``key``, or ``None`` while this process alone builds it.

    A model's first load exports, calibrates and quantises its graph: about 30 s and 3-4 GB at peak
    for the default model. Two processes loading it at once (the dashboard and a scoring job on a
    new machine) would each build it, at twice the memory; here the second waits for the first's
    build (:func:`~analytics.core.once.one_builder` on ``index/<key>.lock``) and then opens what
    it built. After a build, :func:`prune_graphs` removes graphs long unused.
    The found graph is held (:func:`hold_file`) until the block ends, so it cannot be pruned meanwhile.
    """
    found = _held_index_entry(key)
    if found is not None:
        try:
            yield found[0]
        finally:
            os.close(found[1])
        return
    from analytics.core.once import one_builder

    folder = cache_dir() / GRAPH_INDEX
    try:
        private_folder(folder)
    except OSError:  # a cache this user cannot write: one_builder runs the build unshared
        pass
    held = None
    try:
        with one_builder(folder / f"{key}.lock", "this model's ONNX graph"):
            held = _held_index_entry(key)
            yield held[0] if held else None
    finally:
        if held:
            os.close(held[1])
    if held is None:
        prune_graphs()


def _held_index_entry(key: str) -> tuple[Path, int] | None:
    graph = indexed_graph(key)
    fd = hold_file(graph) if graph is not None else None
    return (graph, fd) if fd is not None else None


def prune_graphs(*, idle_days: float = IDLE_DAYS, now: float | None = None) -> Pruned:
    """Remove the graphs of :func:`cache_dir` that no process has opened for ``idle_days`` and none holds open.

    Every adapted model, upgrade and recipe builds its own graphs (the default model's int8 graph
    is 118 MB; a fp32 export 470 MB), so a cache that is never pruned grows by that much with each.
    A graph in use is held by a shared ``flock`` (:func:`hold_file`) and is skipped; one removed
    is built again if its model is loaded later. Index entries and build locks of removed graphs go
    with them, as do half-written files of builds killed more than a day ago.
    """
    folder = cache_dir()
    now = time.time() if now is None else now
    pruned = prune([(path, now - (idle_days * 86400 if path.suffix == ".onnx" else STALE_PARTIAL_SECONDS), None)
                    for path in folder_entries(folder) if path.suffix in (".onnx", ".tmp") and path.is_file()])
    index = folder / GRAPH_INDEX
    for entry in index.glob("*.json") if index.is_dir() else ():
        if indexed_graph(entry.stem) is None:
            remove_unheld(index / f"{entry.stem}.lock")  # a build waited on or under way keeps its lock
            entry.unlink(missing_ok=True)
    return pruned


def weights_digest(module: Any) -> str:
    """A short hash of the export recipe, the module's class, parameters and buffers (the cache key)."""
    h = hashlib.sha256(f"{EXPORT_RECIPE}\n{type(module).__qualname__}".encode())
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


@contextmanager
def eager_attention(module: Any) -> Iterator[None]:
    """Within the block, every Hugging Face model inside ``module`` computes attention the plain way.

    Restored afterwards, so torch inference keeps its fused attention.
    """
    from transformers import PreTrainedModel

    models = [m for m in module.modules() if isinstance(m, PreTrainedModel)]
    previous = [m.config._attn_implementation for m in models]
    try:
        for m in models:
            m.set_attn_implementation("eager")
        yield
    finally:
        for m, implementation in zip(models, previous):
            m.set_attn_implementation(implementation)


def export_onnx(module: Any, path: Path) -> Path:
    """Export ``module(input_ids, attention_mask) -> logits`` to ``path`` (written atomically)."""
    import torch

    private_folder(path.parent)  # 0700: a model fine-tuned on a workspace's posts is that workspace's data
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    dummy = torch.ones(2, 8, dtype=torch.long)

    class _Logits(torch.nn.Module):  # a plain tensor output whatever the module returns
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return getattr(out, "logits", out)

    with warnings.catch_warnings(), eager_attention(module):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(module).eval(), (dummy, dummy), str(tmp),
            input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=17,
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "logits": {0: "batch"}},
            dynamo=False,
        )
    make_private(tmp)
    os.replace(tmp, path)
    return path


def quantize_onnx(source: Path, path: Path, keep_fp32: Sequence[str] = ()) -> Path:
    """Dynamic int8 quantisation of an exported model (``onnxruntime.quantization``), written atomically.

    Nodes whose names match a regular expression of ``keep_fp32`` stay in fp32.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded: list[str] = []
    if keep_fp32:
        graph = onnx.load(str(source), load_external_data=False).graph
        excluded = [n.name for n in graph.node if any(re.search(p, n.name) for p in keep_fp32)]
        if not excluded:  # a renamed graph would silently lose the recipe's accuracy
            raise BrandLensError(f"no node of {source.name} matches {list(keep_fp32)} to keep in fp32")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    # per-channel weight scales: on 1,500 SemEval tweets per-tensor int8 changed 6.9% of the
    # default model's labels, per-channel 2.9% with F1^PN unchanged
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quiet its advice to pre-process, printed on every export
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=excluded)
    finally:
        root.setLevel(level)
    make_private(tmp)
    os.replace(tmp, path)
    return path


ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Erf", "Tanh", "Sigmoid", "Relu", "Pow", "Sqrt", "Gelu", "FastGelu"})
"""Operators an activation between a feed-forward block's two projections may be built of."""


class _GraphIndex:
    """Who produces and who reads each tensor of an ONNX graph, and its weight initializers."""

    def __init__(self, graph: Any) -> None:
        self.inits = {t.name: t for t in graph.initializer}
        self.producers = {o: node for node in graph.node for o in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.weight_matmuls = {n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in self.inits
                               and len(self.inits[n.input[1]].dims) == 2}

    def feed_forward(self, tensor: str) -> tuple[Any, Any, list[Any]] | None:
        """``(up-projection, down-projection, [activation nodes])`` when ``tensor = act(x @ W1 + b1)`` is read by
        one linear layer alone and computed from one by elementwise nodes nothing else reads; ``None`` otherwise."""
        readers = self.consumers.get(tensor, [])
        if len(readers) != 1 or readers[0].name not in self.weight_matmuls or readers[0].input[0] != tensor:
            return None
        chain: dict[str, Any] = {}
        frontier, up = [tensor], None
        while frontier:
            node = self.producers.get(frontier.pop())
            if node is None or node.name in chain or node.op_type == "Constant":
                continue
            if node.name in self.weight_matmuls:
                if up is not None and up.name != node.name:
                    return None
                up = node
                continue
            if node.op_type not in ELEMENTWISE:
                return None
            chain[node.name] = node
            frontier.extend(i for i in node.input if i not in self.inits)
        if up is None or not chain:
            return None
        inside = set(chain) | {up.name, readers[0].name}
        changed = [up.output[0], *(o for n in chain.values() for o in n.output if o != tensor),
                   *(i for n in (up, readers[0], *chain.values()) for i in n.input if i in self.inits)]
        for name in changed:
            if any(c.name not in inside for c in self.consumers.get(name, [])):
                return None  # a value or weight the split would change is read elsewhere
        return up, readers[0], list(chain.values())


def outlier_channels(source: Path, feed: dict[str, Any], *, factor: float = OUTLIER_FACTOR,
                     limit: int = MAX_OUTLIERS) -> dict[str, list[int]]:
    """Channels entering ``source``'s feed-forward down-projections whose peak on ``feed`` is an outlier.

    Returns ``{tensor name: [channel, ...]}`` for the down-projection inputs that have any (at most
    ``limit``, default :data:`MAX_OUTLIERS`, the largest first). A channel is an outlier when its peak
    absolute value exceeds ``factor`` (default :data:`OUTLIER_FACTOR`) times the 90th percentile of
    its tensor's channel peaks (a level most ordinary channels stay under, whatever the layer's width).
    """
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(source))
    index = _GraphIndex(model.graph)
    watched = sorted({n.input[0] for n in model.graph.node if n.name in index.weight_matmuls
                      and index.feed_forward(n.input[0]) is not None})
    if not watched:
        return {}
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in watched)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the watched tensors
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    del model
    out: dict[str, list[int]] = {}
    for name, value in zip(watched, session.run(watched, feed)):
        peaks = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
        ratio = peaks / max(float(np.percentile(peaks, 90)), 1e-12)
        chosen = [int(c) for c in np.argsort(-ratio, kind="stable")[:limit] if ratio[c] > factor]
        if chosen:
            out[name] = chosen
    return out


def split_outlier_channels(source: Path, path: Path, outliers: dict[str, list[int]]) -> Path:
    """Rewrite ``source`` so each down-projection's outlier input channels flow through an fp32 branch.

    For a feed-forward block ``y = act(x @ W1 + b1) @ W2`` and outlier channels ``c`` of its
    activation (keys of ``outliers``, as :func:`outlier_channels` returns them), the main path keeps
    the other channels (``W1[:, ~c]``, ``b1[~c]``, ``W2[~c]``) and a branch computes
    ``act(x @ W1[:, c] + b1[c]) @ W2[c]``, added to ``y``: the same function, with no extra pass over
    the wide activation, and with the outliers out of the tensor int8 will quantise. Every added node's
    name contains :data:`OUTLIER_BRANCH`. Written atomically.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    index = _GraphIndex(graph)
    inits = index.inits
    for tensor, channels in sorted(outliers.items()):
        block = index.feed_forward(tensor)
        if block is None:
            raise BrandLensError(f"{source.name}: {tensor!r} is not a feed-forward block's activation; cannot split its outliers")
        up, down, chain = block
        w1 = numpy_helper.to_array(inits[up.input[1]])
        w2 = numpy_helper.to_array(inits[down.input[1]])
        c = np.asarray(channels)
        keep = np.setdiff1d(np.arange(w1.shape[1]), c)
        branch = f"{down.name.rsplit('/', 2)[0]}{OUTLIER_BRANCH}"
        split = {up.input[1]: (w1[:, keep], w1[:, c]), down.input[1]: (w2[keep], w2[c])}
        renamed = {up.input[1]: f"{branch}w1", down.input[1]: f"{branch}w2", up.output[0]: f"{branch}up"}
        for node in chain:  # per-channel vectors (the bias) are split too; scalars are shared
            for name in node.input:
                if name in inits and name not in split and tuple(inits[name].dims) == (w1.shape[1],):
                    vector = numpy_helper.to_array(inits[name])
                    split[name] = (vector[keep], vector[c])
                    renamed[name] = f"{branch}v{len(renamed)}"
        for name, (main, outlier) in split.items():
            inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(main), name))
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(outlier), renamed[name]))
        names = [f"{branch}{j}/{node.op_type}" for j, node in enumerate(chain)]
        for name, node in zip(names, chain):
            renamed.update((o, f"{name}_output_{k}") for k, o in enumerate(node.output))
        added = [helper.make_node("MatMul", [up.input[0], f"{branch}w1"], [f"{branch}up"], name=f"{branch}up/MatMul")]
        for name, node in zip(names, chain):
            added.append(helper.make_node(node.op_type, [renamed.get(i, i) for i in node.input],
                                          [renamed[o] for o in node.output], name=name,
                                          **{a.name: helper.get_attribute_value(a) for a in node.attribute}))
        added.append(helper.make_node("MatMul", [renamed[tensor], f"{branch}w2"], [f"{branch}down"],
                                      name=f"{branch}down/MatMul"))
        for reader in index.consumers.get(down.output[0], []):
            reader.input[list(reader.input).index(down.output[0])] = f"{branch}sum"
        added.append(helper.make_node("Add", [down.output[0], f"{branch}down"], [f"{branch}sum"], name=f"{branch}sum"))
        graph.node.extend(added)
    _sort_topologically(graph)
    private_folder(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    make_private(tmp)
    os.replace(tmp, path)
    return path


def _release(module: Any) -> None:
    """Free ``module``'s weights whoever still refers to it: its tensors move to torch's ``meta`` device."""
    module.to("meta")
    gc.collect()


def _sort_topologically(graph: Any) -> None:
    """Reorder ``graph``'s nodes so each comes after the producers of its inputs (ONNX requires it)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        waiting = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise BrandLensError("the rewritten ONNX graph has a cycle or a missing input")
        pending = waiting
    del graph.node[:]
    graph.node.extend(ordered)


class OnnxRunner:
    """An ONNX Runtime session called like the torch module it was exported from.

    Parameters
    ----------
    module : torch.nn.Module
        Exported on first use, then read from the cache.
    threads : int
        Intra-op threads (the cores this process may use).
    quantize : bool, default False
        Run the dynamically int8-quantised graph (:func:`quantize_onnx`).
    keep_fp32 : sequence of str, optional
        With ``quantize``, regular expressions of node names left in fp32 (the encoder's
        :attr:`~analytics.models.backbones.Backbone.int8_keep_fp32`).
    calibration : dict of str to ndarray, optional
        With ``quantize``, model inputs (``input_ids``, ``attention_mask``) of
        :data:`CALIBRATION_TEXTS` as the model reads them: the feed-forward outlier channels they
        reveal are split into fp32 branches before quantising (:func:`split_outlier_channels`).
        ``None``: quantise the graph as exported.
    graph : Path, optional
        A graph already built from this model with these options (:func:`indexed_graph`): opened
        as it is, and ``module`` may be ``None``.
    release_module : bool, default False
        ``module`` is the caller's to give up: once exported, its weights are freed (moved to
        torch's ``meta`` device, so the module cannot run again) before the graph is calibrated and
        quantised. On the default model's first load the peak fell from 4.19 GB to 3.74 GB.
    keep_export : bool, default True
        With ``quantize``, keep the fp32 export the int8 graph was built from (470 MB for the default
        model; kept, another int8 recipe of the same weights skips the export). ``False`` removes it
        unless a process serves it.

    The graph served is held open (:func:`hold_file`) for the runner's life, so
    :func:`prune_graphs` never removes it from under a long-running process.
    """

    def __init__(self, module: Any, *, threads: int, quantize: bool = False, keep_fp32: Sequence[str] = (),
                 calibration: dict[str, Any] | None = None, graph: Path | None = None,
                 release_module: bool = False, keep_export: bool = True) -> None:
        try:
            import onnx  # noqa: F401  (the exporter needs it)
            import onnxruntime as ort  # noqa: F401
        except ImportError as exc:
            raise BrandLensError(MISSING.format(error=exc)) from exc
        self._hold: int | None = None
        if graph is not None:
            self._serve(Path(graph), threads)
            return
        if module is None:
            raise ValueError("OnnxRunner needs the module to export, or a graph built from it")
        path = cache_dir() / f"{weights_digest(module)}.onnx"
        served = path
        if quantize:
            recipe = "\n".join(keep_fp32)
            if calibration is not None:
                recipe += f"\noutliers {OUTLIER_FACTOR} {MAX_OUTLIERS}"
                for name in sorted(calibration):
                    recipe += f"\n{name} {calibration[name].shape} " + hashlib.sha256(calibration[name].tobytes()).hexdigest()
            digest = hashlib.sha256(recipe.encode()).hexdigest()[:8] if recipe else ""
            served = path.with_suffix(f".int8pc{'-' + digest if digest else ''}.onnx")
        if not served.exists() and not path.exists():
            export_onnx(module, path)
        if release_module:
            _release(module)
        del module
        if served != path and not served.exists():
            source = hold_file(path)  # another build of these weights must not remove it while it is read
            try:
                self._quantize(path, served, keep_fp32, calibration)
            finally:
                if source is not None:
                    os.close(source)
        if served != path and not keep_export:
            remove_unheld(path)
        self._serve(served, threads)

    def _serve(self, path: Path, threads: int) -> None:
        self.path = path
        self._hold = hold_file(path)
        if self._hold is None:
            raise FileNotFoundError(f"the ONNX graph {path} was removed while it was being opened; load the model again")
        self.set_threads(threads)

    def __del__(self) -> None:
        hold, self._hold = getattr(self, "_hold", None), None
        if hold is not None:
            try:
                os.close(hold)
            except Exception:  # noqa: BLE001 - at interpreter exit the kernel closes it anyway
                pass

    @staticmethod
    def _quantize(source: Path, path: Path, keep_fp32: Sequence[str], calibration: dict[str, Any] | None) -> None:
        outliers = outlier_channels(source, calibration) if calibration is not None else {}
        if not outliers:
            quantize_onnx(source, path, keep_fp32)
            return
        split = split_outlier_channels(source, source.with_suffix(f".split.{os.getpid()}.tmp"), outliers)
        try:
            quantize_onnx(split, path, (*keep_fp32, re.escape(OUTLIER_BRANCH)))
        finally:
            split.unlink(missing_ok=True)

    def set_threads(self, threads: int) -> None:
        """(Re)open the session with ``threads`` intra-op threads (e.g. the CPUs Ray gave an actor)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: Any, attention_mask: Any) -> Any:
        import torch

        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0])
