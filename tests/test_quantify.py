"""Quantifiers: arithmetic on hand-made cases, the simplex solver, and recovery of a known prevalence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from analytics.quantify import (
    ACC,
    CC,
    CORRECTION_METHODS,
    DEFAULT_METHOD,
    EMQ,
    METHODS,
    PACC,
    GroupOutputs,
    conditional_means,
    make_quantifier,
    quantify_groups,
    quantify_with_interval,
    simplex_lstsq,
)
from analytics.core.labels import CLASSES

LABELS = np.array(CLASSES, dtype=object)


def test_cc_counts_the_most_probable_class():
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    assert CC().fit(np.empty((0, 3)), []).predict(proba).tolist() == [0.5, 0.25, 0.25]


def test_acc_inverts_a_hand_made_confusion():
    # Labelled: 20 per class; the model calls 4 of 20 negatives neutral, everything else right.
    y = np.repeat(LABELS, 20)
    proba = np.eye(3)[np.repeat([0, 1, 2], 20)]
    proba[:4] = [0, 1, 0]  # four negatives predicted neutral
    acc = ACC().fit(proba, y)
    np.testing.assert_allclose(acc.misclassification_[:, 0], [0.8, 0.2, 0.0])
    # Unlabelled: predicted 40% negative, 40% neutral, 20% positive -> truth 50/30/20.
    unl = np.eye(3)[[0] * 4 + [1] * 4 + [2] * 2]
    np.testing.assert_allclose(acc.predict(unl), [0.5, 0.3, 0.2], atol=1e-9)


def test_conditional_means_is_batched_and_keeps_empty_classes_uncorrected():
    outputs = np.eye(3)[[0, 0, 1]]
    y = np.array([0, 0, 1])
    m = conditional_means(outputs, y)
    np.testing.assert_allclose(m[:, 2], [0, 0, 1])  # no labelled positive: identity column
    batch = conditional_means(np.stack([outputs, outputs]), np.stack([y, y]))
    assert batch.shape == (2, 3, 3)


def test_simplex_lstsq_matches_scipy_on_random_problems():
    rng = np.random.default_rng(3)
    m = rng.dirichlet(np.ones(3), size=(60, 3)).transpose(0, 2, 1)
    q = rng.dirichlet(np.ones(3), size=60) + rng.normal(0, 0.1, (60, 3))
    ours = simplex_lstsq(m, q)
    assert np.all(ours >= 0) and np.allclose(ours.sum(axis=1), 1)
    for mi, qi, pi in zip(m, q, ours):
        ref = minimize(lambda p: np.sum((mi @ p - qi) ** 2), np.ones(3) / 3, method="SLSQP",
                       bounds=[(0, 1)] * 3, constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}],
                       options={"ftol": 1e-14, "maxiter": 500})
        assert np.sum((mi @ pi - qi) ** 2) <= ref.fun + 1e-9


def test_simplex_lstsq_handles_a_singular_confusion():
    m = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])  # two classes indistinguishable
    p = simplex_lstsq(m, np.array([0.4, 0.4, 0.2]))
    assert np.isclose(p.sum(), 1) and np.isclose(p[2], 0.2)


def _calibrated(prior, n, rng, train_prior=(1 / 3, 1 / 3, 1 / 3)):
    """Posts from three 2-D Gaussian classes; exact Bayes posteriors under ``train_prior``."""
    means = np.array([[-1.0, 0.0], [0.6, 0.9], [0.6, -0.9]])
    y = rng.choice(3, size=n, p=prior)
    x = means[y] + rng.normal(size=(n, 2))
    loglik = -0.5 * ((x[:, None, :] - means[None]) ** 2).sum(-1) + np.log(train_prior)
    post = np.exp(loglik - loglik.max(1, keepdims=True))
    return post / post.sum(1, keepdims=True), LABELS[y]


@pytest.fixture(scope="module")
def shifted():
    """Labelled posts drawn with a uniform prior, unlabelled posts with a shifted one."""
    rng = np.random.default_rng(11)
    proba_l, y_l = _calibrated([1 / 3, 1 / 3, 1 / 3], 4000, rng)
    truth = np.array([0.65, 0.25, 0.10])
    proba_u, y_u = _calibrated(truth, 20000, rng)
    realised = np.array([(y_u == c).mean() for c in CLASSES])
    return proba_l, y_l, proba_u, realised


@pytest.mark.parametrize("name", ["ACC", "PACC", "EMQ"])
def test_corrections_recover_a_shifted_prevalence_cc_does_not(shifted, name):
    proba_l, y_l, proba_u, truth = shifted
    cc_err = np.abs(CC().fit(proba_l, y_l).predict(proba_u) - truth).max()
    err = np.abs(make_quantifier(name).fit(proba_l, y_l).predict(proba_u) - truth).max()
    assert cc_err > 0.08  # the shift really biases classify-and-count
    assert err < cc_err / 3
    assert err < 0.04


def test_acc_recovers_prevalence_under_a_fixed_confusion_matrix():
    """A simulated classifier that errs with a known confusion; the class mix shifts between the sets."""
    rng = np.random.default_rng(2)
    confusion = np.array([[0.70, 0.25, 0.05],   # true negative -> predicted (neg, neu, pos)
                          [0.15, 0.70, 0.15],
                          [0.05, 0.30, 0.65]])

    def simulate(prior, n):
        y = rng.choice(3, size=n, p=prior)
        pred = np.array([rng.choice(3, p=confusion[k]) for k in y])
        return np.eye(3)[pred], LABELS[y]

    proba_l, y_l = simulate([0.2, 0.5, 0.3], 3000)
    proba_u, y_u = simulate([0.6, 0.3, 0.1], 20000)
    truth = np.array([(y_u == c).mean() for c in CLASSES])
    acc = ACC().fit(proba_l, y_l)
    np.testing.assert_allclose(acc.misclassification_, confusion.T, atol=0.04)
    cc_err = np.abs(CC().fit(proba_l, y_l).predict(proba_u) - truth).max()
    acc_err = np.abs(acc.predict(proba_u) - truth).max()
    assert cc_err > 0.1 and acc_err < cc_err / 4


def test_interval_covers_the_truth_and_is_wider_with_fewer_labels(shifted):
    proba_l, y_l, proba_u, truth = shifted
    big = quantify_with_interval(PACC(), proba_l, y_l, proba_u[:3000], n_boot=400, random_state=1)
    small = quantify_with_interval(PACC(), proba_l[:150], y_l[:150], proba_u[:3000], n_boot=400, random_state=1)
    lo, hi = big.intervals()[0].T
    assert np.all((lo <= truth + 0.02) & (truth - 0.02 <= hi))
    assert np.all((small.intervals()[0, :, 1] - small.intervals()[0, :, 0])
                  > (big.intervals()[0, :, 1] - big.intervals()[0, :, 0]))
    assert big.corrected_samples.shape == (400, 1, 3)
    np.testing.assert_allclose(big.corrected_samples.sum(-1), 1)


def test_interval_is_seeded(shifted):
    proba_l, y_l, proba_u, _ = shifted
    a = quantify_with_interval(ACC(), proba_l, y_l, proba_u[:500], n_boot=100, random_state=5)
    b = quantify_with_interval(ACC(), proba_l, y_l, proba_u[:500], n_boot=100, random_state=5)
    np.testing.assert_array_equal(a.corrected_samples, b.corrected_samples)


def test_emq_interval_runs_on_rows(shifted):
    proba_l, y_l, proba_u, truth = shifted
    res = quantify_with_interval(EMQ(), proba_l, y_l, proba_u[:2000], n_boot=50, random_state=0)
    assert res.method == "EMQ"
    assert res.corrected_samples.shape == (50, 1, 3)
    assert np.all(np.abs(res.corrected[0] - truth) < 0.05)


def test_group_path_matches_row_path_for_linear_methods(shifted):
    proba_l, y_l, proba_u, _ = shifted
    group = np.arange(len(proba_u[:900])) % 3
    by_rows = GroupOutputs.from_rows(proba_u[:900], group)
    res = quantify_groups(PACC(), proba_l, y_l, by_rows, n_boot=50)
    for g in range(3):
        direct = PACC().fit(proba_l, y_l).predict(proba_u[:900][group == g])
        np.testing.assert_allclose(res.corrected[g], direct, atol=1e-9)


@pytest.mark.parametrize(
    ("n", "per_class", "reason"),
    [(30, None, "only 30 labelled posts"), (90, 3, "too few labelled posts of class positive (3)")],
)
def test_too_few_labels_falls_back_to_cc_with_a_reason(shifted, n, per_class, reason):
    proba_l, y_l, proba_u, _ = shifted
    if per_class is None:
        proba, y = proba_l[:n], y_l[:n]
    else:
        keep = np.concatenate([np.flatnonzero(y_l == "negative")[:45], np.flatnonzero(y_l == "neutral")[:42],
                               np.flatnonzero(y_l == "positive")[:per_class]])
        proba, y = proba_l[keep], y_l[keep]
    q = PACC().fit(proba, y)
    assert reason in q.fallback_reason_
    assert q.method_ == "CC"
    np.testing.assert_allclose(q.predict(proba_u), CC().fit(proba, y).predict(proba_u))
    res = quantify_with_interval(PACC(), proba, y, proba_u[:200], n_boot=20)
    assert res.method == "CC" and reason in res.fallback_reason


def test_registry_and_validation():
    assert set(METHODS) == {"CC", "ACC", "PACC", "EMQ"}
    assert DEFAULT_METHOD in CORRECTION_METHODS and CORRECTION_METHODS[0] == DEFAULT_METHOD
    with pytest.raises(ValueError, match="method must be one of"):
        make_quantifier("XYZ")
    with pytest.raises(ValueError, match="labels outside"):
        ACC().fit(np.full((60, 3), 1 / 3), ["bad"] * 60)
    with pytest.raises(ValueError, match="differ in length"):
        ACC().fit(np.full((60, 3), 1 / 3), ["negative"] * 59)
    with pytest.raises(ValueError, match="not fitted"):
        ACC().predict(np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("method", [ACC, PACC])
def test_large_labelled_sets_use_sufficient_statistics_with_the_same_spread(shifted, monkeypatch, method):
    """Above EXACT_LABELLED_LIMIT the labelled side is drawn per class; intervals match the exact path."""
    from analytics.quantify import intervals

    proba_l, y_l, proba_u, _ = shifted
    exact = quantify_with_interval(method(), proba_l, y_l, proba_u[:5000], n_boot=400, random_state=2)
    monkeypatch.setattr(intervals, "EXACT_LABELLED_LIMIT", 0)
    fast = quantify_with_interval(method(), proba_l, y_l, proba_u[:5000], n_boot=400, random_state=2)
    np.testing.assert_allclose(fast.corrected, exact.corrected)
    width = lambda r: r.intervals()[0, :, 1] - r.intervals()[0, :, 0]  # noqa: E731
    np.testing.assert_allclose(width(fast), width(exact), rtol=0.25)


def test_emq_recalibration_rescues_miscalibrated_posteriors(shifted):
    """Posteriors sharpened and tilted towards neutral (a model calibrated elsewhere): plain SLD drifts."""
    proba_l, y_l, proba_u, truth = shifted

    def distort(p):
        q = p**3 * np.array([0.5, 3.0, 1.0])
        return q / q.sum(1, keepdims=True)

    plain = np.abs(EMQ(calibrate=False).fit(distort(proba_l), y_l).predict(distort(proba_u)) - truth).max()
    recal = np.abs(EMQ().fit(distort(proba_l), y_l).predict(distort(proba_u)) - truth).max()
    assert plain > 0.1
    assert recal < 0.04
