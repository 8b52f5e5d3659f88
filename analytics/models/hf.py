"""Any Hugging Face sequence-classification model, from a hub id or a local directory.

The model is loaded with the real ``AutoModelForSequenceClassification.from_pretrained``
and ``AutoTokenizer.from_pretrained``; its outputs are mapped to negative/neutral/positive
from ``config.id2label`` by the rule in :mod:`analytics.models.labels` (3-class models are
permuted into BrandLens's order; 2-class models get a neutral class from the mass the two
classes share). Inference runs through :class:`~analytics.models.transformer.TransformerSentiment`.
"""

from __future__ import annotations

import os
from pathlib import Path

from analytics.core.errors import BrandLensError
from analytics.models.labels import label_mapping
from analytics.models.transformer import TransformerSentiment


def load_hf_model(
    spec: str | os.PathLike[str],
    *,
    model_id: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    max_length: int | None = None,
    cpu_backend: str = "torch",
) -> TransformerSentiment:
    """Load a Hugging Face sequence classifier as a BrandLens sentiment model.

    Parameters
    ----------
    spec : str or path
        A local directory in Hugging Face format (``config.json``, weights, tokenizer
        files) or a hub model id. With ``HF_HUB_OFFLINE=1`` only models already in the
        local cache load.
    model_id : str, optional
        The id stored with predictions (default: ``spec`` as given).
    device, batch_size, max_length, cpu_backend
        See :class:`~analytics.models.transformer.TransformerSentiment`.

    Returns
    -------
    TransformerSentiment

    Raises
    ------
    BrandLensError
        When the model cannot be found or loaded, or its labels cannot be mapped.
    """
    if not isinstance(spec, (str, os.PathLike)) or not str(spec).strip():
        raise ValueError(f"spec must name a Hugging Face model id or directory, got {spec!r}")
    name = str(spec)
    path = Path(name).expanduser()
    source = str(path) if path.is_dir() else name
    if path.exists() and not path.is_dir():
        raise BrandLensError(f"model {name!r} is a file; give the directory that holds config.json")
    if path.is_dir() and not (path / "config.json").exists():
        raise BrandLensError(f"model directory {path} has no config.json; it is not in Hugging Face format")

    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # load reports go to logs, not to the user's terminal
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        module = AutoModelForSequenceClassification.from_pretrained(source)
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = " (HF_HUB_OFFLINE=1: only models already in the local cache or a local directory load)" if offline else ""
        raise BrandLensError(f"cannot load Hugging Face model {name!r}{hint}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    labels = label_mapping(module.config.id2label, where=f"model {name!r}")
    return TransformerSentiment(
        module,
        tokenizer,
        model_id=model_id or name,
        labels=labels,
        device=device,
        batch_size=batch_size,
        max_length=max_length,
        cpu_backend=cpu_backend,
    )
