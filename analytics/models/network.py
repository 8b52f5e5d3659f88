"""Our classifiers' network and artifact: a pretrained encoder + mean pooling + linear head.

The encoder is one of :data:`analytics.models.backbones.BACKBONES` (multilingual-e5-small
for the default model, MiniLM-L6 for ``minilm-v1``), loaded offline from its installed
package with ``from_pretrained``. Both were trained with mean pooling, so the head reads
the mean of the token states rather than the ``[CLS]`` pooler.

An artifact directory holds only what training changed, never the encoder itself:

* ``classifier_config.json`` — variant, pooling, labels (``id2label``), window, and
  ``encoder`` (a backbone name; absent in artifacts from before BrandLens 2: MiniLM);
* ``head.safetensors`` — the linear head;
* ``top_layers.safetensors`` — for the ``top-layers`` variant, the retrained top layers;
* ``adapter_config.json`` + ``adapter_model.safetensors`` — for ``lora``, a peft adapter;
* ``encoder.safetensors`` — for ``full``, the whole encoder (fp16);
* for an adapted model, ``base_artifact: "default"`` and ``base_digest`` in the config: its
  retrained layers replace those of the shipped default model (itself a delta).

Weights are saved in fp16 to keep the artifact small and loaded back as fp32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from analytics.core.labels import CLASSES

VARIANTS: tuple[str, ...] = ("lora", "top-layers", "full")
CONFIG_FILE = "classifier_config.json"
LORA_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def encoder_dir(name: str | None = None) -> Path:
    """The Hugging Face folder of encoder ``name`` (default: :data:`DEFAULT_BACKBONE`)."""
    from analytics.models.backbones import DEFAULT_BACKBONE, backbone

    return backbone(name or DEFAULT_BACKBONE).path()


TOKENIZER_CACHE = "tokenizers"
"""Under :func:`~analytics.models.backbones.cache_root`: each encoder's tokenizer as transformers builds it, saved."""


def built_tokenizer(directory: Path) -> Path:
    """A folder holding the tokenizer of ``directory`` exactly as ``AutoTokenizer`` builds it, saved once.

    ``AutoTokenizer`` does not read e5's ``tokenizer.json`` as it is: transformers' XLM-R class
    parses it in Python and builds its own pipeline from the 250,000 pieces (whitespace split
    before the metaspace, where the file collapses runs of spaces), 2.5-5 s a process; the model
    was trained on that pipeline. Saved (``save_pretrained``), the same pipeline is read by the
    tokenizers library in about 1 s. The folder is keyed by the source's tokenizer files and the
    transformers and tokenizers versions, built under a temporary name and renamed; processes
    starting together on a new machine take turns (:func:`~analytics.core.once.one_builder`), so
    one builds it and the others read what it saved.
    """
    import hashlib
    import os
    import shutil
    import tempfile
    from importlib.metadata import version

    from analytics.core.private import private_folder
    from analytics.models.backbones import cache_root

    h = hashlib.sha256(f"transformers {version('transformers')} tokenizers {version('tokenizers')}".encode())
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.name.endswith((".safetensors", ".bin", ".onnx", ".h5", ".msgpack", ".ot")):
            h.update(f"\n{path.name}\n".encode())
            h.update(path.read_bytes())
    target = cache_root() / TOKENIZER_CACHE / h.hexdigest()[:24]
    if (target / "tokenizer.json").is_file():
        return target
    try:
        parent = private_folder(target.parent)
    except OSError:  # a cache this user cannot write: read the source folder each time, as before
        return directory
    from analytics.core.once import one_builder

    with one_builder(parent / f"{target.name}.lock", "the encoder's tokenizer"):
        if (target / "tokenizer.json").is_file():  # built by the process this one waited for
            return target
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        if not tokenizer.is_fast:  # nothing faster to save: read the source folder as it is
            return directory
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
        except OSError:  # a cache this user cannot write into: read the source folder each time
            return directory
        try:
            tokenizer.save_pretrained(str(staging))
            try:
                os.rename(staging, target)
            except OSError:  # saved meanwhile by a process that could not take the lock: keep its folder
                if not (target / "tokenizer.json").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def encoder_tokenizer(name: str | None = None) -> Any:
    """A tokenizer of encoder ``name`` (default: :data:`DEFAULT_BACKBONE`), the caller's own.

    Read from its saved build (:func:`built_tokenizer`), about 1 s for e5. Each caller gets its
    own because a fast tokenizer keeps padding and truncation state and must not be shared between
    threads (Streamlit sessions); none is kept for later callers, because e5's holds about 280 MB
    (its 250,000-piece model), as much as the int8 graph it feeds.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    source = encoder_dir(name)
    built = built_tokenizer(source)
    if built == source:  # no fast tokenizer to save: read as the folder says
        return AutoTokenizer.from_pretrained(str(source))
    return PreTrainedTokenizerFast.from_pretrained(str(built))


class EncoderClassifier(nn.Module):
    """Encoder, attention-masked mean pooling, dropout and a linear head over :data:`CLASSES`."""

    def __init__(self, encoder: nn.Module, *, n_classes: int = len(CLASSES), dropout: float = 0.1,
                 backbone: str | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)
        self.config = encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.classify(states, attention_mask)

    def classify(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits from the encoder's last token states."""
        return self.head(self.dropout(mean_pool(states, attention_mask)))

    def lower_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_lower: int) -> torch.Tensor:
        """Token states after the embeddings and the first ``n_lower`` layers."""
        bert = self.encoder
        hidden = bert.embeddings(input_ids=input_ids)
        mask = extended_mask(bert, attention_mask, hidden)
        for layer in bert.encoder.layer[:n_lower]:
            hidden = layer(hidden, attention_mask=mask)
        return hidden

    def upper_forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor, n_lower: int) -> torch.Tensor:
        """Logits from states after ``n_lower`` layers (the rest of the encoder, then the head)."""
        bert = self.encoder
        mask = extended_mask(bert, attention_mask, hidden)
        for layer in bert.encoder.layer[n_lower:]:
            hidden = layer(hidden, attention_mask=mask)
        return self.classify(hidden, attention_mask)


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    weights = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def extended_mask(bert: nn.Module, attention_mask: torch.Tensor, hidden: torch.Tensor) -> Any:
    """The attention mask in the form BERT's layers take (as ``BertModel.forward`` builds it).

    Uses the public ``transformers.masking_utils`` helper, not ``BertModel``'s private
    method, whose signature changed between minor releases.
    """
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)


def load_encoder(encoder_path: str | Path) -> nn.Module:
    """A pretrained encoder folder without its pooler (we mean-pool token states instead).

    Leaving the pooler out makes ``from_pretrained`` report its two weights as unexpected;
    that report (and the progress bar of a local read) is silenced because it is the
    intended outcome, not a problem.
    """
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    previous, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(str(encoder_path), add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(previous)
        if bar:
            hf_logging.enable_progress_bar()


def build_classifier(backbone: str | None = None, *, dropout: float = 0.1) -> EncoderClassifier:
    """A fresh classifier on pretrained encoder ``backbone`` (default :data:`DEFAULT_BACKBONE`; head randomly initialised)."""
    from analytics.models.backbones import DEFAULT_BACKBONE

    name = backbone or DEFAULT_BACKBONE
    return EncoderClassifier(load_encoder(encoder_dir(name)), dropout=dropout, backbone=name)


def _half(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}


def _float(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.to(torch.float32) for k, v in tensors.items()}


def save_artifact(model: nn.Module, out_dir: str | Path, *, variant: str, n_top_layers: int = 0,
                  max_length: int = 128, extra: dict[str, Any] | None = None) -> Path:
    """Write the part of ``model`` that training changed (fp16) and its config to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("head.safetensors", "top_layers.safetensors", "encoder.safetensors",
                  "adapter_model.safetensors", "adapter_config.json"):
        (out / stale).unlink(missing_ok=True)
    if variant == "lora":
        merged_head = model.base_model.model.head  # peft wraps the classifier
        model.save_pretrained(str(out))  # adapter_config.json + adapter_model.safetensors (LoRA only)
        (out / "README.md").unlink(missing_ok=True)  # peft's template card; ours is MODEL_CARD.md
        adapter = load_file(str(out / "adapter_model.safetensors"))
        save_file(_half(adapter), str(out / "adapter_model.safetensors"))
        save_file(_half(merged_head.state_dict()), str(out / "head.safetensors"))
    else:
        save_file(_half(model.head.state_dict()), str(out / "head.safetensors"))
        if variant == "top-layers":
            n_layers = len(model.encoder.encoder.layer)
            top = {
                f"{i}.{k}": v
                for i in range(n_layers - n_top_layers, n_layers)
                for k, v in model.encoder.encoder.layer[i].state_dict().items()
            }
            save_file(_half(top), str(out / "top_layers.safetensors"))
        elif variant == "full":
            save_file(_half(model.encoder.state_dict()), str(out / "encoder.safetensors"))
        else:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    from analytics.models.backbones import backbone

    base = backbone((model.base_model.model if variant == "lora" else model).backbone)
    config = {
        "architecture": "EncoderClassifier",
        "variant": variant,
        "encoder": base.name,
        "base_encoder": f"{base.hf_id} (PyPI {base.package})",
        "instruction": base.instruction,
        "pooling": "mean",
        "n_top_layers": n_top_layers,
        "max_length": max_length,
        "id2label": {str(i): c for i, c in enumerate(CLASSES)},
        "dtype": "float16",
        **(extra or {}),
    }
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def artifact_digest(artifact_dir: str | Path) -> str:
    """A short sha256 of an artifact's weight files: which version of a model a delta was trained on."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(Path(artifact_dir).glob("*.safetensors")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def artifact_config(artifact_dir: str | Path) -> dict[str, Any]:
    """The ``classifier_config.json`` of an artifact (``FileNotFoundError`` when it is not one)."""
    directory = Path(artifact_dir)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{directory} holds no {CONFIG_FILE}: not a BrandLens classifier artifact")
    return json.loads(config_path.read_text(encoding="utf-8"))


def artifact_files(artifact_dir: str | Path) -> list[Path]:
    """Every file the classifier of ``artifact_dir`` is built from besides its encoder: its own and,
    for an adapted model, the shipped default model's."""
    directory = Path(artifact_dir)
    files = sorted(p for p in directory.iterdir() if p.is_file())
    if artifact_config(directory).get("base_artifact") == "default":
        from analytics.models.finetuned import DEFAULT_MODEL_DIR

        files += artifact_files(DEFAULT_MODEL_DIR)
    return files


def artifact_encoder(artifact_dir: str | Path) -> str:
    """The name of the encoder the classifier of ``artifact_dir`` sits on (:data:`~analytics.models.backbones.BACKBONES`)."""
    from analytics.models.backbones import MINILM

    config = artifact_config(artifact_dir)
    if config.get("base_artifact") == "default":
        from analytics.models.finetuned import DEFAULT_MODEL_DIR

        return artifact_encoder(DEFAULT_MODEL_DIR)
    return config.get("encoder") or MINILM  # no "encoder": an artifact from before BrandLens 2


def load_artifact(artifact_dir: str | Path) -> tuple[EncoderClassifier, dict[str, Any]]:
    """The classifier in ``artifact_dir`` on top of its installed encoder, in eval mode, fp32.

    An adapted model's artifact (``base_artifact: "default"``) holds the layers adaptation
    retrained; the rest is the shipped default model, loaded first (and checked by digest).
    """
    directory = Path(artifact_dir)
    config_path = directory / CONFIG_FILE
    config = artifact_config(directory)
    if config.get("base_artifact") == "default":  # an adapted model: its delta sits on the shipped default model
        from analytics.core.errors import BrandLensError
        from analytics.models.finetuned import DEFAULT_MODEL_DIR

        if config.get("base_digest") != artifact_digest(DEFAULT_MODEL_DIR):
            raise BrandLensError(
                f"{directory}: this model was adapted from another version of the default model "
                f"(digest {config.get('base_digest')}, installed {artifact_digest(DEFAULT_MODEL_DIR)}); adapt it again"
            )
        model, _ = load_artifact(DEFAULT_MODEL_DIR)
    else:
        model = build_classifier(artifact_encoder(directory))
    variant = config["variant"]
    if variant == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(directory)).merge_and_unload()
    elif variant == "top-layers":
        layers = model.encoder.encoder.layer
        state = _float(load_file(str(directory / "top_layers.safetensors")))
        for index in sorted({int(k.split(".", 1)[0]) for k in state}):
            prefix = f"{index}."
            layers[index].load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    elif variant == "full":
        model.encoder.load_state_dict(_float(load_file(str(directory / "encoder.safetensors"))))
    else:
        raise ValueError(f"{config_path}: unknown variant {variant!r}")
    model.head.load_state_dict(_float(load_file(str(directory / "head.safetensors"))))
    return model.eval(), config
