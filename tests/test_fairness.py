"""Fairness: MetricFrame results against a hand computation; the EEC pairing."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.fairness.grouped import grouped_metrics
from analytics.core.labels import CLASSES

from tests.conftest import reference_file

Y_TRUE = ["negative", "positive", "neutral", "negative", "positive", "negative"] * 10
Y_PRED = ["negative", "negative", "neutral", "positive", "positive", "negative"] * 10
GROUPS = ["a", "a", "a", "b", "b", "c"] * 10


def test_grouped_metrics_match_hand_computation():
    r = grouped_metrics(Y_TRUE, Y_PRED, groups=GROUPS, min_group_size=15, n_boot=20)
    bg = r.by_group
    # a: true neg,pos,neu / pred neg,neg,neu -> 2/3 right; 2/3 predicted negative
    assert bg.loc["a", "accuracy"] == pytest.approx(2 / 3)
    assert bg.loc["a", "share_predicted_negative"] == pytest.approx(2 / 3)
    assert bg.loc["a", "recall_positive"] == pytest.approx(0.0)
    # b: true neg,pos / pred pos,pos -> 1/2 right, none predicted negative
    assert bg.loc["b", "accuracy"] == pytest.approx(0.5)
    assert bg.loc["b", "recall_negative"] == pytest.approx(0.0)
    assert bg.loc["b", "share_predicted_negative"] == pytest.approx(0.0)
    assert r.overall["accuracy"].value == pytest.approx(4 / 6)
    # c has 10 rows < 15: flagged and not ranked
    assert bool(bg.loc["c", "too_small"]) and not bg.loc[["a", "b"], "too_small"].any()
    assert r.difference()["accuracy"] == pytest.approx(2 / 3 - 0.5)
    assert r.ratio()["accuracy"] == pytest.approx(0.5 / (2 / 3))
    # parity on "predicted negative" over a and b only: 2/3 - 0
    assert r.demographic_parity_difference.value == pytest.approx(2 / 3)
    assert r.demographic_parity_ratio.value == pytest.approx(0.0)
    # negative one-vs-rest: TPR a = 1, b = 0 -> equalized odds difference 1
    assert r.equalized_odds_difference.value == pytest.approx(1.0)
    estimate = r.by_group_estimates["a"]["accuracy"]
    assert estimate.ci95[0] <= bg.loc["a", "accuracy"] <= estimate.ci95[1]
    assert (bg.loc["a", "accuracy_lo"], bg.loc["a", "accuracy_hi"]) == estimate.ci95


def test_by_group_is_always_a_dataframe():
    r = grouped_metrics(Y_TRUE, Y_PRED, groups=["x"] * len(Y_TRUE), n_boot=0)
    assert list(r.by_group.index) == ["x"]
    assert "accuracy" in r.by_group.columns


def test_grouped_metrics_rejects_bad_input():
    with pytest.raises(ValueError):
        grouped_metrics(Y_TRUE, Y_PRED[:-1], groups=GROUPS, n_boot=0)
    with pytest.raises(ValueError):
        grouped_metrics(["meh"] * 60, Y_PRED, groups=GROUPS, n_boot=0)


@pytest.fixture(scope="module")
def eec():
    from analytics.fairness.eec import load_corpus

    return load_corpus(reference_file("eec/Equity-Evaluation-Corpus.csv"))


@pytest.mark.parametrize("attribute", ["gender", "race"])
def test_eec_pairs_differ_in_exactly_one_attribute(eec, attribute):
    from analytics.fairness.eec import differing_attributes, pair_sentences

    pairs = pair_sentences(eec, attribute=attribute)
    assert len(pairs) > 0
    assert all(d == {attribute} for d in differing_attributes(pairs, eec))
    side_a = "female" if attribute == "gender" else "African-American"
    assert (pairs[f"{attribute}_a"] == side_a).all()


def test_eec_pair_counts(eec):
    from analytics.fairness.eec import pair_sentences

    gender = pair_sentences(eec, attribute="gender")
    race = pair_sentences(eec, attribute="race")
    # noun phrases: 11 pairs x (templates x emotion words); names: one pair per template, word, race
    n_np = (eec["race"] == "").sum() // 2
    n_name_units = eec.loc[eec["race"] != "", ["template", "emotion_word"]].drop_duplicates().shape[0]
    assert len(gender) == n_np + 2 * n_name_units
    assert len(race) == 2 * n_name_units


def test_eec_gap_sign_and_null(eec):
    from analytics.fairness.eec import probe_scores

    zero = probe_scores(eec, np.zeros(len(eec)), model="flat", n_boot=50)
    assert zero.gender.mean_gap.value == 0 and zero.gender.p_value == 1.0
    biased = np.where(eec["gender"] == "female", 0.1, 0.0)
    res = probe_scores(eec, biased, model="biased", n_boot=50)
    assert res.gender.mean_gap.value == pytest.approx(0.1)
    assert res.race.mean_gap.value == pytest.approx(0.0)
    d = res.to_dict()
    assert set(d) == {"model", "n_sentences", "gender", "race", "by_emotion"}
    assert set(d["gender"]) == {"n_pairs", "mean_gap", "p_value"}
    assert set(d["by_emotion"]["joy"]) == {"gender", "race"}


def _reference_metrics() -> dict:
    """The group metrics written plainly with scikit-learn, on label strings."""
    from functools import partial

    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    def recall_of(y_true, y_pred, *, label):
        return recall_score(y_true, y_pred, labels=[label], average="macro", zero_division=np.nan)

    m = {"accuracy": accuracy_score,
         "macro_f1": partial(f1_score, labels=list(CLASSES), average="macro", zero_division=0)}
    for c in CLASSES:
        m[f"recall_{c}"] = partial(recall_of, label=c)
    m["share_predicted_negative"] = lambda y_true, y_pred: float(np.mean(np.asarray(y_pred) == "negative"))
    return m


def _reference_parity(y_true, y_pred, groups) -> tuple[float, float, float]:
    """Fairlearn's own parity functions, selection = predicted negative."""
    import numpy as np
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
    )

    yt = (np.asarray(y_true) == "negative").astype(int)
    yp = (np.asarray(y_pred) == "negative").astype(int)
    return (demographic_parity_difference(yt, yp, sensitive_features=groups),
            demographic_parity_ratio(yt, yp, sensitive_features=groups),
            equalized_odds_difference(yt, yp, sensitive_features=groups))


def _random_labels(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    classes = np.array(CLASSES)
    y_true = classes[rng.integers(0, 3, n)]
    y_pred = np.where(rng.random(n) < 0.7, y_true, classes[rng.integers(0, 3, n)])
    groups = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n)]
    return y_true, y_pred, groups


def test_grouped_point_values_equal_sklearn_metricframe_and_fairlearn_parity() -> None:
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    y_true, y_pred, groups = _random_labels(500, 5)
    res = grouped_metrics(y_true, y_pred, groups=groups, min_group_size=1, n_boot=0)
    metrics = _reference_metrics()
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=pd.Series(groups))
    for name in metrics:
        np.testing.assert_allclose(res.by_group[name].to_numpy(float), frame.by_group[name].reindex(
            res.by_group.index).to_numpy(float), atol=1e-12, err_msg=name)
        np.testing.assert_allclose(res.overall[name].value, float(frame.overall[name]), atol=1e-12, err_msg=name)
    expected = _reference_parity(y_true, y_pred, groups)
    got = (res.demographic_parity_difference.value, res.demographic_parity_ratio.value,
           res.equalized_odds_difference.value)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_vectorised_group_intervals_equal_metricframe_on_a_resample() -> None:
    """The bootstrap computes group metrics from counts; on any one resample they must equal Fairlearn's."""
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    from analytics.core.bootstrap import bootstrap_indices
    from analytics.fairness.grouped import _rates, _resampled_group_confusions, _resampled_parity

    y_true, y_pred, groups = _random_labels(400, 3)
    idx = bootstrap_indices(400, n_boot=1, random_state=9)
    names = ["a", "b", "c", "d"]
    confusions = _resampled_group_confusions(y_true, y_pred, groups, names, idx)
    rates = _rates(confusions)
    metrics = _reference_metrics()
    frame = MetricFrame(metrics=metrics, y_true=y_true[idx[0]], y_pred=y_pred[idx[0]],
                        sensitive_features=pd.Series(groups[idx[0]])).by_group.reindex(names)
    for name in metrics:
        np.testing.assert_allclose(rates[name][0], frame[name].to_numpy(float), atol=1e-12, err_msg=name)
    np.testing.assert_allclose(_resampled_parity(confusions)[0],
                               _reference_parity(y_true[idx[0]], y_pred[idx[0]], groups[idx[0]]))
