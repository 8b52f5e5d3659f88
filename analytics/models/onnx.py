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
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analytics.core.errors import BrandLensError
from analytics.core.private import make_private, private_folder

MISSING = "cpu_backends 'onnx' and 'onnx-int8' need the packages onnxruntime and onnx ({error}); reinstall brandlens, whose dependencies they are, or use cpu_backend 'torch'"


def cache_dir() -> Path:
    """Where exported models are kept: ``$BRANDLENS_CACHE/onnx`` or ``~/.cache/brandlens/onnx``."""
    from analytics.models.backbones import cache_root

    return cache_root() / "onnx"


EXPORT_RECIPE = "eager-attention"
"""Part of the cache key: how the graph is traced, so a changed recipe exports anew instead of reusing a file."""


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
    """

    def __init__(self, module: Any, *, threads: int, quantize: bool = False, keep_fp32: Sequence[str] = ()) -> None:
        try:
            import onnx  # noqa: F401  (the exporter needs it)
            import onnxruntime as ort
        except ImportError as exc:
            raise BrandLensError(MISSING.format(error=exc)) from exc
        path = cache_dir() / f"{weights_digest(module)}.onnx"
        if not path.exists():
            export_onnx(module, path)
        if quantize:
            recipe = hashlib.sha256("\n".join(keep_fp32).encode()).hexdigest()[:8] if keep_fp32 else ""
            int8_path = path.with_suffix(f".int8pc{'-' + recipe if recipe else ''}.onnx")
            path = int8_path if int8_path.exists() else quantize_onnx(path, int8_path, keep_fp32)
        self.path = path
        self.set_threads(threads)

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
