"""Training smoke test and the shipped artifact: it loads offline and agrees with its card."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from analytics.core.errors import InputFileError
from analytics.reference import VADER_SETS, load_semeval, load_vader_ground_truth
from analytics.models.finetuned import DEFAULT_MODEL_DIR, MINILM_V1_DIR, load_finetuned
from analytics.models.network import save_artifact
from analytics.training.pipeline import (
    CARD_SAMPLE_SEED, CARD_SAMPLE_SIZE, evaluate_artifact, general_training_data, run_training,
)
from analytics.training.trainer import TrainingConfig, bucketed_batches, f1_pn, train_classifier
from tests.conftest import reference_file

TEXTS = [
    "I love this, best service ever", "absolutely terrible, never again", "the store opens at 9",
    "great app, works perfectly", "awful delivery, broken box", "meeting moved to tuesday",
    "so happy with my order", "worst support I have had", "the parcel arrived today",
] * 2
LABELS = ["positive", "negative", "neutral"] * 6


def test_f1_pn_ignores_the_neutral_class_except_as_errors() -> None:
    y_true = np.array([0, 2, 1, 1])
    assert f1_pn(y_true, np.array([0, 2, 0, 2])) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert f1_pn(y_true, y_true) == 1.0


def test_bucketed_batches_cover_every_example_once() -> None:
    lengths = np.random.default_rng(0).integers(1, 60, size=1000)
    batches = bucketed_batches(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))


@pytest.mark.parametrize("variant", ["top-layers", "lora"])
def test_a_few_training_steps_produce_an_artifact_that_reloads_identically(variant: str, tmp_path: Path) -> None:
    config = TrainingConfig(variant=variant, max_steps=3, batch_size=6, evaluations_per_epoch=1, max_length=32)
    result = train_classifier(TEXTS, LABELS, TEXTS[:6], LABELS[:6], config)
    assert result.steps == 3 and 0.0 <= result.best_validation_f1_pn <= 1.0
    save_artifact(result.model, tmp_path, variant=variant, n_top_layers=config.n_top_layers, max_length=32)
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert size < 10_000_000
    assert not (tmp_path / "README.md").exists()  # peft's template card is not ours to ship
    first = load_finetuned(artifact_dir=tmp_path, device="cpu").predict_proba(TEXTS[:4])
    second = load_finetuned(artifact_dir=tmp_path, device="cpu").predict_proba(TEXTS[:4])
    np.testing.assert_allclose(first.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, second)  # deterministic


def test_split_forward_of_the_top_layers_variant_equals_the_whole_forward() -> None:
    """Cached lower-layer states + upper layers must give the logits of one full pass, padding included."""
    import torch

    from analytics.models.network import build_classifier

    model = build_classifier().eval()
    tokenizer = load_finetuned(device="cpu").tokenizer
    enc = tokenizer(TEXTS[:5], padding=True, return_tensors="pt")
    assert (enc["attention_mask"] == 0).any()  # the check needs padded rows
    with torch.inference_mode():
        whole = model(enc["input_ids"], enc["attention_mask"])
        states = model.lower_states(enc["input_ids"], enc["attention_mask"], 4)
        split = model.upper_forward(states, enc["attention_mask"], 4)
    np.testing.assert_allclose(split.numpy(), whole.numpy(), atol=1e-5)


def test_a_time_budget_stops_after_an_evaluation_and_improvements_are_reported() -> None:
    seen: list[dict] = []
    config = TrainingConfig(variant="top-layers", max_steps=50, batch_size=6, max_length=32, max_minutes=0.0)
    result = train_classifier(TEXTS, LABELS, TEXTS[:6], LABELS[:6], config,
                              on_improve=lambda model, record: seen.append(record))
    assert result.steps == 1  # the budget is spent before the first step ends
    assert [h["step"] for h in result.history] == [1]
    assert seen == result.history


def test_training_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        train_classifier(TEXTS, LABELS[:-1], TEXTS[:6], LABELS[:6], TrainingConfig(max_steps=1))
    with pytest.raises(ValueError, match="variant"):
        train_classifier(TEXTS, LABELS, TEXTS[:6], LABELS[:6], TrainingConfig(variant="adapter", max_steps=1))


def _tiny_semeval(root: Path) -> Path:
    root.mkdir()
    rows = [f"{i}\t{label}\t{text}" for i, (text, label) in enumerate(zip(TEXTS * 2, LABELS * 2))]
    (root / "twitter-2013train-A.txt.tsv").write_text("\n".join(rows[:30]) + "\n", encoding="utf-8")
    test = [f"{100 + i}\t{label}\t{text} \\u2019" for i, (text, label) in enumerate(zip(TEXTS, LABELS))]
    (root / "twitter-2016test-A.tsv").write_text("\n".join(test) + "\n", encoding="utf-8")
    return root


def _tiny_vader(root: Path, rows: dict[str, list[tuple[str, list[int]]]]) -> Path:
    """VADER's ground-truth layout: per set, ``id, mean, text`` and ``id, mean, sd, [ratings]`` files."""
    folder = root / "vaderSentiment-3.3.2" / "additional_resources" / "hutto_ICWSM_2014"
    folder.mkdir(parents=True)
    for name in VADER_SETS:
        items = rows.get(name, [])
        truth = [f"{i}\t{np.mean(r):.3f}\t{text}" for i, (text, r) in enumerate(items, 1)]
        ratings = [f"{i}\t{np.mean(r):.3f}\t{np.std(r):.3f}\t{r}" for i, (_, r) in enumerate(items, 1)]
        (folder / f"{name}_GroundTruth.txt").write_text("\n".join(truth) + "\n", encoding="utf-8")
        (folder / f"{name}_anonDataRatings.txt").write_text("\n".join(ratings) + "\n", encoding="utf-8")
    return root


def test_vader_ground_truth_labels_are_the_plurality_of_the_raters_signs(tmp_path: Path) -> None:
    root = _tiny_vader(tmp_path, {
        "tweets": [("so glad I came", [2, 3, 1, 0, -1]),          # 3 of 5 above zero
                   ("the bus is at noon", [0, 0, 1, -1, 0]),      # most said zero, though the mean is 0
                   ("hmm, fine I guess", [1, 1, -1, -1, 0]),      # positive and negative tie: left out
                   ("never again", [-3, -2, -4, 0, 1])],
        "nytEditorialSnippets": [("The vote was close.", [0, 1, 1, 0, 0, 0])],
    })
    frame = load_vader_ground_truth(root)  # any folder above hutto_ICWSM_2014 is accepted
    assert dict(zip(frame["text"], frame["label"])) == {
        "so glad I came": "positive", "the bus is at noon": "neutral", "never again": "negative",
        "The vote was close.": "neutral",
    }
    assert set(frame["file"]) == {"tweets_anonDataRatings.txt", "nytEditorialSnippets_anonDataRatings.txt"}


def test_vader_ground_truth_says_where_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tweets_anonDataRatings.txt"):
        load_vader_ground_truth(tmp_path)
    root = _tiny_vader(tmp_path / "v", {"tweets": [("ok", [1, 1])]})
    ratings = next(root.rglob("amazonReviewSnippets_anonDataRatings.txt"))
    ratings.write_text("1\t0.5\t0.1\t[1, 2]\n2\t0.5\t0.1\t[1, two]\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load_vader_ground_truth(root)
    assert caught.value.row == 2 and caught.value.file == str(ratings) and caught.value.column == "ratings"


def test_vader_ground_truth_reads_the_archive_the_sdist_ships(tmp_path: Path) -> None:
    import tarfile

    folder = next(_tiny_vader(tmp_path / "built", {"tweets": [("so glad I came", [2, 3, 1])]}).rglob("hutto_ICWSM_2014"))
    sdist = tmp_path / "vaderSentiment-3.3.2" / "additional_resources"
    sdist.mkdir(parents=True)
    with tarfile.open(sdist / "hutto_ICWSM_2014.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="hutto_ICWSM_2014")
    frame = load_vader_ground_truth(tmp_path / "vaderSentiment-3.3.2")
    assert frame[["text", "label"]].values.tolist() == [["so glad I came", "positive"]]


def test_general_data_never_holds_an_evaluation_text(tmp_path: Path) -> None:
    data = _tiny_semeval(tmp_path / "semeval")
    test_tweet = TEXTS[1]  # in the pool and, with a quote mark added, in the test set
    vader = _tiny_vader(tmp_path / "vader", {"tweets": [
        (test_tweet.upper() + "!!", [-2, -3, -1]),  # same words, other case and punctuation
        ("a brand-new text nobody evaluates on", [2, 2, 0]),
    ]})
    general = general_training_data(vader, data)
    assert general["text"].tolist() == ["a brand-new text nobody evaluates on"]


def test_the_pipeline_checkpoints_then_writes_a_card_with_figures(tmp_path: Path) -> None:
    data = _tiny_semeval(tmp_path / "semeval")
    vader = _tiny_vader(tmp_path / "vader", {"amazonReviewSnippets": [("the zoom is superb", [3, 2, 2]),
                                                                        ("battery died in a day", [-2, -3, 0])]})
    out = tmp_path / "artifact"
    config = TrainingConfig(variant="top-layers", max_steps=2, batch_size=8, max_length=32, evaluations_per_epoch=4)
    card = run_training(data, out, config, vader_dir=vader, evaluate=False, checkpoint=True,
                        command=["brandlens", "train"])
    assert card["status"] == "final" and "evaluation" not in card
    assert card["data"]["general"]["n"] == 2 and card["data"]["general"]["label_counts"] == {"positive": 1, "negative": 1}
    assert card["data"]["train"] + card["data"]["validation"] == len(load_semeval(data, split="train"))
    assert "VADER" in (out / "MODEL_CARD.md").read_text()
    assert card["artifact_bytes"] < 10_000_000
    updated = evaluate_artifact(out, data, n_boot=50, command=["brandlens", "train", "--evaluate-only"])
    saved = json.loads((out / "card.json").read_text())
    assert saved["evaluation"] == updated["evaluation"]
    test = saved["evaluation"]["semeval2016_test"]
    assert test["n"] == len(TEXTS)
    lo, hi = test["f1_pn"]["ci95"]
    assert lo <= test["f1_pn"]["value"] <= hi
    assert len(saved["evaluation"]["check_sample"]["ids"]) == len(TEXTS)
    assert "F1^PN" in (out / "MODEL_CARD.md").read_text()


SHIPPED = [pytest.param(DEFAULT_MODEL_DIR, id="default"), pytest.param(MINILM_V1_DIR, id="minilm-v1")]


def _shipped_card(folder: Path) -> dict:
    card_path = folder / "card.json"
    if not card_path.is_file():
        pytest.skip(f"no shipped artifact card at {card_path}")
    return json.loads(card_path.read_text())


@pytest.mark.parametrize("folder", SHIPPED)
def test_shipped_artifact_is_small_and_loads_offline(folder: Path) -> None:
    card = _shipped_card(folder)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    # our delta only: minilm-v1's top 2 of 6 layers (7 MB), the default's top 4 of 12 layers (15 MB) beside
    # its 470 MB encoder
    limit = 50_000_000 if card["variant"] == "full" else 16_000_000
    assert size < limit
    proba = load_finetuned(artifact_dir=folder, device="cpu").predict_proba(["I love it", "I hate it"])
    assert proba[0].argmax() == 2 and proba[1].argmax() == 0


@pytest.mark.parametrize("folder", SHIPPED)
def test_shipped_artifact_agrees_with_its_card_on_the_check_sample(folder: Path) -> None:
    card = _shipped_card(folder)
    assert "evaluation" in card, (
        "the shipped card has no test figures: run `brandlens train --evaluate-only --data ../shared/data/semeval2017`"
    )
    sample = card["evaluation"]["check_sample"]
    test = load_semeval(reference_file("semeval2017"), split="test")
    from analytics.reference import sample_indices

    rows = test.iloc[sample_indices(len(test), CARD_SAMPLE_SIZE, random_state=CARD_SAMPLE_SEED)]
    assert rows["id"].tolist() == sample["ids"]
    proba = load_finetuned(artifact_dir=folder, device="cpu").predict_proba(rows["text"].tolist())
    agreement = np.mean([p == q for p, q in zip(np.array(["negative", "neutral", "positive"])[proba.argmax(1)], sample["predicted"])])
    assert agreement >= 0.99
    np.testing.assert_allclose(proba[:, 2] - proba[:, 0], sample["p_positive_minus_negative"], atol=2e-3)
    # what `brandlens score` serves by default (ONNX Runtime int8 where installed) stays close to the card
    from analytics.models import load_model

    served = load_model("default" if folder == DEFAULT_MODEL_DIR else "minilm-v1", device="cpu").predict_proba(
        rows["text"].tolist())
    served_labels = np.array(["negative", "neutral", "positive"])[served.argmax(1)]
    differ = served_labels != np.array(sample["predicted"])
    # int8 may flip a near tie, never a clear call: agreement at scale is the benchmark's (97.9% of
    # 2,000 SemEval tweets), and this sample holds more near ties than most (12 of 200 flip, all of
    # them within 0.075 of the runner-up class in fp32)
    top_two = np.sort(proba, axis=1)[:, -2:]
    assert (top_two[differ, 1] - top_two[differ, 0] < 0.1).all()
    assert differ.mean() <= 0.10
