"""The fast inference path shared by every transformer sentiment model.

:class:`TransformerSentiment` wraps a PyTorch sequence classifier and its tokenizer and
implements :class:`~analytics.models.base.SentimentModel`:

* texts are tokenized once, without truncation; a text longer than the model's window
  is split into overlapping windows (:mod:`analytics.models.windows`), never cut;
* windows are sorted by length and batched with dynamic padding (each batch is padded to
  its own longest member), under a token budget so that batches of long reviews stay
  within memory;
* the forward pass runs under ``torch.inference_mode``, on the CPU with
  ``torch.set_num_threads`` equal to the cores this process may use, on CUDA in bf16
  (fp16 where the GPU lacks bf16);
* the model's outputs are mapped to (negative, neutral, positive) with a
  :class:`~analytics.models.labels.LabelMapping` read from its ``id2label``.

On the CPU, ``cpu_backend`` picks the arithmetic: ``"torch"`` (fp32), ``"int8"``
(``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear``), ``"onnx"`` (the
module exported to ONNX and run by ONNX Runtime, :mod:`analytics.models.onnx`) or
``"onnx-int8"`` (that graph quantised to int8 by ONNX Runtime).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analytics.models.devices import cpu_cores, resolve_device
from analytics.models.labels import LabelMapping
from analytics.models.windows import windowed_proba
from analytics.core.labels import CLASSES
from analytics.core.checks import check_choice, check_positive_int

CPU_BACKENDS: tuple[str, ...] = ("torch", "int8", "onnx", "onnx-int8")
"""CPU arithmetic options: fp32 PyTorch, PyTorch dynamic int8 quantisation of the linear layers,
ONNX Runtime fp32, ONNX Runtime dynamic int8."""

DEFAULT_BATCH_SIZE = {"cpu": 64, "cuda": 256}
TOKENS_PER_SEQUENCE_BUDGET = 128
"""A batch holds at most ``batch_size * TOKENS_PER_SEQUENCE_BUDGET`` padded tokens."""


def check_texts(texts: Sequence[str], *, name: str = "texts") -> list[str]:
    """Return ``texts`` as a list of str, or raise naming the first non-string item."""
    if isinstance(texts, str):
        raise ValueError(f"{name} must be a sequence of strings, not one string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}] must be a string, got {type(t).__name__}")
    return out


class TransformerSentiment:
    """A transformer sequence classifier behind the BrandLens model interface.

    Parameters
    ----------
    module : torch.nn.Module
        Called as ``module(input_ids=..., attention_mask=...)``; returns logits or an
        object with a ``logits`` attribute, shape ``(batch, labels.n_outputs)``.
    tokenizer : transformers tokenizer
        Its special tokens are added around every window.
    model_id : str
        The id stored with every prediction.
    labels : LabelMapping
        Maps the module's outputs to :data:`CLASSES`.
    device : {"auto", "cpu", "cuda"}, default "auto"
    batch_size : int, optional
        Windows per forward pass (default 64 on CPU, 256 on CUDA).
    max_length : int, optional
        Tokens per window including special tokens (default: what the tokenizer and
        the position embeddings allow).
    overlap : int, optional
        Tokens shared by consecutive windows of a long text (default: a quarter window).
    cpu_backend : {"torch", "int8", "onnx", "onnx-int8"}, default "torch"
        Arithmetic on the CPU; ignored on CUDA. With ``"onnx"`` and ``"onnx-int8"`` the
        model keeps no torch copy once the graph is built (``module`` is then ``None``):
        ONNX Runtime holds the weights, and the copy would cost about 460 MB more for the
        default model.
    preprocess : callable, optional
        Applied to every text before tokenization (e.g. the tweet normalisation the
        model was trained with).
    instruction : str, default ""
        Text the encoder expects before every input (e5's ``"query: "``); it is put at the
        start of every window of a long text, after the special tokens.
    int8_keep_fp32 : sequence of str, optional
        Node names (regular expressions) the ``"onnx-int8"`` backend leaves in fp32 (the
        encoder's :attr:`~analytics.models.backbones.Backbone.int8_keep_fp32`).
    int8_split_outliers : bool, default False
        Before the ``"onnx-int8"`` backend quantises, move the feed-forward channels whose
        activations are outliers on :data:`~analytics.models.onnx.CALIBRATION_TEXTS` into fp32
        branches (:func:`~analytics.models.onnx.split_outlier_channels`; the encoder's
        :attr:`~analytics.models.backbones.Backbone.int8_split_outliers`).
    graph : Path, optional
        With ``"onnx"`` or ``"onnx-int8"`` on the CPU: the graph an earlier load of this model
        built with the same options (:func:`~analytics.models.onnx.indexed_graph`), opened instead
        of exporting ``module``, which may then be ``None`` (the weights are never read into torch).
    owns_module : bool, default False
        ``module`` was built for this model alone: with ``"onnx"`` or ``"onnx-int8"`` on the CPU
        its weights are freed once exported, before the graph is quantised, and the int8 graph's
        fp32 export is not kept (:class:`~analytics.models.onnx.OnnxRunner`'s ``release_module``
        and ``keep_export``).

    Notes
    -----
    A model family with its own network (such as our fine-tuned classifiers with mean pooling)
    only has to build ``module`` and ``tokenizer``; batching, windows, devices and label
    mapping come from this class.
    """

    classes_: tuple[str, ...] = CLASSES

    def __init__(
        self,
        module: Any,
        tokenizer: Any,
        *,
        model_id: str,
        labels: LabelMapping,
        device: str = "auto",
        batch_size: int | None = None,
        max_length: int | None = None,
        overlap: int | None = None,
        cpu_backend: str = "torch",
        preprocess: Callable[[str], str] | None = None,
        instruction: str = "",
        int8_keep_fp32: Sequence[str] = (),
        int8_split_outliers: bool = False,
        graph: Path | None = None,
        owns_module: bool = False,
    ) -> None:
        import torch

        check_choice("cpu_backend", cpu_backend, CPU_BACKENDS)
        check_positive_int("batch_size", batch_size, optional=True)
        self.device = resolve_device(device)
        if graph is not None and (self.device != "cpu" or cpu_backend not in ("onnx", "onnx-int8")):
            raise ValueError("a prebuilt graph is served only on the CPU, with cpu_backend 'onnx' or 'onnx-int8'")
        if module is None and graph is None:
            raise ValueError("module is required unless a prebuilt graph serves the model")
        self.model_id = model_id
        self.instruction = instruction
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.labels = labels
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE[self.device]
        self.max_length = max_length or _model_window(module, tokenizer)
        self._prefix, self._suffix = window_affixes(tokenizer, instruction)
        self.window_tokens = self.max_length - len(self._prefix) - len(self._suffix)
        if self.window_tokens < 1:
            raise ValueError(f"max_length {self.max_length} leaves no room for text after special tokens")
        self.overlap = self.window_tokens // 4 if overlap is None else overlap
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        if module is not None:
            module.eval()
        if self.device == "cuda":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            module = module.to("cuda", dtype=self.dtype)
            self.cpu_backend = "cuda"
        else:
            torch.set_num_threads(cpu_cores())
            self.dtype = torch.float32
            if module is not None:
                module = module.to("cpu")
            if cpu_backend == "int8":
                module = _quantize_int8(module)
            self.cpu_backend = cpu_backend
        self.module = module
        self._runner: Any = module
        if self.cpu_backend in ("onnx", "onnx-int8"):
            from analytics.models.onnx import OnnxRunner

            quantize = self.cpu_backend == "onnx-int8"
            split = quantize and int8_split_outliers and graph is None
            self._runner = OnnxRunner(module, threads=cpu_cores(), quantize=quantize, keep_fp32=int8_keep_fp32,
                                      calibration=self._calibration() if split else None, graph=graph,
                                      release_module=owns_module, keep_export=not owns_module)
            self.module = None

    # -- the public interface -------------------------------------------------------------
    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int | None = None, window: bool = True
    ) -> np.ndarray:
        """Probabilities ``(len(texts), 3)`` over negative, neutral, positive.

        Parameters
        ----------
        texts : sequence of str
        batch_size : int, optional
            Overrides the model's batch size for this call.
        window : bool, default True
            Score long texts window by window (see :mod:`analytics.models.windows`).
            ``False`` reads only the first window of each text: an explicit truncation.
        """
        texts = check_texts(texts)
        ids = self.encode(texts)
        if not window:
            return self.predict_proba_ids([t[: self.window_tokens] for t in ids], batch_size=batch_size)
        return windowed_proba(
            ids,
            lambda w: self.predict_proba_ids(w, batch_size=batch_size),
            size=self.window_tokens,
            overlap=self.overlap,
        )

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens and without truncation."""
        if not texts:
            return []
        if self.preprocess is not None:
            texts = [self.preprocess(t) for t in texts]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sequence longer than max length": we window those
            enc = self.tokenizer(
                list(texts), add_special_tokens=False, truncation=False, verbose=False
            )
        return [list(x) for x in enc["input_ids"]]

    def predict_proba_ids(
        self, token_ids: Sequence[Sequence[int]], *, batch_size: int | None = None
    ) -> np.ndarray:
        """Probabilities for token-id sequences that each fit one window (no special tokens)."""
        if not token_ids:
            return np.zeros((0, len(CLASSES)))
        too_long = [i for i, t in enumerate(token_ids) if len(t) > self.window_tokens]
        if too_long:
            raise ValueError(
                f"token_ids[{too_long[0]}] has {len(token_ids[too_long[0]])} tokens, "
                f"more than the window of {self.window_tokens}; use predict_proba to window it"
            )
        logits = self._logits([self._prefix + list(t) + self._suffix for t in token_ids], batch_size)
        return self.labels.to_classes(_softmax(logits))

    def set_threads(self, threads: int) -> None:
        """CPU threads of the forward pass: torch's, and ONNX Runtime's session when it runs the model."""
        import torch

        check_positive_int("threads", threads)
        torch.set_num_threads(threads)
        if hasattr(self._runner, "set_threads"):
            self._runner.set_threads(threads)

    @property
    def description(self) -> str:
        return f"{self.model_id} on {self.device} ({self.cpu_backend}, window {self.max_length} tokens)"

    # -- internals --------------------------------------------------------------------------
    def _calibration(self) -> dict[str, np.ndarray]:
        """The model's inputs for :data:`~analytics.models.onnx.CALIBRATION_TEXTS`, as it reads any text."""
        from analytics.models.onnx import CALIBRATION_TEXTS

        ids, mask = pad_batch([self._prefix + t[: self.window_tokens] + self._suffix for t in self.encode(CALIBRATION_TEXTS)],
                              self.pad_token_id)
        return {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}

    def _logits(self, sequences: list[list[int]], batch_size: int | None) -> np.ndarray:
        import torch

        size = batch_size or self.batch_size
        budget = size * TOKENS_PER_SEQUENCE_BUDGET
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        order = np.argsort(-lengths, kind="stable")  # longest first: the peak memory comes at once
        out = np.empty((len(sequences), self.labels.n_outputs), dtype=np.float32)
        start = 0
        with torch.inference_mode():
            while start < len(order):
                width = int(lengths[order[start]])
                count = max(1, min(size, budget // max(width, 1)))
                idx = order[start : start + count]
                ids, mask = pad_batch([sequences[j] for j in idx], self.pad_token_id)
                if self.device == "cuda":
                    ids, mask = ids.to("cuda", non_blocking=True), mask.to("cuda", non_blocking=True)
                result = self._runner(input_ids=ids, attention_mask=mask)
                logits = getattr(result, "logits", result)
                out[idx] = logits.float().cpu().numpy()
                start += len(idx)
        return out


def pad_batch(sequences: Sequence[Sequence[int]], pad_token_id: int) -> tuple[Any, Any]:
    """``input_ids`` and ``attention_mask`` (torch long tensors) of ``sequences``, right-padded to the longest."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def window_affixes(tokenizer: Any, instruction: str = "") -> tuple[list[int], list[int]]:
    """The ids put before and after every window: the special tokens (e.g. ``[CLS] ... [SEP]``),
    and after the opening ones the ``instruction`` the encoder was trained with (e5's ``"query: "``)."""
    probe = "hello"
    bare = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            told = list(tokenizer(instruction.strip(), add_special_tokens=False)["input_ids"]) if instruction.strip() else []
            return full[:start] + told, full[start + len(bare) :]
    raise ValueError("cannot locate the text between the tokenizer's special tokens")


def _model_window(module: Any, tokenizer: Any) -> int:
    """Longest input the model reads: the tokenizer's limit and the position embeddings'."""
    limits = []
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    config = getattr(module, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if "roberta" in str(getattr(config, "model_type", "")):
            positions -= 2  # RoBERTa offsets positions by padding_idx + 1
        limits.append(positions)
    return min(limits) if limits else 512


def _quantize_int8(module: Any) -> Any:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
