"""Token attributions for sentiment models: one entry point, :func:`explain_texts`.

``shap.Explainer(f, shap.maskers.Text(...), algorithm=..., output_names=CLASSES)`` over the
model's ``predict_proba``. The wrapper only turns SHAP's masked string array into a list
(no padding, no truncation inside it: the model does its own batching and windows,
shap#4051). Speed comes from (1) one ``predict_proba`` call per batch of masked texts,
(2) the partition (Owen value) algorithm with a small evaluation budget scaled to the
text's length (``4 * n_tokens + 1`` by default, at least :data:`MIN_EVALS`), and (3) the
model's own tokenizer as masker when it has a fast Hugging Face tokenizer (else words,
``r"\\W+"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.core.labels import CLASSES

ALGORITHMS = ("partition", "permutation", "exact")
MIN_EVALS = 20
EVALS_PER_TOKEN = 4
"""Evaluation budget per token: on 30 SemEval tweets (VADER) Spearman rho with SHAP defaults was
0.44 at 2, 0.77 at 4, 0.88 at 8 evaluations per token (benchmarks/explain.py measures it per model)."""
WORD_PATTERN = r"\W+"


@dataclass(frozen=True)
class TextExplanation:
    """SHAP attributions of one text.

    Attributes
    ----------
    tokens : list of str
        The masker's tokens (concatenated they give the text back).
    values : ndarray, shape (n_tokens, 3)
        Attribution of each token to each class of :data:`CLASSES`.
    base_values : ndarray, shape (3,)
        Model output with every token masked; ``base_values + values.sum(0)`` ≈ probabilities.
    probabilities : ndarray, shape (3,)
    seconds : float
        Wall time of the explanation.
    settings : dict
    """

    tokens: list[str]
    values: np.ndarray
    base_values: np.ndarray
    probabilities: np.ndarray
    seconds: float
    settings: dict

    @property
    def predicted(self) -> str:
        return CLASSES[int(np.argmax(self.probabilities))]

    def to_dict(self) -> dict[str, object]:
        return {
            "tokens": [
                {"token": t, **{c: float(v) for c, v in zip(CLASSES, row)}}
                for t, row in zip(self.tokens, self.values)
            ],
            "base_values": {c: float(v) for c, v in zip(CLASSES, self.base_values)},
            "probabilities": {c: float(v) for c, v in zip(CLASSES, self.probabilities)},
            "predicted": self.predicted,
            "seconds": float(self.seconds),
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> TextExplanation:
        tokens = [t["token"] for t in payload["tokens"]]
        values = np.array([[t[c] for c in CLASSES] for t in payload["tokens"]], dtype=float).reshape(-1, 3)
        return cls(
            tokens,
            values,
            np.array([payload["base_values"][c] for c in CLASSES]),
            np.array([payload["probabilities"][c] for c in CLASSES]),
            float(payload["seconds"]),
            dict(payload.get("settings", {})),
        )


def _hf_tokenizer(model):
    tok = getattr(model, "tokenizer", None)
    if tok is not None and getattr(tok, "is_fast", False):
        return tok
    return None


def make_masker(model=None, *, tokenizer=None, mask_token: str | None = None):
    """The ``shap.maskers.Text`` used: the model's fast tokenizer if any, else words."""
    import shap

    tok = tokenizer if tokenizer is not None else _hf_tokenizer(model)
    if tok is None:
        tok = WORD_PATTERN
    if mask_token is None:
        mask_token = getattr(tok, "mask_token", None) or "..." if not isinstance(tok, str) else "..."
    return shap.maskers.Text(tok, mask_token=mask_token, collapse_mask_token=True)


def _n_tokens(masker, text: str) -> int:
    return max(1, len(masker.tokenizer(text)["input_ids"]))


def explain_texts(
    model,
    texts: Sequence[str],
    *,
    max_evals: int | None = None,
    batch_size: int = 128,
    algorithm: str = "partition",
    tokenizer=None,
    mask_token: str | None = None,
) -> list[TextExplanation]:
    """Explain each text's class probabilities with SHAP.

    Parameters
    ----------
    model : SentimentModel
        Anything with ``predict_proba(list[str]) -> (n, 3)`` in :data:`CLASSES` order.
    texts : sequence of str
    max_evals : int, optional
        Model evaluations per text. Default: ``max(EVALS_PER_TOKEN * n_tokens + 1, MIN_EVALS)`` per text.
    batch_size : int, default 128
        Masked texts per ``predict_proba`` call.
    algorithm : {"partition", "permutation", "exact"}, default "partition"
    tokenizer : optional
        A fast HF tokenizer or a regex for the masker (default: the model's, else ``r"\\W+"``).
    mask_token : str, optional

    Returns
    -------
    list of TextExplanation
    """
    import shap

    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not one string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"texts[{i}] must be a non-empty string")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if max_evals is not None and max_evals < 3:
        raise ValueError(f"max_evals must be at least 3, got {max_evals}")

    def f(x):  # SHAP hands an array of masked strings; no padding here
        return np.asarray(model.predict_proba([str(s) for s in x]), dtype=float)

    masker = make_masker(model, tokenizer=tokenizer, mask_token=mask_token)
    masker_name = "model tokenizer" if (tokenizer is not None or _hf_tokenizer(model) is not None) else "words"
    explainer = shap.Explainer(f, masker, algorithm=algorithm, output_names=list(CLASSES))
    out: list[TextExplanation] = []
    for text in texts:
        start = time.perf_counter()
        n_tok = _n_tokens(masker, text)
        evals = max_evals if max_evals is not None else max(EVALS_PER_TOKEN * n_tok + 1, MIN_EVALS)
        if algorithm == "permutation":
            evals = max(evals, 2 * n_tok + 1)
        exp = explainer([text], max_evals=evals, batch_size=batch_size, silent=True)
        seconds = time.perf_counter() - start
        values = np.asarray(exp.values[0], dtype=float).reshape(-1, len(CLASSES))
        base = np.asarray(exp.base_values[0], dtype=float).reshape(-1)
        proba = np.asarray(model.predict_proba([text]), dtype=float)[0]
        seconds = time.perf_counter() - start
        settings = {"algorithm": algorithm, "max_evals": int(evals), "batch_size": batch_size,
                    "masker": masker_name}
        out.append(TextExplanation([str(t) for t in exp.data[0]], values, base, proba, seconds, settings))
    return out


def explain_text_defaults(model, text: str) -> TextExplanation:
    """SHAP with its defaults (``algorithm="auto"``, ``max_evals="auto"``) for benchmarks and faithfulness."""
    import shap

    def f(x):
        return np.asarray(model.predict_proba([str(s) for s in x]), dtype=float)

    masker = make_masker(model)
    explainer = shap.Explainer(f, masker, output_names=list(CLASSES))
    start = time.perf_counter()
    exp = explainer([text], silent=True)
    seconds = time.perf_counter() - start
    values = np.asarray(exp.values[0], dtype=float).reshape(-1, len(CLASSES))
    base = np.asarray(exp.base_values[0], dtype=float).reshape(-1)
    return TextExplanation([str(t) for t in exp.data[0]], values, base, base + values.sum(0), seconds,
                           {"algorithm": "auto", "max_evals": "auto"})
