"""Reference data readers: escapes decoded, ids deduplicated, the test set never in training."""

from __future__ import annotations

from analytics.models.text import normalise_tweet
from analytics.reference import _unescape_semeval, load_eec, load_semeval, train_validation_split
from tests.conftest import reference_file


def test_semeval_quoting_is_undone() -> None:
    assert _unescape_semeval(r"it\u2019s great\u002c \"really\"") == "it\u2019s great, \"really\""


def test_normalise_tweet_hides_mentions_and_links() -> None:
    assert normalise_tweet("@Bob see  https://t.co/x1 now @amy_2!") == "@user see http now @user!"
    assert normalise_tweet("mail me at a@b.com") == "mail me at a@b.com"


def test_semeval_training_pool_excludes_test_ids_and_is_deduplicated() -> None:
    root = reference_file("semeval2017")
    train = load_semeval(root, split="train")
    test = load_semeval(root, split="test")
    assert len(test) == 20632  # as released, the count SemEval-2016 Task 4A's scorer uses
    assert train["id"].is_unique
    assert not set(train["id"]) & set(test["id"])
    assert 28000 < len(train) < 30000
    assert set(train["label"]) == {"negative", "neutral", "positive"}
    assert not train["text"].str.contains(r"\\u[0-9a-fA-F]{4}").any()


def test_validation_split_is_seeded_and_stratified() -> None:
    root = reference_file("semeval2017")
    pool = load_semeval(root, split="train")
    a_train, a_val = train_validation_split(pool)
    b_train, b_val = train_validation_split(pool)
    assert a_val["id"].tolist() == b_val["id"].tolist()
    assert not set(a_train["id"]) & set(a_val["id"])
    share = a_val["label"].value_counts(normalize=True) - pool["label"].value_counts(normalize=True)
    assert share.abs().max() < 0.01


def test_eec_columns_are_snake_case() -> None:
    eec = load_eec(reference_file("eec/Equity-Evaluation-Corpus.csv"))
    assert {"sentence", "template", "person", "gender", "race", "emotion"} <= set(eec.columns)
    assert len(eec) == 8640


def test_airline_reader_keeps_labelled_texts_and_reads_windows_1252(tmp_path) -> None:
    import pytest

    from analytics.reference import load_airline
    from analytics.core.errors import InputFileError

    path = tmp_path / "export.csv"
    path.write_bytes(
        "tweet_id,airline_sentiment,airline_sentiment_confidence,airline,text\n"
        "5.70306E+17,Negative ,0.7,Delta,late again \u2013 caf\u00e9 closed\n"
        "5.70307E+17,positive,1,United,\n"
        "5.70308E+17,unsure,1,United,what?\n".encode("cp1252")
    )
    frame = load_airline(path)
    assert frame.to_dict("records") == [
        {"text": "late again \u2013 caf\u00e9 closed", "label": "negative", "label_confidence": 0.7, "airline": "Delta"}
    ]
    (tmp_path / "bad.csv").write_text("id,sentiment\n1,positive\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="airline_sentiment"):
        load_airline(tmp_path / "bad.csv")


def test_semeval_test_set_keeps_its_rows_and_decodes_commas() -> None:
    test = load_semeval(reference_file("semeval2017"), split="test")
    assert set(test["label"]) == {"negative", "neutral", "positive"}
    assert not test["text"].str.contains(r"\\u002c", regex=False).any()
