"""Sentiment models behind one interface: the default model, VADER, any Hugging Face classifier.

:func:`load_model` turns a spec into a :class:`~analytics.models.base.SentimentModel`:

* ``"default"``: our classifier on multilingual-e5-small (:mod:`analytics.models.finetuned`),
  shipped under :data:`DEFAULT_MODEL_DIR`;
* ``"minilm-v1"``: the default model before BrandLens 2 (MiniLM-L6, English), under
  :data:`MINILM_V1_DIR`; a workspace scored by it keeps its predictions under that id
  (schema v6) and keeps using it until it is re-scored with the default;
* ``"vader"``: the VADER lexicon with its fitted probability mapping
  (:mod:`analytics.models.vader`);
* ``"adapted-..."``: a model adapted to a workspace's labels, stored in that workspace
  (:mod:`analytics.models.workspace`; pass the workspace's connection as ``con``);
* anything else: a Hugging Face model id or a local directory in Hugging Face format
  (:mod:`analytics.models.hf`).

The spec string is the model id stored with predictions. :func:`available_models` lists
what can be loaded here, with model cards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError
from analytics.models.base import SentimentModel
from analytics.models.devices import DEVICES, DeviceFallbackWarning, resolve_device
from analytics.models.finetuned import DEFAULT_MODEL_DIR, MINILM_V1, MINILM_V1_DIR
from analytics.models.transformer import CPU_BACKENDS
from analytics.core.checks import check_choice, check_positive_int

MODELS_DIR = DEFAULT_MODEL_DIR.parent
"""``data/models``: the default model's artifact, VADER's mapping, other local HF models."""
VADER_DIR = MODELS_DIR / "vader"

DEFAULT_CPU_BACKEND = "auto"
"""CPU arithmetic of transformer models unless ``cpu_backend`` says otherwise.

``"auto"``: for the default model, ONNX Runtime int8 (``"onnx-int8"``) when ``onnxruntime``
and ``onnx`` are installed (they are dependencies of BrandLens), else fp32 torch — it was the
fastest CPU backend at equal accuracy on that model (``benchmarks/inference.py``, figures
in the README). Any other Hugging Face model runs in fp32 torch unless asked otherwise,
because quantisation's effect on its accuracy has not been measured. PyTorch's own dynamic
int8 (``"int8"``) is kept as an option but loses accuracy on the default model.
"""


def resolve_cpu_backend(cpu_backend: str | None, *, default_model: bool) -> str:
    """The concrete CPU backend for ``cpu_backend`` (``None`` and ``"auto"`` as :data:`DEFAULT_CPU_BACKEND`)."""
    backend = DEFAULT_CPU_BACKEND if cpu_backend is None else cpu_backend
    check_choice("cpu_backend", backend, ("auto", *CPU_BACKENDS))
    if backend != "auto":
        return backend
    from importlib.util import find_spec

    return "onnx-int8" if default_model and find_spec("onnxruntime") and find_spec("onnx") else "torch"


@dataclass(frozen=True)
class ModelInfo:
    """A model that can be loaded here: its id (the ``load_model`` spec), kind and card."""

    id: str
    kind: str  # "default" | "shipped" (an earlier default) | "lexicon" | "huggingface"
    description: str
    card_path: Path | None = None
    available: bool = True
    problem: str | None = None

    @property
    def card_text(self) -> str | None:
        """The model card's Markdown, when it has one."""
        if self.card_path is not None and self.card_path.is_file():
            return self.card_path.read_text(encoding="utf-8")
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "card_path": str(self.card_path) if self.card_path else None,
            "available": self.available,
            "problem": self.problem,
        }


def load_model(
    spec: str = "default",
    *,
    device: str = "auto",
    batch_size: int | None = None,
    cpu_backend: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> SentimentModel:
    """Load a sentiment model by spec.

    Parameters
    ----------
    spec : str, default "default"
        ``"default"``, ``"vader"``, a Hugging Face model id or a local directory in
        Hugging Face format. The spec is the model id stored with predictions.
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``auto``: CUDA when a GPU is visible, else the CPU. ``cuda`` without a GPU falls
        back to the CPU with a :class:`DeviceFallbackWarning`. VADER always runs on the CPU.
    batch_size : int, optional
        Texts per forward pass for transformer models.
    cpu_backend : {"auto", "torch", "int8", "onnx", "onnx-int8"}, optional
        CPU arithmetic for transformer models (default :data:`DEFAULT_CPU_BACKEND`, see
        :func:`resolve_cpu_backend`).
    con : duckdb connection, optional
        The workspace, needed for its adapted models (``adapted-...`` ids).

    Returns
    -------
    SentimentModel

    Raises
    ------
    BrandLensError
        When the model cannot be found or loaded.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be 'default', 'vader', a Hugging Face model id or a directory, got {spec!r}")
    check_choice("device", device, DEVICES)
    backend = resolve_cpu_backend(cpu_backend, default_model=spec.strip() in ("default", MINILM_V1))
    check_positive_int("batch_size", batch_size, optional=True)
    spec = spec.strip()
    if spec == "vader":
        from analytics.models.vader import VaderSentiment

        return VaderSentiment()
    if spec == "default":
        return _load_default(device=device, batch_size=batch_size, cpu_backend=backend)
    if spec == MINILM_V1:
        from analytics.models.finetuned import load_finetuned

        return load_finetuned(artifact_dir=MINILM_V1_DIR, device=device, batch_size=batch_size, cpu_backend=backend,
                              model_id=MINILM_V1)
    from analytics.models.workspace import is_workspace_model

    if is_workspace_model(spec):
        return load_workspace_model(spec, con, device=device, batch_size=batch_size)
    from analytics.models.hf import load_hf_model

    return load_hf_model(spec, device=device, batch_size=batch_size, cpu_backend=backend)


def load_workspace_model(
    spec: str, con: duckdb.DuckDBPyConnection | None, *, device: str = "auto", batch_size: int | None = None,
    artifact: bytes | None = None,
) -> SentimentModel:
    """An adapted model of a workspace (``artifact``: its packed bytes, when the caller has them, e.g. a Ray actor)."""
    from analytics.models.finetuned import load_finetuned
    from analytics.models.workspace import model_artifact, unpacked_artifact

    if artifact is None:
        if con is None:
            raise BrandLensError(f"model {spec!r} is an adapted model: it lives in a workspace; open one (--workspace)")
        artifact = model_artifact(con, spec)
    with unpacked_artifact(artifact) as folder:
        # fp32 torch: int8's effect on an adapted model's accuracy is not measured
        return load_finetuned(artifact_dir=folder, device=device, batch_size=batch_size, cpu_backend="torch",
                              model_id=spec)


def _load_default(*, device: str, batch_size: int | None, cpu_backend: str) -> SentimentModel:
    from analytics.models.finetuned import load_finetuned

    if not (DEFAULT_MODEL_DIR.is_dir() and any(DEFAULT_MODEL_DIR.iterdir())):
        raise BrandLensError(
            f"the default model's artifact {DEFAULT_MODEL_DIR} is missing; train it with `brandlens train` "
            "or score with --model vader"
        )
    return load_finetuned(device=device, batch_size=batch_size, cpu_backend=cpu_backend)


def _hf_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and (p / "config.json").is_file() and p not in (DEFAULT_MODEL_DIR, MINILM_V1_DIR))


def available_models(*, extra_dirs: list[str | os.PathLike[str]] | None = None) -> list[ModelInfo]:
    """The models that can be loaded here, default first.

    Lists the default model (available when its artifact is present), VADER, the old default
    ``minilm-v1`` (readable until a workspace re-scores), and every
    Hugging Face directory under ``data/models/`` and ``extra_dirs``.

    Returns
    -------
    list of ModelInfo
    """
    infos: list[ModelInfo] = []
    default_ok = DEFAULT_MODEL_DIR.is_dir() and any(DEFAULT_MODEL_DIR.iterdir())
    infos.append(
        ModelInfo(
            id="default",
            kind="default",
            description="multilingual-e5-small fine-tuned here on SemEval tweets and VADER's rated sentences (about 100 languages read)",
            card_path=DEFAULT_MODEL_DIR / "MODEL_CARD.md",
            available=default_ok,
            problem=None if default_ok else f"the artifact {DEFAULT_MODEL_DIR} is missing; run `brandlens train`",
        )
    )
    vader_ok = (VADER_DIR / "mapping.json").is_file()
    infos.append(
        ModelInfo(
            id="vader",
            kind="lexicon",
            description="VADER lexicon with a logistic mapping to probabilities fitted on SemEval training tweets",
            card_path=VADER_DIR / "MODEL_CARD.md",
            available=vader_ok,
            problem=None if vader_ok else "data/models/vader/mapping.json is missing; run scripts/fit_vader_mapping.py",
        )
    )
    v1_ok = (MINILM_V1_DIR / "classifier_config.json").is_file()
    infos.append(
        ModelInfo(
            id=MINILM_V1,
            kind="shipped",
            description="the default model before BrandLens 2: MiniLM-L6 fine-tuned on SemEval tweets (English)",
            card_path=MINILM_V1_DIR / "MODEL_CARD.md",
            available=v1_ok,
            problem=None if v1_ok else f"the artifact {MINILM_V1_DIR} is missing",
        )
    )
    dirs = _hf_dirs(MODELS_DIR) + [Path(d) for d in (extra_dirs or [])]
    for d in dirs:
        card = next((d / n for n in ("MODEL_CARD.md", "README.md") if (d / n).is_file()), None)
        ok = (d / "config.json").is_file()
        infos.append(
            ModelInfo(
                id=str(d),
                kind="huggingface",
                description=f"Hugging Face model in {d}",
                card_path=card,
                available=ok,
                problem=None if ok else f"{d} has no config.json",
            )
        )
    return infos


__all__ = [
    "DEFAULT_CPU_BACKEND",
    "resolve_cpu_backend",
    "DEFAULT_MODEL_DIR",
    "MINILM_V1",
    "MINILM_V1_DIR",
    "DeviceFallbackWarning",
    "ModelInfo",
    "SentimentModel",
    "available_models",
    "load_model",
    "resolve_device",
]
