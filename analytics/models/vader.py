"""VADER, the lexicon baseline, with probabilities fitted on the training split.

VADER (``vaderSentiment``) scores a text with a compound valence in [-1, 1] and the
shares of positive, neutral and negative words. BrandLens turns those four numbers into
three class probabilities with a multinomial logistic regression fitted on the SemEval
training pool (:func:`fit_vader_mapping`), not with hand-set thresholds. The fitted
coefficients ship in ``data/models/vader/mapping.json``, so VADER works without any
reference data; ``scripts/fit_vader_mapping.py`` refits them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from analytics.core.errors import BrandLensError
from analytics.resources import data_path
from analytics.models.transformer import check_texts
from analytics.core.labels import CLASSES
from analytics.core.checks import check_labels, check_same_length

VADER_MAPPING_PATH = data_path("models", "vader", "mapping.json")
"""The shipped mapping from VADER's scores to class probabilities."""

FEATURES: tuple[str, ...] = ("compound", "pos", "neu", "neg")
"""VADER's scores the mapping reads, in column order."""


@dataclass(frozen=True)
class VaderMapping:
    """A fitted multinomial logistic regression from VADER's scores to :data:`CLASSES`.

    ``proba = softmax(features @ coef.T + intercept)`` with ``features`` in
    :data:`FEATURES` order and rows of ``coef`` in :data:`CLASSES` order.
    """

    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    features: tuple[str, ...] = FEATURES
    classes: tuple[str, ...] = CLASSES
    fitted_on: dict[str, object] = field(default_factory=dict)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, 3)`` for VADER feature rows ``(n, len(FEATURES))``."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"features must have shape (n, {len(self.features)}), got {x.shape}")
        z = x @ np.asarray(self.coef).T + np.asarray(self.intercept)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["coef"] = [list(r) for r in self.coef]
        d["intercept"] = list(self.intercept)
        d["features"], d["classes"] = list(self.features), list(self.classes)
        return d

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str] = VADER_MAPPING_PATH) -> VaderMapping:
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            mapping = cls(
                coef=tuple(tuple(float(v) for v in row) for row in d["coef"]),
                intercept=tuple(float(v) for v in d["intercept"]),
                features=tuple(d.get("features", FEATURES)),
                classes=tuple(d.get("classes", CLASSES)),
                fitted_on=dict(d.get("fitted_on", {})),
            )
        except FileNotFoundError as exc:
            raise BrandLensError(
                f"VADER mapping {path} is missing; refit it with scripts/fit_vader_mapping.py"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise BrandLensError(f"VADER mapping {path} is not a valid mapping file: {exc}") from exc
        if mapping.classes != CLASSES or mapping.features != FEATURES:
            raise BrandLensError(
                f"VADER mapping {path} has classes {mapping.classes} and features {mapping.features}; "
                f"expected {CLASSES} and {FEATURES}"
            )
        if np.asarray(mapping.coef).shape != (len(CLASSES), len(FEATURES)):
            raise BrandLensError(f"VADER mapping {path}: coef must be {len(CLASSES)} x {len(FEATURES)}")
        return mapping


def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_features(texts: Sequence[str], *, analyzer=None) -> np.ndarray:
    """VADER's scores for each text, ``(n, 4)`` in :data:`FEATURES` order."""
    texts = check_texts(texts)
    analyzer = analyzer or _analyzer()
    out = np.empty((len(texts), len(FEATURES)))
    for i, text in enumerate(texts):
        s = analyzer.polarity_scores(text)
        out[i] = [s[f] for f in FEATURES]
    return out


def fit_vader_mapping(
    texts: Sequence[str],
    y: Sequence[str],
    *,
    C: float = 1.0,
    class_weight: str | None = "balanced",
    fitted_on: dict[str, object] | None = None,
) -> VaderMapping:
    """Fit the mapping from VADER's scores to class probabilities.

    Parameters
    ----------
    texts : sequence of str
        Training texts (the SemEval training pool, never the test set).
    y : sequence of str
        Their labels, each one of :data:`CLASSES`.
    C : float, default 1.0
        Inverse L2 regularisation strength of the logistic regression.
    class_weight : "balanced" or None, default "balanced"
        Balanced weights give the minority negative class its share of the decision,
        as the default model's training does.
    fitted_on : dict, optional
        Provenance recorded in the mapping (data, counts, command).

    Returns
    -------
    VaderMapping
    """
    from sklearn.linear_model import LogisticRegression

    n = check_same_length(texts=texts, y=y)
    if n == 0:
        raise ValueError("texts is empty; the mapping needs labelled texts to fit")
    labels = check_labels("y", y)
    missing = [c for c in CLASSES if c not in set(labels)]
    if missing:
        raise ValueError(f"y has no examples of {missing}; every class is needed to fit the mapping")
    if not C > 0:
        raise ValueError(f"C must be positive, got {C}")
    x = vader_features(texts)
    clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=1000)
    clf.fit(x, labels)
    order = [list(clf.classes_).index(c) for c in CLASSES]
    info = {"n_texts": int(n), "C": C, "class_weight": class_weight, "model": "sklearn LogisticRegression (multinomial)"}
    info.update(fitted_on or {})
    return VaderMapping(
        coef=tuple(tuple(float(v) for v in clf.coef_[k]) for k in order),
        intercept=tuple(float(clf.intercept_[k]) for k in order),
        fitted_on=info,
    )


class VaderSentiment:
    """VADER behind the BrandLens model interface (model id ``"vader"``).

    Parameters
    ----------
    mapping : VaderMapping, optional
        Default: the shipped :data:`VADER_MAPPING_PATH`.
    """

    model_id = "vader"
    classes_: tuple[str, ...] = CLASSES
    device = "cpu"

    def __init__(self, *, mapping: VaderMapping | None = None) -> None:
        self.mapping = mapping or VaderMapping.load()
        self._analyzer = _analyzer()

    @property
    def description(self) -> str:
        return "VADER lexicon (vaderSentiment) with a logistic mapping fitted on SemEval training tweets"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``(len(texts), 3)``; VADER reads whole texts, so no windows are needed."""
        return self.mapping.predict_proba(vader_features(texts, analyzer=self._analyzer))

    def lexicon_contributions(self, text: str) -> list[tuple[str, float]]:
        """Each token of ``text`` with the valence VADER gives it, modifiers applied.

        The tokens are VADER's own (whitespace-split, punctuation stripped, emojis
        replaced by their descriptions); each valence is the lexicon value after VADER's
        booster, negation, capitals, "least" and "but" rules. Tokens outside the lexicon
        get 0. The exclamation/question-mark emphasis VADER adds to the whole text is not
        attributed to any token.

        Examples
        --------
        >>> dict(VaderSentiment().lexicon_contributions("not good"))["good"] < 0
        True
        """
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

        a = self._analyzer
        converted = []
        prev_space = True
        for ch in text:  # emojis become their descriptions, as polarity_scores does
            if ch in a.emojis:
                if not prev_space:
                    converted.append(" ")
                converted.append(a.emojis[ch])
                prev_space = False
            else:
                converted.append(ch)
                prev_space = ch == " "
        sentitext = SentiText("".join(converted).strip())
        words = sentitext.words_and_emoticons
        sentiments: list[float] = []
        for i, item in enumerate(words):
            if item.lower() in BOOSTER_DICT or (
                i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
            ):
                sentiments.append(0.0)
                continue
            sentiments = a.sentiment_valence(0, sentitext, item, i, sentiments)
        sentiments = a._but_check(words, sentiments)
        return [(w, float(v)) for w, v in zip(words, sentiments)]
