"""Our fine-tuned classifiers behind the fast inference path: the default model, ``minilm-v1``, adapted models.

The network and artifact format are defined in :mod:`analytics.models.network`; this
module loads an artifact (the shipped default ``data/models/e5-sentiment``, the previous
default ``data/models/minilm-sentiment``, or a workspace's adapted model) on top of its
encoder from the installed package, offline, and serves it with
:class:`~analytics.models.transformer.TransformerSentiment`. Texts are normalised as in
training (:func:`analytics.models.text.normalise_tweet`) and the encoder's instruction
(e5's ``"query: "``) starts every window.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from analytics.models.text import normalise_tweet
from analytics.core.errors import BrandLensError
from analytics.resources import data_path
from analytics.models.labels import label_mapping
from analytics.models.transformer import TransformerSentiment, check_texts

DEFAULT_MODEL_DIR = data_path("models", "e5-sentiment")
"""The shipped default model (``data/models/e5-sentiment`` of the source tree, inside the installed package)."""

MINILM_V1 = "minilm-v1"
"""The id of the default model before BrandLens 2 (MiniLM-L6), kept so old workspaces read and rescore alike."""
MINILM_V1_DIR = data_path("models", "minilm-sentiment")


class FineTunedSentiment(TransformerSentiment):
    """One of our fine-tuned classifiers; adds the tweet normalisation it was trained with."""

    def predict_proba(self, texts: Sequence[str], **kwargs) -> np.ndarray:
        return super().predict_proba([normalise_tweet(t) for t in check_texts(texts)], **kwargs)


def load_finetuned(
    *,
    artifact_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    cpu_backend: str = "torch",
    model_id: str = "default",
    int8_keep_fp32: Sequence[str] | None = None,
    int8_split_outliers: bool | None = None,
) -> FineTunedSentiment:
    """Load the default model (or another artifact directory: ``minilm-v1``, an adapted model).

    ``int8_keep_fp32`` (with ``cpu_backend="onnx-int8"``) replaces the encoder's own nodes left in
    fp32 (:attr:`~analytics.models.backbones.Backbone.int8_keep_fp32`) and ``int8_split_outliers``
    its outlier split (:attr:`~analytics.models.backbones.Backbone.int8_split_outliers`):
    ``benchmarks/model_v2.py`` measures what other choices trade.

    Served by ONNX Runtime on the CPU, a model whose graph an earlier load built (same artifact,
    encoder files, options and library versions: :func:`~analytics.models.onnx.graph_key`) opens
    that graph without building the torch classifier. With its tokenizer read from the saved build
    (:func:`~analytics.models.network.built_tokenizer`), the default model loads in 4.5-5.5 s and
    peaks at 0.91 GB, where building the classifier each time took 13 s and 2.0 GB (2 cores).
    """
    from analytics.models.backbones import backbone
    from analytics.models.devices import resolve_device
    from analytics.models.network import artifact_config, artifact_encoder, encoder_tokenizer, load_artifact

    directory = Path(artifact_dir) if artifact_dir else DEFAULT_MODEL_DIR
    try:
        config = artifact_config(directory)
        base = backbone(artifact_encoder(directory))
    except FileNotFoundError as exc:
        raise BrandLensError(f"the model artifact is missing: {exc}") from exc
    keep_fp32 = base.int8_keep_fp32 if int8_keep_fp32 is None else tuple(int8_keep_fp32)
    split = base.int8_split_outliers if int8_split_outliers is None else int8_split_outliers
    max_length = int(config.get("serving_max_length", 256))
    device = resolve_device(device)  # once: a missing GPU is warned about once
    key = None
    if cpu_backend in ("onnx", "onnx-int8") and device == "cpu":
        key = _graph_key(directory, base, cpu_backend=cpu_backend, keep_fp32=keep_fp32, split=split,
                         max_length=max_length)
    from analytics.models.onnx import building, index_graph

    # served by ONNX Runtime: another process building the graph makes this one wait, then open what it built
    with building(key) if key is not None else nullcontext() as graph:
        module = None
        if graph is None:
            try:
                module, config = load_artifact(directory)
            except FileNotFoundError as exc:
                raise BrandLensError(f"the model artifact is missing: {exc}") from exc
        model = FineTunedSentiment(
            module,
            encoder_tokenizer(base.name),
            model_id=model_id,
            labels=label_mapping(config["id2label"], where=str(directory)),
            device=device,
            batch_size=batch_size,
            max_length=max_length,
            cpu_backend=cpu_backend,
            instruction=base.instruction,
            int8_keep_fp32=keep_fp32,
            int8_split_outliers=split,
            graph=graph,
            owns_module=True,  # built for this model alone: freed once exported
        )
        if key is not None and graph is None:
            index_graph(key, model._runner.path)
    model.backbone = base.name
    return model


def _graph_key(directory: Path, base: Any, *, cpu_backend: str, keep_fp32: Sequence[str], split: bool,
               max_length: int) -> str:
    """What the ONNX graph serving the classifier of ``directory`` is built from (:func:`~analytics.models.onnx.graph_key`)."""
    from analytics.models.network import artifact_files
    from analytics.models.onnx import graph_key

    recipe = (f"classifier {cpu_backend} keep={list(keep_fp32)} "
              f"split={split} window={max_length} instruction={base.instruction!r} encoder={base.name}")
    return graph_key(recipe, contents=artifact_files(directory), folders=[base.path()])
