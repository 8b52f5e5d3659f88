"""Aggregative quantifiers: classify and count, its adjusted variants, and EM prior adjustment.

- :class:`CC` -- classify and count: the share of posts the model puts in each class.
- :class:`ACC` -- adjusted classify and count (Forman 2008): CC corrected by the
  misclassification rates measured on labelled posts.
- :class:`PACC` -- probabilistic ACC (Bella et al. 2010): the same on mean posteriors.
- :class:`EMQ` -- the EM prior adjustment of Saerens, Latinne and Decaestecker (2002).
"""

from __future__ import annotations

import numpy as np

from analytics.quantify.base import (
    N_CLASSES,
    AggregativeQuantifier,
    conditional_means,
    simplex_lstsq,
)


class CC(AggregativeQuantifier):
    """Classify and count: the share of posts whose most probable class is each class.

    Biased whenever the classifier errs and the class mix differs from the one it was
    tuned on; the "raw" figure every page shows beside the corrected one.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    >>> CC().fit(np.empty((0, 3)), []).predict(proba).tolist()
    [0.5, 0.25, 0.25]
    """

    name = "CC"
    title = "Classify and count (raw)"
    needs_labels = False

    def aggregation_fit(self, outputs: np.ndarray, y: np.ndarray) -> None:
        return None

    def aggregate(self, outputs: np.ndarray) -> np.ndarray:
        return outputs.mean(axis=0)


class ACC(CC):
    """Adjusted classify and count: solve ``M p = q`` on the simplex.

    ``M[i, j]`` is the rate at which posts of true class ``j`` are predicted ``i``,
    measured on the labelled posts; ``q`` is CC on the unlabelled posts. Solved as a
    constrained least-squares problem (:func:`~analytics.quantify.base.simplex_lstsq`),
    never by inverting ``M``.
    """

    name = "ACC"
    title = "Adjusted classify and count"
    needs_labels = True

    def aggregation_fit(self, outputs: np.ndarray, y: np.ndarray) -> None:
        self.misclassification_ = conditional_means(outputs, y)

    def aggregate(self, outputs: np.ndarray) -> np.ndarray:
        return simplex_lstsq(self.misclassification_, super().aggregate(outputs))


class PACC(ACC):
    """Probabilistic ACC: ACC on mean posterior probabilities instead of counts of predicted classes.

    Uses every post's full probability vector, so its estimate varies less than ACC's
    for the same labelled sample.
    """

    name = "PACC"
    title = "Probabilistic adjusted classify and count"
    probabilistic = True


def sld_em(
    proba: np.ndarray,
    train_prior: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 1e-5,
) -> np.ndarray:
    """EM prior adjustment (Saerens, Latinne and Decaestecker 2002), batched.

    Re-weights every posterior by the ratio of the current prevalence estimate to the
    training prior, renormalises, and re-estimates the prevalence as the (weighted) mean
    posterior, until the estimate moves less than ``tol``.

    Parameters
    ----------
    proba : ndarray of shape (m, 3)
        Posteriors (or distinct posteriors when ``weights`` count them).
    train_prior : ndarray of shape (..., 3)
        Class prevalences of the posts the posteriors are calibrated to.
    weights : ndarray of shape (..., m), optional
        How many times each row counts (bootstrap counts, binned rows).
    Returns
    -------
    ndarray of shape (broadcast batch, 3)
    """
    proba = np.asarray(proba, dtype=float)
    train_prior = np.clip(np.asarray(train_prior, dtype=float), 1e-12, None)
    w = np.ones(proba.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    total = w.sum(axis=-1, keepdims=True)
    batch = np.broadcast_shapes(train_prior.shape[:-1], w.shape[:-1])
    prior = np.broadcast_to(np.einsum("...m,mk->...k", w, proba) / total, batch + (N_CLASSES,)).copy()
    for _ in range(max_iter):
        ratio = prior / np.broadcast_to(train_prior, batch + (N_CLASSES,))
        post = proba * ratio[..., None, :]  # (..., m, 3)
        post /= post.sum(axis=-1, keepdims=True)
        new = np.einsum("...m,...mk->...k", np.broadcast_to(w, batch + w.shape[-1:]), post) / total
        moved = np.max(np.abs(new - prior))
        prior = new
        if moved < tol:
            break
    return prior


class EMQ(AggregativeQuantifier):
    """EM prior adjustment (SLD) on recalibrated posteriors.

    SLD assumes the posteriors are calibrated to a known training prior. A sentiment model
    trained elsewhere (SemEval tweets, a lexicon) is not calibrated to the workspace's
    labelled posts, and plain SLD then drifts far off (on the airline check it pushed the
    negative share towards 0). So the posteriors are first recalibrated on the labelled
    posts -- a multinomial logistic regression on their logarithms (vector scaling with
    bias, as recommended by Alexandari, Kundaje and Shrikumar 2020) -- and the training
    prior is the mean recalibrated posterior of the labelled posts. ``calibrate=False``
    gives plain SLD with the labelled class mix as training prior.
    """

    name = "EMQ"
    title = "EM prior adjustment (Saerens-Latinne-Decaestecker), recalibrated"
    probabilistic = True
    linear = False

    def __init__(self, *, calibrate: bool = True) -> None:
        self.calibrate = calibrate

    def aggregation_fit(self, outputs: np.ndarray, y: np.ndarray) -> None:
        if self.calibrate:
            from sklearn.linear_model import LogisticRegression

            self.calibrator_ = LogisticRegression(max_iter=1000).fit(_logit_features(outputs), y)
            self.train_prior_ = self.calibrated(outputs).mean(axis=0)
        else:
            self.train_prior_ = np.bincount(y, minlength=N_CLASSES) / len(y)

    def calibrated(self, outputs: np.ndarray) -> np.ndarray:
        """Posteriors recalibrated on the labelled posts (unchanged with ``calibrate=False``)."""
        if not self.calibrate:
            return outputs
        return self.calibrator_.predict_proba(_logit_features(outputs))

    def aggregate(self, outputs: np.ndarray) -> np.ndarray:
        return sld_em(self.calibrated(outputs), self.train_prior_)


def _logit_features(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(proba, 1e-6, None))
