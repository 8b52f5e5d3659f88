"""Which languages a model reads, and on which of them its quality has been measured.

Posts carry the language detected at ingest (:mod:`analytics.ingest.language`, py3langid's
ISO 639-1 codes, ``"und"`` when undetermined). A model *covers* the languages its encoder
was pretrained on; its quality is *measured* only on those where it was evaluated on
labelled posts (listed in its model card, ``card.json`` → ``languages.measured``).

* covered: scored and counted in KPIs (the default model, on multilingual-e5-small, covers
  XLM-R's pretraining languages);
* measured: KPIs and evaluation say which figures rest on them and which do not;
* neither: flagged and left out of KPIs, as before (``minilm-v1``, VADER and Hugging Face
  models we know nothing of cover English only).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

ENGLISH: tuple[str, ...] = ("en",)

XLMR_LANGUAGES: tuple[str, ...] = (
    "af", "am", "ar", "as", "az", "be", "bg", "bn", "br", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "eo",
    "es", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gd", "gl", "gu", "ha", "he", "hi", "hr", "hu", "hy", "id",
    "is", "it", "ja", "jv", "ka", "kk", "km", "kn", "ko", "ku", "ky", "la", "lo", "lt", "lv", "mg", "mk", "ml",
    "mn", "mr", "ms", "my", "nb", "ne", "nl", "nn", "no", "om", "or", "pa", "pl", "ps", "pt", "ro", "ru", "sa",
    "sd", "si", "sk", "sl", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "th", "tl", "tr", "ug", "uk", "ur",
    "uz", "vi", "xh", "yi", "zh",
)
"""The languages of XLM-R's pretraining corpus (CC-100, Conneau et al. 2020, table 6), as ISO 639-1
codes the detector emits (Norwegian as ``no``, ``nb`` and ``nn``): what multilingual-e5-small reads."""

MULTILINGUAL_MODELS: tuple[str, ...] = ("default",)
"""Model ids on multilingual-e5-small; an adapted model inherits its base's languages."""


def covered_languages(model_id: str) -> tuple[str, ...]:
    """Languages ``model_id`` reads (for an adapted model, pass its base)."""
    return XLMR_LANGUAGES if model_id in MULTILINGUAL_MODELS else ENGLISH


@lru_cache(maxsize=1)
def _default_card_languages() -> tuple[str, ...]:
    from analytics.models.finetuned import DEFAULT_MODEL_DIR

    try:
        card = json.loads((DEFAULT_MODEL_DIR / "card.json").read_text(encoding="utf-8"))
        return tuple(card["languages"]["measured"])
    except (OSError, KeyError, TypeError, ValueError):
        return ENGLISH


def measured_languages(model_id: str) -> tuple[str, ...]:
    """Languages on which ``model_id``'s quality was measured on labelled posts (its card's list)."""
    return _default_card_languages() if model_id in MULTILINGUAL_MODELS else ENGLISH


def _lineage_sql() -> str:
    """SQL of the model whose languages a model id has: an adapted model's base, else itself."""
    return "coalesce((SELECT base FROM workspace_models WHERE model_id = ?), ?)"


def language_sql(alias: str, model_id: str, *, which: str = "covered") -> tuple[str, list]:
    """SQL condition (and its parameters): the post ``alias`` is in a language ``model_id`` covers
    (``which="covered"``) or was measured on (``"measured"``); undetermined posts count as readable.
    """
    from analytics.ingest.language import UNDETERMINED

    pick = covered_languages if which == "covered" else measured_languages
    multi = [*pick(MULTILINGUAL_MODELS[0]), UNDETERMINED]
    english = [*ENGLISH, UNDETERMINED]
    ids = ", ".join("?" for _ in MULTILINGUAL_MODELS)
    sql = (f"({alias}.detected_language IS NULL OR list_contains(CASE WHEN {_lineage_sql()} IN ({ids}) "
           f"THEN ?::VARCHAR[] ELSE ?::VARCHAR[] END, {alias}.detected_language))")
    return sql, [model_id, model_id, *MULTILINGUAL_MODELS, multi, english]


def language_note(languages: Sequence[str | None], model_id: str) -> str:
    """One sentence on the languages of some labelled posts and which of them the model's quality was measured on.

    For the evaluation page: labels in a language the model card does not measure are this
    workspace's own measurement of it (the slice by language shows it).
    """
    from analytics.ingest.language import UNDETERMINED

    counts = Counter(lang or UNDETERMINED for lang in languages)
    if not counts:
        return ""
    measured = set(measured_languages(model_id))
    listed = ", ".join(f"{lang} {n:,}" for lang, n in counts.most_common(8)) + (" ..." if len(counts) > 8 else "")
    others = [lang for lang in counts if lang not in measured and lang != UNDETERMINED]
    note = f"Labels by detected language: {listed}. The model card measures quality in {', '.join(sorted(measured))}"
    if others:
        note += (f"; these labels are the only measure of {', '.join(sorted(others))} "
                 "(see the slice by detected_language below)")
    return note + "."
