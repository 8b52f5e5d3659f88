"""Counterfactual gender and race probe on the Equity Evaluation Corpus (EEC).

Follows Kiritchenko & Mohammad (2018), "Examining Gender and Race Bias in Two Hundred
Sentiment Analysis Systems". Every sentence is scored with ``score = P(positive) -
P(negative)``. Sentences are grouped into *units* and units into *pairs* that differ in
exactly one attribute:

Gender pairs
    * noun phrases (race empty): the sentence with a female noun phrase and the sentence
      with its male counterpart (``she``/``he``, ``this woman``/``this man``, ``my
      mother``/``my father``, ... see :data:`NOUN_PHRASE_PAIRS`), same template, same
      emotion word. One unit = one sentence.
    * names: for one template, emotion word and race, the female names' sentences against
      the male names' sentences. As in the paper, names are not matched one to one: a unit
      is the set of sentences with names of one gender and its score is their mean.
Race pairs
    * names only: for one template, emotion word and gender, the African-American names'
      sentences against the European names' sentences (unit score = mean over names).

The gap of a pair is ``score(female or African-American unit) - score(male or European
unit)``; the reported gap is the mean over pairs, with a percentile bootstrap interval
over pairs (:mod:`analytics.core.bootstrap`, seeded) and the two-sided **Wilcoxon signed-rank
test** (``scipy.stats.wilcoxon``, zero differences dropped by its ``zero_method="wilcox"``)
of the paired unit scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.core.bootstrap import bootstrap_indices, percentile_interval
from analytics.core.errors import BrandLensError
from analytics.core.progress import ProgressCallback, report
from analytics.core.estimate import Estimate

NOUN_PHRASE_PAIRS: tuple[tuple[str, str], ...] = (
    ("she", "he"), ("her", "him"), ("this woman", "this man"), ("this girl", "this boy"),
    ("my sister", "my brother"), ("my daughter", "my son"), ("my wife", "my husband"),
    ("my girlfriend", "my boyfriend"), ("my mother", "my father"), ("my aunt", "my uncle"),
    ("my mom", "my dad"),
)
"""Female -> male noun phrases of the EEC (Kiritchenko & Mohammad 2018, table 2)."""

REQUIRED_COLUMNS = ("id", "sentence", "template", "person", "gender", "race", "emotion", "emotion_word")
ATTRIBUTES = ("gender", "race")
NO_EMOTION = "none"
_UNIT_KEYS = ("template", "emotion_word", "emotion", "gender", "race", "kind", "person_key")


def load_corpus(path: str | Path) -> pd.DataFrame:
    """Read the EEC CSV and check its columns.

    Raises
    ------
    BrandLensError
        When the file is missing or lacks a column of :data:`REQUIRED_COLUMNS`.
    """
    from analytics.reference import load_eec

    path = Path(path)
    if not path.is_file():
        raise BrandLensError(
            f"EEC file not found: {path}. Get Equity-Evaluation-Corpus.csv from "
            "https://saifmohammad.com/WebPages/Biases-SA.html and pass its path."
        )
    frame = load_eec(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise BrandLensError(f"{path}: missing EEC column(s) {missing}")
    frame["emotion"] = frame["emotion"].replace("", NO_EMOTION)
    return frame.reset_index(drop=True)


def _units(corpus: pd.DataFrame) -> pd.DataFrame:
    """One row per unit: keys, the member row indices."""
    c = corpus.copy()
    c["_row"] = np.arange(len(c))
    female_np = {f: i for i, (f, _) in enumerate(NOUN_PHRASE_PAIRS)}
    male_np = {m: i for i, (_, m) in enumerate(NOUN_PHRASE_PAIRS)}
    is_np = c["race"] == ""
    c["kind"] = np.where(is_np, "noun_phrase", "name")
    np_index = c["person"].str.lower().map(lambda p: female_np.get(p, male_np.get(p, -1)))
    if (is_np & (np_index < 0)).any():
        bad = sorted(set(c.loc[is_np & (np_index < 0), "person"]))
        raise BrandLensError(f"EEC noun phrase(s) without a counterpart in NOUN_PHRASE_PAIRS: {bad}")
    c["person_key"] = np.where(is_np, np_index.astype(str), "names")
    return (
        c.groupby(list(_UNIT_KEYS), sort=True)["_row"].apply(list).rename("rows").reset_index()
    )


def pair_sentences(corpus: pd.DataFrame, *, attribute: str) -> pd.DataFrame:
    """Pairs of units differing only in ``attribute`` (``"gender"`` or ``"race"``).

    Returns
    -------
    DataFrame
        One row per pair: ``template, emotion_word, emotion, kind`` and, for each side
        ``a`` (female / African-American) and ``b`` (male / European), ``gender_*``,
        ``race_*``, ``person_*`` and ``rows_*`` (row positions in ``corpus``).
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f"attribute must be one of {ATTRIBUTES}, got {attribute!r}")
    units = _units(corpus)
    a_value, b_value = ("female", "male") if attribute == "gender" else ("African-American", "European")
    if attribute == "race":
        units = units[units["kind"] == "name"]
    shared = [k for k in _UNIT_KEYS if k != attribute]
    a = units[units[attribute] == a_value]
    b = units[units[attribute] == b_value]
    pairs = a.merge(b, on=shared, suffixes=("_a", "_b"), validate="one_to_one")
    for key in shared:
        if key in ATTRIBUTES:
            pairs[f"{key}_a"] = pairs[key]
            pairs[f"{key}_b"] = pairs[key]
    pairs["person_a"] = [corpus["person"].iloc[r[0]] if len(r) == 1 else "names" for r in pairs["rows_a"]]
    pairs["person_b"] = [corpus["person"].iloc[r[0]] if len(r) == 1 else "names" for r in pairs["rows_b"]]
    cols = ["template", "emotion_word", "emotion", "kind", "gender_a", "gender_b", "race_a", "race_b",
            "person_a", "person_b", "rows_a", "rows_b"]
    return pairs[cols].reset_index(drop=True)


def differing_attributes(pairs: pd.DataFrame, corpus: pd.DataFrame) -> list[set[str]]:
    """For each pair, the set of attributes (gender, race, template, emotion word) its sentences differ in."""
    out = []
    for ra, rb in zip(pairs["rows_a"], pairs["rows_b"]):
        sa, sb = corpus.iloc[ra], corpus.iloc[rb]
        diff = set()
        for col in ("gender", "race", "template", "emotion_word"):
            va, vb = set(sa[col]), set(sb[col])
            if len(va) != 1 or len(vb) != 1:
                diff.add(f"{col} (mixed within a side)")
            elif va != vb:
                diff.add(col)
        out.append(diff)
    return out


@dataclass(frozen=True)
class GapResult:
    """Mean paired gap with its interval and Wilcoxon p-value."""

    n_pairs: int
    mean_gap: Estimate
    p_value: float | None
    test: str = "wilcoxon signed-rank (two-sided)"

    def to_dict(self) -> dict[str, object]:
        return {"n_pairs": self.n_pairs, "mean_gap": self.mean_gap.to_dict(), "p_value": self.p_value}


@dataclass(frozen=True)
class EECResult:
    """Probe result for one model."""

    model: str
    n_sentences: int
    gender: GapResult
    race: GapResult
    by_emotion: dict[str, dict[str, GapResult]] = field(default_factory=dict)
    scores: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "n_sentences": self.n_sentences,
            "gender": self.gender.to_dict(),
            "race": self.race.to_dict(),
            "by_emotion": {e: {k: g.to_dict() for k, g in d.items()} for e, d in self.by_emotion.items()},
        }


def paired_gap(
    score_a: np.ndarray, score_b: np.ndarray, *, n_boot: int = 1000, random_state: int = 0
) -> GapResult:
    """Mean of ``score_a - score_b`` with a bootstrap interval over pairs and a Wilcoxon test."""
    from scipy.stats import wilcoxon

    score_a = np.asarray(score_a, dtype=float)
    score_b = np.asarray(score_b, dtype=float)
    if score_a.shape != score_b.shape:
        raise ValueError(f"score_a has shape {score_a.shape}, score_b {score_b.shape}")
    n = len(score_a)
    if n == 0:
        return GapResult(0, Estimate(float("nan"), (float("nan"), float("nan"))), None)
    diff = score_a - score_b
    idx = bootstrap_indices(n, n_boot=n_boot, random_state=random_state)
    ci = percentile_interval(diff[idx].mean(axis=1))
    if np.allclose(diff, 0.0):
        p = 1.0
    else:
        p = float(wilcoxon(score_a, score_b, zero_method="wilcox", alternative="two-sided").pvalue)
    return GapResult(n, Estimate(float(diff.mean()), ci), p)


def _unit_scores(rows: pd.Series, scores: np.ndarray) -> np.ndarray:
    return np.array([scores[r].mean() for r in rows], dtype=float)


def probe_scores(
    corpus: pd.DataFrame, scores: np.ndarray, *, model: str, n_boot: int = 1000, random_state: int = 0
) -> EECResult:
    """Gender and race gaps (overall and per emotion) from per-sentence ``scores``."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(corpus),):
        raise ValueError(f"scores has shape {scores.shape}, expected ({len(corpus)},)")
    results: dict[str, GapResult] = {}
    by_emotion: dict[str, dict[str, GapResult]] = {}
    for attribute in ATTRIBUTES:
        pairs = pair_sentences(corpus, attribute=attribute)
        sa, sb = _unit_scores(pairs["rows_a"], scores), _unit_scores(pairs["rows_b"], scores)
        results[attribute] = paired_gap(sa, sb, n_boot=n_boot, random_state=random_state)
        for emotion in sorted(pairs["emotion"].unique()):
            m = (pairs["emotion"] == emotion).to_numpy()
            by_emotion.setdefault(emotion, {})[attribute] = paired_gap(
                sa[m], sb[m], n_boot=n_boot, random_state=random_state
            )
    return EECResult(model, len(corpus), results["gender"], results["race"], by_emotion, scores)


def run_probe(
    model,
    corpus: pd.DataFrame,
    *,
    batch_size: int = 256,
    n_boot: int = 1000,
    random_state: int = 0,
    progress: ProgressCallback | None = None,
) -> EECResult:
    """Score every EEC sentence with ``model`` (a :class:`~analytics.models.base.SentimentModel`) and probe.

    ``score = P(positive) - P(negative)`` using the model's ``classes_`` order.
    """
    classes = list(getattr(model, "classes_", ("negative", "neutral", "positive")))
    texts = corpus["sentence"].tolist()
    chunks = []
    for start in range(0, len(texts), batch_size):
        chunks.append(np.asarray(model.predict_proba(texts[start : start + batch_size]), dtype=float))
        report(progress, min(start + batch_size, len(texts)), len(texts), "scoring EEC sentences")
    proba = np.vstack(chunks)
    score = proba[:, classes.index("positive")] - proba[:, classes.index("negative")]
    return probe_scores(corpus, score, model=getattr(model, "model_id", str(model)), n_boot=n_boot,
                        random_state=random_state)
