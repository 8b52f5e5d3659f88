"""Evaluation: every metric equals scikit-learn's, intervals behave, slices flag small groups, CLI shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)

from analytics import store
from analytics.cli import main as cli
from analytics.evaluation import (
    accuracy_by_coverage,
    confident_mistakes,
    evaluate_predictions,
    labelled_predictions,
    paired_difference,
    slice_metrics,
)
from analytics.evaluation.metrics import (
    label_codes,
    multiplicities,
    point_metrics,
    resampled_metrics,
)
from analytics.core.labels import CLASSES


def _sample(n: int, seed: int = 0, *, signal: float = 1.5, ties: bool = True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + np.eye(3)[y] * signal
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if ties:  # lexicon models give many identical scores
        proba[: n // 5] = np.round(proba[: n // 5], 1)
        proba[: n // 5] /= proba[: n // 5].sum(axis=1, keepdims=True)
    return np.array(CLASSES)[y], proba


def test_macro_averages_run_over_the_classes_the_labels_have() -> None:
    """Two-class labels (reviews: positive/negative): an absent neutral class must not count as an F1 of 0."""
    rng = np.random.default_rng(4)
    y = rng.choice([0, 2], size=400)
    proba = np.full((400, 3), 0.05)
    proba[np.arange(400), y] = 0.9
    proba[:40] = [0.1, 0.8, 0.1]  # a neutral prediction on a two-class post is an error
    result = evaluate_predictions(np.array(CLASSES)[y], proba, n_boot=200)
    pred = proba.argmax(axis=1)
    macro = result.metrics["macro_f1"]
    assert macro.value == pytest.approx(f1_score(y, pred, labels=[0, 2], average="macro"))
    assert macro.value > 0.9 and macro.ci95[0] > 0.85  # three-class averaging would cap it at 2/3
    assert result.metrics["macro_recall"].value == pytest.approx(recall_score(y, pred, labels=[0, 2], average="macro"))


def test_point_metrics_equal_scikit_learn() -> None:
    labels, proba = _sample(500)
    y, pred = label_codes(labels), proba.argmax(axis=1)
    result = evaluate_predictions(labels, proba, n_boot=20)
    m = {k: e.value for k, e in result.metrics.items()}
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["f1_pn"] == pytest.approx(f1_score(y, pred, labels=[0, 2], average="macro"))
    assert m["macro_recall"] == pytest.approx(recall_score(y, pred, average="macro"))
    assert m["cohen_kappa"] == pytest.approx(cohen_kappa_score(y, pred))
    assert m["quadratic_kappa"] == pytest.approx(cohen_kappa_score(y, pred, weights="quadratic"))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, pred))
    assert m["roc_auc_macro"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert m["average_precision_macro"] == pytest.approx(
        np.mean([average_precision_score(y == k, proba[:, k]) for k in range(3)])
    )
    precision, recall, f1, support = precision_recall_fscore_support(y, pred)
    for k, c in enumerate(CLASSES):
        assert result.per_class[c]["precision"].value == pytest.approx(precision[k])
        assert result.per_class[c]["recall"].value == pytest.approx(recall[k])
        assert result.per_class[c]["f1"].value == pytest.approx(f1[k])
        assert result.per_class[c]["support"] == support[k]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_resample_equals_scikit_learn_on_that_resample(seed: int) -> None:
    labels, proba = _sample(400, seed)
    y = label_codes(labels)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(1, len(y)))
    vectorised = resampled_metrics(y, proba, multiplicities(idx, len(y)))
    direct = point_metrics(y[idx[0]], proba[idx[0]])
    for name, value in direct.items():
        assert vectorised[name][0] == pytest.approx(value, abs=1e-6), name


def test_intervals_contain_the_point_and_shrink_with_more_data() -> None:
    small = evaluate_predictions(*_sample(200, 4), n_boot=300)
    large = evaluate_predictions(*_sample(5000, 4), n_boot=300)
    for name, estimate in small.metrics.items():
        assert estimate.ci95[0] <= estimate.value <= estimate.ci95[1], name
    assert large.metrics["macro_f1"].half_width < small.metrics["macro_f1"].half_width / 2


def test_bootstrap_is_seeded() -> None:
    labels, proba = _sample(300, 5)
    a = evaluate_predictions(labels, proba, n_boot=100, random_state=7)
    b = evaluate_predictions(labels, proba, n_boot=100, random_state=7)
    assert a.metrics["accuracy"].ci95 == b.metrics["accuracy"].ci95


def test_bad_inputs_name_the_argument() -> None:
    labels, proba = _sample(10)
    with pytest.raises(ValueError, match="y_true"):
        evaluate_predictions(["good"] * 10, proba)
    with pytest.raises(ValueError, match="proba"):
        evaluate_predictions(labels, proba[:, :2])


def test_paired_difference_sees_a_better_model_and_not_an_identical_one() -> None:
    labels, strong = _sample(2000, 6, signal=2.5, ties=False)
    rng = np.random.default_rng(6)
    weak = 0.5 * strong + 0.5 * rng.dirichlet(np.ones(3), size=len(strong))
    better = {d.metric: d for d in paired_difference(labels, strong, weak, n_boot=200)}
    assert better["accuracy"].difference.ci95[0] > 0 and better["accuracy"].p_value < 0.05
    same = {d.metric: d for d in paired_difference(labels, strong, strong, n_boot=50)}
    assert same["accuracy"].difference.value == 0


def _workspace_with_predictions(path, n=300, seed=0):
    labels, proba = _sample(n, seed)
    rng = np.random.default_rng(seed)
    with store.open_workspace(path) as con:
        con.execute("INSERT INTO ingest_runs VALUES ('r', 'test', 'test', now(), now(), 0, 0, 0, 0, NULL, 'done')")
        for i in range(n):
            brand = "Tiny" if i < 12 else ("A" if i % 2 else "B")
            con.execute(
                "INSERT INTO posts (post_id, source, brand, created_at, text, original_text, gold_label, gold_origin,"
                " gold_confidence, region, ingest_run) VALUES (?, 'test', ?, TIMESTAMP '2026-01-01' + to_days(?), ?, ?, ?, 'source:label', ?, ?, 'r')",
                [f"p{i}", brand, int(i % 60), f"text {i}", f"text {i}", labels[i], float(rng.uniform(0.3, 1)), "N" if i % 3 else "S"],
            )
            con.execute("INSERT INTO predictions VALUES (?, 'm', ?, ?, ?, ?, now())",
                        [f"p{i}", *map(float, proba[i]), CLASSES[int(proba[i].argmax())]])
    return labels, proba


def test_slices_flag_groups_too_small_to_rank(workspace) -> None:
    _workspace_with_predictions(workspace)
    con = store.connect(workspace)
    frame = labelled_predictions(con, "m")
    report = slice_metrics(frame, "brand", n_boot=50)
    tiny = report.by_group.set_index("brand").loc["Tiny"]
    assert tiny["n"] == 12 and bool(tiny["too_small"])
    assert "Tiny" not in report.worst()["brand"].tolist()
    months = slice_metrics(frame, "month", n_boot=20).by_group.set_index("month")["n"]
    assert months.to_dict() == {"2026-01": 155, "2026-02": 140, "2026-03": 5}


def test_corrections_and_filters_reach_the_evaluation(workspace) -> None:
    labels, _ = _workspace_with_predictions(workspace)
    con = store.connect(workspace)
    assert len(labelled_predictions(con, "m", brand="A")) == sum(1 for i in range(12, 300) if i % 2)
    confident = labelled_predictions(con, "m", min_label_confidence=0.8)
    assert (confident["gold_confidence"] >= 0.8).all() and 0 < len(confident) < 300
    other = [c for c in CLASSES if c != labels[20]][0]
    con.execute("INSERT INTO label_corrections (post_id, label, origin, corrected_at) VALUES ('p20', ?, 'explorer:test', now())", [other])
    frame = labelled_predictions(con, "m").set_index("post_id")
    assert frame.loc["p20", "gold"] == other and frame.loc["p20", "gold_origin"] == "explorer:test"


def test_mistakes_and_coverage(workspace) -> None:
    _workspace_with_predictions(workspace)
    frame = labelled_predictions(store.connect(workspace), "m")
    mistakes = confident_mistakes(frame, k=5)
    assert len(mistakes) == 5 and (mistakes["gold"] != mistakes["predicted"]).all()
    assert mistakes["probability"].is_monotonic_decreasing
    coverage = accuracy_by_coverage(frame)
    assert coverage["coverage"].is_monotonic_decreasing
    assert coverage["accuracy"].iloc[-1] >= coverage["accuracy"].iloc[0] - 0.05


def test_evaluate_cli_prints_the_documented_json(workspace, capsys) -> None:
    _workspace_with_predictions(workspace)
    assert cli(["evaluate", "--workspace", str(workspace), "--n-boot", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["workspace"] == str(workspace) and out["n_labelled"] == 300
    model = out["models"][0]
    assert model["model"] == "m" and model["n"] == 300
    assert set(model["metrics"]) == {"accuracy", "macro_f1", "f1_pn", "macro_recall", "cohen_kappa",
                                     "quadratic_kappa", "mcc", "roc_auc_macro", "average_precision_macro", "ece", "brier"}
    assert set(model["metrics"]["accuracy"]) == {"value", "ci95"} and len(model["metrics"]["accuracy"]["ci95"]) == 2
    assert list(model["per_class"]) == list(CLASSES)
    assert set(model["per_class"]["negative"]) == {"precision", "recall", "f1", "support"}
    assert np.array(model["confusion"]).sum() == 300


def test_evaluate_cli_without_labels_says_so(workspace, capsys) -> None:
    with store.open_workspace(workspace) as con:
        con.execute("INSERT INTO ingest_runs VALUES ('r', 't', 't', now(), now(), 0, 0, 0, 0, NULL, 'done')")
        con.execute("INSERT INTO posts (post_id, source, text, original_text, ingest_run) VALUES ('x', 't', 'hi', 'hi', 'r')")
        con.execute("INSERT INTO predictions VALUES ('x', 'm', 0.2, 0.5, 0.3, 'neutral', now())")
    assert cli(["evaluate", "--workspace", str(workspace), "--json"]) == 2
    assert "no labelled posts" in capsys.readouterr().err


# --- honest at any sample size (issue 22) ------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 29])
def test_below_the_minimum_bootstrap_figures_say_too_few_and_accuracy_keeps_a_wilson_interval(n: int) -> None:
    from analytics.evaluation.metrics import MIN_BOOTSTRAP_N

    labels, proba = _sample(n, 11)
    proba = np.eye(3)[label_codes(labels)] * 0.9 + 0.1 / 3  # every post right: the bootstrap would give [1, 1]
    result = evaluate_predictions(labels, proba, n_boot=50)
    accuracy = result.metrics["accuracy"]
    assert accuracy.value == 1.0 and accuracy.ci95[0] < accuracy.ci95[1] == 1.0  # Wilson: never zero width
    for name in ("macro_f1", "cohen_kappa", "roc_auc_macro", "mcc"):
        assert result.metrics[name].text() == f"too few labelled posts (n = {n}): needs {MIN_BOOTSTRAP_N}"
        payload = result.to_dict()["metrics"][name]
        assert payload["value"] is None and payload["note"].startswith("too few labelled posts")
    assert result.to_dict()["min_bootstrap_n"] == MIN_BOOTSTRAP_N
    cls = CLASSES[label_codes(labels)[0]]
    recall = result.per_class[cls]["recall"]
    assert recall.value == 1.0 and recall.ci95[0] < 1.0
    differences = paired_difference(labels, proba, proba[::-1] if n > 1 else proba, n_boot=20)
    assert all(d.difference.missing and d.to_dict()["p_value"] is None for d in differences)


def test_from_the_minimum_on_every_interval_has_width() -> None:
    labels, proba = _sample(30, 12)
    result = evaluate_predictions(labels, proba, n_boot=200)
    for name, estimate in result.metrics.items():
        assert estimate.note is None and estimate.ci95[1] > estimate.ci95[0], name


def test_accuracy_interval_is_statsmodels_wilson() -> None:
    from statsmodels.stats.proportion import proportion_confint

    labels, proba = _sample(80, 13)
    result = evaluate_predictions(labels, proba, n_boot=20)
    correct = int((proba.argmax(1) == label_codes(labels)).sum())
    assert result.metrics["accuracy"].ci95 == pytest.approx(proportion_confint(correct, 80, method="wilson"))


def test_evaluate_cli_on_three_labels_prints_too_few_not_a_zero_width_interval(workspace, capsys) -> None:
    _workspace_with_predictions(workspace, n=3)
    assert cli(["evaluate", "--workspace", str(workspace), "--n-boot", "50", "--json"]) == 0
    model = json.loads(capsys.readouterr().out)["models"][0]
    lo, hi = model["metrics"]["accuracy"]["ci95"]
    assert lo < hi
    assert model["metrics"]["macro_f1"]["value"] is None
    assert model["metrics"]["macro_f1"]["note"] == "too few labelled posts (n = 3): needs 30"
    assert cli(["evaluate", "--workspace", str(workspace), "--n-boot", "50"]) == 0
    assert "too few labelled posts (n = 3)" in capsys.readouterr().out


def test_a_bootstrap_without_spread_gives_the_figure_without_an_interval_and_says_why() -> None:
    from analytics.core.estimate import DEGENERATE

    labels, _ = _sample(40, 14)
    proba = np.eye(3)[label_codes(labels)] * 0.9 + 0.1 / 3  # a perfect model: every resample scores 1.0
    result = evaluate_predictions(labels, proba, n_boot=100)
    auc = result.metrics["roc_auc_macro"]
    assert auc.value == 1.0 and auc.note == DEGENERATE and np.isnan(auc.ci95[0])
    assert auc.text() == f"1.000 ({DEGENERATE})"
    assert result.to_dict()["metrics"]["roc_auc_macro"]["ci95"] == [None, None]
    accuracy = result.metrics["accuracy"]  # a proportion keeps its Wilson interval
    assert accuracy.note is None and accuracy.ci95[0] < accuracy.ci95[1]
