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
from pathlib import Path

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
    """
    from analytics.models.backbones import backbone
    from analytics.models.network import encoder_tokenizer, load_artifact

    directory = Path(artifact_dir) if artifact_dir else DEFAULT_MODEL_DIR
    try:
        module, config = load_artifact(directory)
    except FileNotFoundError as exc:
        raise BrandLensError(f"the model artifact is missing: {exc}") from exc
    base = backbone(module.backbone)
    tokenizer = encoder_tokenizer(base.name)
    model = FineTunedSentiment(
        module,
        tokenizer,
        model_id=model_id,
        labels=label_mapping(config["id2label"], where=str(directory)),
        device=device,
        batch_size=batch_size,
        max_length=int(config.get("serving_max_length", 256)),
        cpu_backend=cpu_backend,
        instruction=base.instruction,
        int8_keep_fp32=base.int8_keep_fp32 if int8_keep_fp32 is None else tuple(int8_keep_fp32),
        int8_split_outliers=base.int8_split_outliers if int8_split_outliers is None else int8_split_outliers,
    )
    model.backbone = base.name
    return model
