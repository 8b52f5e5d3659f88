"""Languages the model cannot read: detected at ingest (the detector ships its model), flagged, left out of KPIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import store
from analytics.ingest import ingest_file
from analytics.ingest.language import UNDETERMINED, detect_languages, readable_by_model
from tests.conftest import reference_file

SPANISH = "el vuelo se retrasó otra vez y nadie nos dio una explicación"
FRENCH = "le service client est vraiment nul, mon vol a été annulé sans raison"
GERMAN = "das Essen war kalt und der Flug hatte drei Stunden Verspätung"


def test_detection_of_clear_texts_and_undetermined_short_ones() -> None:
    codes, scores = detect_languages([SPANISH, FRENCH, GERMAN, "the flight was delayed again and nobody told us why",
                                      "@united thx", "", None])
    assert codes == ["es", "fr", "de", "en", UNDETERMINED, UNDETERMINED, UNDETERMINED]
    assert (scores[:4] >= 0.6).all()
    assert readable_by_model(codes).tolist() == [False, False, False, True, True, True, True]


def test_english_airline_tweets_are_not_flagged() -> None:
    import pandas as pd

    texts = pd.read_csv(reference_file("airline/Tweets.csv"))["text"].astype(str).tolist()[:3000]
    codes, _ = detect_languages(texts)
    flagged = sum(c not in ("en", UNDETERMINED) for c in codes)
    assert flagged / len(texts) < 0.005, flagged


def _workspace(tmp_path: Path) -> Path:
    path = tmp_path / "lang.duckdb"
    csv = tmp_path / "mixed.csv"
    rows = [("the new plan is great and the app works", "positive"), ("billing is a mess and support never answers", "negative"),
            (SPANISH, "negative"), (FRENCH, "negative"), ("ok", "neutral")]
    csv.write_text("text,brand,posted,label\n" + "".join(
        f"\"{t}\",Acme,2026-10-0{i + 1} 10:00,{label}\n" for i, (t, label) in enumerate(rows)), encoding="utf-8")
    with store.open_workspace(path) as con:
        ingest_file(con, csv)
    return path


def test_ingest_flags_languages_and_kpis_leave_them_out(tmp_path: Path) -> None:
    from analytics.brand.explorer import search_posts
    from analytics.brand.kpis import brand_kpis
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    path = _workspace(tmp_path)
    with store.open_workspace(path) as con:
        langs = dict(con.execute("SELECT detected_language, count(*) FROM posts GROUP BY 1").fetchall())
        assert langs == {"en": 2, "es": 1, "fr": 1, UNDETERMINED: 1}
        score_workspace(con, load_model("vader"))
        kpis = brand_kpis(con, "vader", n_boot=20)
        assert kpis.overall.n == 3  # two English posts and the undetermined one
        assert kpis.correction.excluded == {"language:es": 1, "language:fr": 1}
        assert "Left out: 1 in language es, 1 in language fr" in kpis.correction.text()
        everything = brand_kpis(con, "vader", n_boot=20, all_languages=True)
        assert everything.overall.n == 5 and everything.correction.excluded == {}
        spanish = search_posts(con, model_id="vader", languages=["es"])
        assert spanish.total == 1 and spanish.rows["language"].tolist() == ["es"]


def test_evaluation_slices_by_language_and_length(tmp_path: Path) -> None:
    from analytics.evaluation import labelled_predictions, slice_metrics
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    path = _workspace(tmp_path)
    with store.open_workspace(path) as con:
        score_workspace(con, load_model("vader"))
        frame = labelled_predictions(con, "vader")
    by_language = slice_metrics(frame, "detected_language").by_group
    assert set(by_language["detected_language"]) == {"en", "es", "fr", UNDETERMINED}
    assert len(slice_metrics(frame, "text_length").by_group) >= 2


def test_the_default_model_counts_the_languages_it_reads_and_says_which_are_unmeasured(tmp_path: Path) -> None:
    """multilingual-e5-small reads Spanish and French: the default model's KPIs count them (and say their
    quality is unmeasured), while English-only models (VADER, minilm-v1) still leave them out. The
    probabilities are VADER's stored under each id: this checks which posts are counted, not the model."""
    from analytics.brand.kpis import brand_kpis
    from analytics.models import load_model
    from analytics.models.languages import covered_languages, measured_languages
    from analytics.scoring.local import score_texts, write_predictions

    assert {"es", "fr", "de", "ja"} <= set(covered_languages("default")) and covered_languages("minilm-v1") == ("en",)
    assert "es" not in measured_languages("minilm-v1")
    path = _workspace(tmp_path)
    with store.open_workspace(path) as con:
        ids, texts = zip(*con.execute("SELECT post_id, text FROM posts ORDER BY post_id").fetchall())
        proba = score_texts(load_model("vader"), list(texts))
        for model_id in ("default", "minilm-v1", "adapted-20261206-0000", "adapted-20261206-0001"):
            write_predictions(con, model_id, list(ids), proba)
        con.execute("INSERT INTO workspace_models VALUES ('adapted-20261206-0000', 'default', 'top-layers', now(), '{}', ''),"
                    " ('adapted-20261206-0001', 'minilm-v1', 'top-layers', now(), '{}', '')")
        for model_id, n, excluded in (("default", 5, {}), ("adapted-20261206-0000", 5, {}),
                                      ("minilm-v1", 3, {"language:es": 1, "language:fr": 1}),
                                      ("adapted-20261206-0001", 3, {"language:es": 1, "language:fr": 1})):
            kpis = brand_kpis(con, model_id, n_boot=20)
            assert kpis.overall.n == n, model_id
            assert kpis.correction.excluded == excluded, model_id
        default = brand_kpis(con, "default", n_boot=20).correction
        expected = {lang: 1 for lang in ("es", "fr") if lang not in measured_languages("default")}
        assert default.unmeasured == expected
        if expected:
            assert f"Counted without measured quality: {len(expected)} posts" in default.text()
        assert "unmeasured_languages" in default.to_dict()
