"""Our quantifiers against QuaPy's ACC, PACC and EMQ (SLD) on the same classifier outputs.

QuaPy (Moreo, Esuli, Sebastiani) is the reference implementation of these methods. Both
sides get the same posteriors and labels: QuaPy's aggregation step is called directly on
them (``aggregation_fit`` / ``aggregate``), so only the quantification arithmetic is compared.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.core.labels import CLASSES
from analytics.quantify import ACC, EMQ, PACC
from analytics.quantify.aggregative import sld_em

qp_aggregative = pytest.importorskip("quapy.method.aggregative", reason="QuaPy is not installed (test extras)")


def _Classes():
    """A fitted scikit-learn estimator over the three class indices: QuaPy reads its ``classes_`` only.

    The posteriors come from our side; QuaPy's ``aggregation_fit``/``aggregate`` never call it.
    """
    from sklearn.dummy import DummyClassifier

    return DummyClassifier().fit(np.zeros((3, 1)), np.arange(len(CLASSES)))


def _outputs(seed: int, n_labelled: int = 600, n_unlabelled: int = 3000, shift=(0.6, 0.25, 0.15)):
    """Posteriors of a noisy classifier on a labelled sample and on a prior-shifted unlabelled set."""
    rng = np.random.default_rng(seed)

    def draw(n, prior):
        y = rng.choice(3, size=n, p=prior)
        logits = rng.normal(0, 1.0, (n, 3))
        logits[np.arange(n), y] += 1.6
        p = np.exp(logits)
        return y, p / p.sum(1, keepdims=True)

    y_l, p_l = draw(n_labelled, (0.3, 0.4, 0.3))
    y_u, p_u = draw(n_unlabelled, shift)
    return y_l, p_l, y_u, p_u


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_acc_equals_quapy_acc(seed: int) -> None:
    y_l, p_l, _, p_u = _outputs(seed)
    ours = ACC().fit(p_l, np.array(CLASSES)[y_l]).predict(p_u)
    ref = qp_aggregative.ACC(_Classes(), fit_classifier=False, solver="minimize")
    ref.aggregation_fit(p_l.argmax(1), y_l)
    np.testing.assert_allclose(ours, ref.aggregate(p_u.argmax(1)), atol=2e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pacc_equals_quapy_pacc(seed: int) -> None:
    y_l, p_l, _, p_u = _outputs(seed)
    ours = PACC().fit(p_l, np.array(CLASSES)[y_l]).predict(p_u)
    ref = qp_aggregative.PACC(_Classes(), fit_classifier=False, solver="minimize")
    ref.aggregation_fit(p_l, y_l)
    np.testing.assert_allclose(ours, ref.aggregate(p_u), atol=2e-4)


def test_acc_and_pacc_clip_to_the_simplex_like_quapy() -> None:
    """A shift so strong that the unconstrained solution leaves the simplex: both project onto it."""
    y_l, p_l, _, p_u = _outputs(3, shift=(0.97, 0.02, 0.01))
    for ours_cls, ref_cls, crisp in ((ACC, qp_aggregative.ACC, True), (PACC, qp_aggregative.PACC, False)):
        ours = ours_cls().fit(p_l, np.array(CLASSES)[y_l]).predict(p_u)
        ref = ref_cls(_Classes(), fit_classifier=False, solver="minimize")
        ref.aggregation_fit(p_l.argmax(1) if crisp else p_l, y_l)
        expected = ref.aggregate(p_u.argmax(1) if crisp else p_u)
        assert ours.min() >= 0 and ours.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(ours, expected, atol=2e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_sld_em_equals_quapy_emq(seed: int) -> None:
    y_l, p_l, _, p_u = _outputs(seed)
    train_prior = np.bincount(y_l, minlength=3) / len(y_l)
    ours = sld_em(p_u, train_prior, tol=1e-10, max_iter=10_000)
    ref, _ = qp_aggregative.EMQ.EM(train_prior, p_u, epsilon=1e-10)
    np.testing.assert_allclose(np.ravel(ours), ref, atol=1e-6)
    # and the quantifier without recalibration is exactly that EM, with the labelled mix as prior
    emq = EMQ(calibrate=False).fit(p_l, np.array(CLASSES)[y_l]).predict(p_u)
    np.testing.assert_allclose(emq, ref, atol=1e-3)


def test_corrected_estimates_beat_classify_and_count_under_shift() -> None:
    """The point of the correction: under prior shift ACC/PACC/EMQ land nearer the truth than CC (and QuaPy agrees)."""
    y_l, p_l, y_u, p_u = _outputs(7)
    truth = np.bincount(y_u, minlength=3) / len(y_u)
    cc_error = np.abs(np.bincount(p_u.argmax(1), minlength=3) / len(p_u) - truth).sum()
    for quantifier in (ACC(), PACC(), EMQ()):
        estimate = quantifier.fit(p_l, np.array(CLASSES)[y_l]).predict(p_u)
        assert np.abs(estimate - truth).sum() < cc_error
