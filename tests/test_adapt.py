"""Adapting the model to a workspace's labels: hold-out never trained on, honest verdict, the id works everywhere,
and no training label leaks into the KPI correction's confusion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import thinned_copy

from analytics import store
from analytics.brand.explorer import correct_label
from analytics.brand.kpis import brand_kpis, correction_labels
from analytics.cli import main as cli_main
from analytics.evaluation.labelled import labelled_predictions
from analytics.evaluation.workspace import evaluate_workspace
from analytics.models import load_model
from analytics.core.estimate import Estimate
from analytics.training.adapt import (
    MIN_HOLDOUT, MIN_LABELS, AdaptConfig, adapt_workspace, holdout_table, is_recommended, split_holdout, verdict,
)

pytestmark = pytest.mark.slow
FAST = AdaptConfig(epochs=1, n_boot=200, n_top_layers=1)  # behaviour, not quality: one layer trains fast


@pytest.fixture(scope="module")
def adapted(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the demo workspace (every label, 300 of its other posts) with some queue labels, adapted
    once (1 epoch), scored with the new model."""
    path = thinned_copy(demo_workspace, tmp_path_factory.mktemp("adapt") / "w.duckdb", unlabelled=300)
    with store.open_workspace(path) as con:
        unlabelled = [r[0] for r in con.execute(
            "SELECT p.post_id FROM posts p LEFT JOIN gold_labels g USING (post_id) WHERE g.post_id IS NULL "
            "ORDER BY p.post_id LIMIT 40").fetchall()]
        for i, pid in enumerate(unlabelled):
            correct_label(con, pid, ("negative", "neutral", "positive")[i % 3], origin="test",
                          chosen_by="queue:active" if i % 2 else "queue:random")
        result = adapt_workspace(con, config=FAST)
        from analytics.scoring.local import score_workspace

        score_workspace(con, load_model(result.model, con=con, device="cpu"))
    return path, result, unlabelled


def test_split_holds_out_only_representative_labels_and_is_disjoint() -> None:
    labels = ["negative", "neutral", "positive"] * 40
    representative = [i % 4 != 0 for i in range(120)]
    train, held = split_holdout(labels, representative, holdout=0.25, seed=3)
    assert set(train).isdisjoint(held) and len(train) + len(held) == 120
    assert all(representative[i] for i in held)  # active picks always train
    assert {i for i in range(120) if not representative[i]} <= set(train)
    again = split_holdout(labels, representative, holdout=0.25, seed=3)
    assert (again[1] == held).all()  # seeded


def test_stored_split_is_disjoint_and_covers_every_label(adapted) -> None:
    path, result, _ = adapted
    with store.open_workspace(path, read_only=True) as con:
        rows = con.execute("SELECT split, count(*), count(DISTINCT post_id) FROM model_labels WHERE model_id = ? "
                           "GROUP BY split", [result.model]).fetchall()
        n_gold = con.execute("SELECT count(*) FROM gold_labels").fetchall()[0][0]
    counts = {s: n for s, n, _ in rows}
    assert counts == {"train": result.n_train, "holdout": result.n_holdout}
    assert result.n_train + result.n_holdout == n_gold


def test_json_interface(adapted, tmp_path: Path, capsys) -> None:
    payload = adapted[1].to_dict()
    assert {"model", "base", "method", "n_train", "n_holdout", "holdout", "recommended", "seconds", "device"} <= set(payload)
    assert set(payload["holdout"]) == {"base", "adapted", "difference"}
    for side in ("base", "adapted"):
        for metric in ("macro_f1", "accuracy"):
            e = payload["holdout"][side][metric]
            assert e["ci95"][0] <= e["value"] <= e["ci95"][1]
    diff = payload["holdout"]["difference"]["macro_f1"]
    assert payload["recommended"] == (diff["ci95"][0] > 0 and payload["n_holdout"] >= MIN_HOLDOUT)
    assert payload["min_holdout"] == MIN_HOLDOUT
    assert payload["model"].startswith("adapted-") and payload["device"] in ("cpu", "cuda")
    sentence = verdict({**payload, "config": {"holdout": FAST.holdout}})
    assert sentence.startswith("recommended" if payload["recommended"] else "not recommended")


def _card(value: float, lo: float, hi: float, n_holdout: int = 200) -> dict:
    return {"recommended": lo > 0, "n_holdout": n_holdout, "config": {"holdout": 0.2},
            "holdout": {"difference": {"macro_f1": {"value": value, "ci95": [lo, hi]}}}}


def test_verdict_says_how_many_held_out_labels_would_settle_an_unclear_gain() -> None:
    assert verdict(_card(0.05, 0.01, 0.09)).startswith("recommended")
    assert "no better than the base" in verdict(_card(-0.01, -0.06, 0.04))
    import re

    def needed(card: dict) -> int:
        return int(re.search(r"about ([\d,]+) held-out labels", verdict(card)).group(1).replace(",", ""))

    # the same gain measured twice as loosely needs about four times the labels; a larger gain fewer
    assert needed(_card(0.05, -0.05, 0.15)) > 3 * needed(_card(0.05, 0.0, 0.10)) > 0
    assert needed(_card(0.08, -0.01, 0.17)) < needed(_card(0.04, -0.05, 0.13))
    assert needed(_card(0.049, -0.006, 0.101, n_holdout=199)) >= 199


def test_the_issue_22_verdict_on_three_held_out_labels_is_not_recommended() -> None:
    """After 60 queue labels only 3 were held out: "+0.389 [+0.389, +0.389] on 3 labels" was called recommended."""
    card = _card(0.389, 0.389, 0.389, n_holdout=3)
    assert card["recommended"]  # what the old rule said
    sentence = verdict(card)
    assert sentence.startswith("not recommended: too few held-out labels (n = 3): give about 135 more random labels")
    assert "+0.389" not in sentence  # no figure on three labels


@pytest.mark.parametrize("n_holdout, expected", [(MIN_HOLDOUT - 1, False), (MIN_HOLDOUT, True)])
def test_recommended_needs_the_minimum_hold_out_and_an_interval_above_zero(n_holdout: int, expected: bool) -> None:
    assert is_recommended(Estimate(0.1, (0.05, 0.15)), n_holdout) is expected
    assert not is_recommended(Estimate(0.1, (-0.01, 0.2)), 10 * MIN_HOLDOUT)
    assert not is_recommended(Estimate.too_few(12, 30), 10 * MIN_HOLDOUT)
    assert verdict(_card(0.1, 0.05, 0.15, n_holdout=n_holdout)).startswith("recommended" if expected else "not")


def test_holdout_table_shows_a_withheld_figure_as_its_note() -> None:
    too_few = Estimate.too_few(12, 30).to_dict()
    wilson = Estimate(0.75, (0.47, 0.91)).to_dict()
    table = holdout_table({side: {"macro_f1": too_few, "accuracy": wilson} for side in ("base", "adapted", "difference")})
    assert table["base"].tolist() == ["too few labelled posts (n = 12): needs 30", "0.750 [0.470, 0.910]"]


def test_adapted_id_scores_evaluates_and_corrects_kpis_without_its_training_labels(adapted) -> None:
    path, result, _ = adapted
    with store.open_workspace(path) as con:
        trained = {r[0] for r in con.execute(
            "SELECT post_id FROM model_labels WHERE model_id = ? AND split = 'train'", [result.model]).fetchall()}
        evaluation = evaluate_workspace(con, models=[result.model], n_boot=100)[result.model]
        assert evaluation.n <= result.n_holdout  # only labels it never trained on
        frame = labelled_predictions(con, result.model)
        assert trained.isdisjoint(frame["post_id"]) and len(frame) == evaluation.n
        confusion_posts = set(correction_labels(con, result.model)["post_id"])
        assert trained.isdisjoint(confusion_posts)  # this fails if training labels leak into the correction
        kpis = brand_kpis(con, result.model, n_boot=100)
        assert kpis.correction.n_labelled == len(confusion_posts)
        assert kpis.correction.basis.get("held-out", 0) > 0 and "cross-fitted" not in kpis.correction.basis
        assert "active-queue" not in kpis.correction.basis  # the queue's active picks are not a sample
        base = brand_kpis(con, "default", n_boot=100)
        assert base.correction.n_labelled > kpis.correction.n_labelled  # the base model may use every label


def test_cross_fitted_training_labels_count_with_their_out_of_fold_probabilities(adapted) -> None:
    path, result, _ = adapted
    copy = path.parent / "crossfit.duckdb"
    shutil.copy(path, copy)
    with store.open_workspace(copy) as con:
        some = [r[0] for r in con.execute(
            "SELECT m.post_id FROM model_labels m JOIN gold_labels g USING (post_id) WHERE m.model_id = ? "
            "AND m.split = 'train' AND g.chosen_by <> 'queue:active' ORDER BY m.post_id LIMIT 5",
            [result.model]).fetchall()]
        for pid in some:
            con.execute("INSERT INTO crossfit_predictions VALUES (?, ?, 0.7, 0.2, 0.1)", [result.model, pid])
        frame = correction_labels(con, result.model)
        rows = frame[frame["post_id"].isin(some)]
        assert len(rows) == len(some)
        assert np.allclose(rows[["p_negative", "p_neutral", "p_positive"]].to_numpy(), [0.7, 0.2, 0.1])
        assert (rows["predicted"] == "negative").all()
        assert set(some).isdisjoint(labelled_predictions(con, result.model)["post_id"])  # evaluation still excludes


def test_cli_uses_the_adapted_id(adapted, capsys) -> None:
    path, result, _ = adapted
    assert cli_main(["kpis", "--workspace", str(path), "--model", result.model, "--json", "--n-boot", "50"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and all("share" in r for r in records)
    assert cli_main(["evaluate", "--workspace", str(path), "--model", result.model, "--json", "--n-boot", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"][0]["model"] == result.model
    assert cli_main(["explain", "--workspace", str(path), "--model", result.model, "--text", "the app keeps crashing",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == result.model


def test_not_recommended_when_labels_are_noise(demo_workspace: Path, tmp_path: Path) -> None:
    """Labels shuffled at random over the three classes: the adapted model cannot be clearly better.

    (Noise in two classes is not this case: there the adapted model learns that the workspace never
    says neutral, a real gain on its labels that the hold-out rightly measures.)
    """
    path = thinned_copy(demo_workspace, tmp_path / "noise.duckdb", labels=200)
    with store.open_workspace(path) as con:
        con.execute("UPDATE posts SET gold_label = ['negative', 'neutral', 'positive'][(1 + hash(post_id) % 3)::BIGINT] "
                    "WHERE gold_label IS NOT NULL")
        result = adapt_workspace(con, config=FAST, store=False)
    assert result.n_train > 0
    assert not result.recommended
    assert result.difference["macro_f1"].ci95[0] <= 0


def test_labels_in_two_classes_adapt_over_those_two(demo_workspace: Path, tmp_path: Path) -> None:
    """A review export labels positive/negative only: it adapts, every label used, figures over the two classes."""
    path = thinned_copy(demo_workspace, tmp_path / "two-class.duckdb", labels=300)
    with store.open_workspace(path) as con:
        con.execute("UPDATE posts SET gold_label = NULL WHERE gold_label = 'neutral' OR hash(post_id) % 4 = 0")
        n_labels = con.execute("SELECT count(*) FROM gold_labels").fetchone()[0]
        result = adapt_workspace(con, config=FAST, store=False)
    assert n_labels >= 2 * MIN_LABELS and result.n_train + result.n_holdout == n_labels
    for side in ("base", "adapted"):
        assert 0 < result.holdout[side]["macro_f1"].value <= 1


def test_labels_in_one_class_are_a_clear_error(demo_workspace: Path, tmp_path: Path) -> None:
    from analytics.core.errors import BrandLensError

    path = tmp_path / "one-class.duckdb"
    shutil.copy(demo_workspace, path)
    with store.open_workspace(path) as con:
        con.execute("UPDATE posts SET gold_label = 'positive' WHERE gold_label IS NOT NULL")
        with pytest.raises(BrandLensError, match="at least two classes"):
            adapt_workspace(con, config=FAST, store=False)


def test_too_few_labels_is_a_clear_error(tmp_path: Path) -> None:
    from analytics.core.errors import BrandLensError

    with store.open_workspace(tmp_path / "empty.duckdb") as con, pytest.raises(BrandLensError, match="at least"):
        adapt_workspace(con, config=FAST)


def test_deleting_the_workspace_deletes_the_model(adapted, tmp_path: Path) -> None:
    from analytics.core.errors import BrandLensError

    path, result, _ = adapted
    copy = tmp_path / "moved.duckdb"
    shutil.copy(path, copy)  # the model travels with the file
    with store.open_workspace(copy, read_only=True) as con:
        assert load_model(result.model, con=con, device="cpu").model_id == result.model
    copy.unlink()
    with store.open_workspace(tmp_path / "other.duckdb") as con, pytest.raises(BrandLensError, match="not in this workspace"):
        load_model(result.model, con=con)


def test_long_texts_train_on_the_windows_they_are_scored_on() -> None:
    """A long review is split into the serving windows; adapt's base probabilities equal the served model's."""
    from analytics.training.adapt import prepare

    review = " ".join(["The battery lasted two days at first, then the screen started flickering and support "
                       "never answered my three e-mails, so I returned it."] * 30)
    texts = [review, "great phone, love it"]
    prepared = prepare(texts)
    assert len(prepared.states) > len(texts)  # the review became several windows
    assert max(s.shape[0] for s in prepared.states) <= prepared.serving_max_length
    served = load_model("default", device="cpu", cpu_backend="torch").predict_proba(texts)
    np.testing.assert_allclose(prepared.proba_base, served, atol=2e-2)  # fp16 cached states


def test_a_difference_without_an_interval_is_not_recommended() -> None:
    card = _card(0.0, 0.0, 0.0, n_holdout=40)
    card["holdout"]["difference"]["macro_f1"] = Estimate.bootstrapped(0.02, (0.02, 0.02)).to_dict()
    assert verdict(card).startswith("not recommended: held-out macro-F1 +0.020 on 40 labels has no interval")
