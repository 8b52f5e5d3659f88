"""Classification metrics of a sentiment model with 95% bootstrap intervals.

Point values come from scikit-learn. Proportions (accuracy, per-class precision and recall)
have Wilson intervals, valid at any n; every other interval comes from a stratified bootstrap
(:mod:`analytics.core.bootstrap`) evaluated for all resamples at once: each resample is a row
of a multiplicity matrix ``W`` (how often each post was drawn), and every metric is
written on ``W`` — confusion matrices as ``W @ one_hot(true * 3 + pred)``, AUC and average
precision on score groups (ties handled as scikit-learn does), calibration on bins. This
is the one place where metrics are computed outside scikit-learn, because scikit-learn
has no batched API; the tests check each vectorised figure equals scikit-learn's on the
full sample and on single resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)

from analytics.core.bootstrap import DEFAULT_N_BOOT, bootstrap_indices, percentile_interval
from analytics.core.estimate import Estimate, proportion_estimate
from analytics.core.labels import CLASSES, label_codes
from analytics.core.checks import check_labels, check_proba

HEADLINE_METRICS: tuple[str, ...] = (
    "accuracy", "macro_f1", "f1_pn", "macro_recall", "cohen_kappa", "quadratic_kappa", "mcc",
    "roc_auc_macro", "average_precision_macro", "ece", "brier",
)
"""The headline figures, in the order the CLI and the page show them (higher is better except ece, brier)."""

MIN_BOOTSTRAP_N = 30
"""Fewest labelled posts a bootstrap figure (macro-F1, kappa, AUC, ...) is given on.

Below it the percentile bootstrap's 95% interval misses the true figure far more often than
5%: ``benchmarks/small_n.py`` (150 samples per size, a 0.69-accuracy model) measured the
coverage of macro-F1 at 0.21 (n = 5), 0.61 (10), 0.85 (15), 0.87 (20), 0.92 (30), 0.93 (40);
kappa 0.62 / 0.85 / 0.90 / 0.90 / 0.92; ROC AUC 0.51 / 0.72 / 0.83 / 0.90 / 0.86 / 0.93, and a
quarter of the intervals had zero width at n = 5. From 30 on they cover about 0.9 or more.
Below it such a figure is :meth:`Estimate.too_few`; accuracy and per-class precision and
recall, proportions, keep a Wilson interval (:func:`analytics.core.estimate.proportion_interval`),
valid at any n."""

PROPORTIONS = ("accuracy",)
"""Headline figures that are a proportion of posts: a Wilson interval at any n, not the bootstrap."""

N_BINS = 10
K = len(CLASSES)
NEGATIVE, POSITIVE = CLASSES.index("negative"), CLASSES.index("positive")


@dataclass(frozen=True)
class EvaluationResult:
    """Everything measured for one model on one set of labelled posts.

    A bootstrap figure on fewer than :data:`MIN_BOOTSTRAP_N` posts is an :meth:`Estimate.too_few`
    (``--json``: ``value`` null and a ``note``)."""

    n: int
    metrics: dict[str, Estimate]
    per_class: dict[str, dict[str, Estimate | int]]
    confusion: np.ndarray
    samples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, object]:
        """The ``brandlens evaluate --json`` shape of one model (without its name)."""
        return {
            "n": self.n,
            "metrics": {name: self.metrics[name].to_dict() for name in HEADLINE_METRICS},
            "per_class": {
                c: {k: (v.to_dict() if isinstance(v, Estimate) else int(v)) for k, v in stats.items()}
                for c, stats in self.per_class.items()
            },
            "confusion": self.confusion.astype(int).tolist(),
            "min_bootstrap_n": MIN_BOOTSTRAP_N,
        }


# --- point values: scikit-learn --------------------------------------------------------------
def ece_score(y_true: np.ndarray, proba: np.ndarray, *, n_bins: int = N_BINS) -> float:
    """Expected calibration error of the top-class confidence (equal-width bins)."""
    return float(_ece(np.ones((1, len(y_true))), y_true, proba, n_bins=n_bins)[0])


def brier_multiclass(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Mean over posts of the squared distance between the probabilities and the one-hot truth."""
    return float(np.mean(np.sum((proba - np.eye(K)[y_true]) ** 2, axis=1)))


def point_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every headline figure on the full sample, from scikit-learn where it has the metric."""
    y_pred = proba.argmax(axis=1)
    labels = list(range(K))
    present = np.unique(y_true)
    gold = present.tolist()  # macro averages run over the classes the labels have (two-class reviews: two)
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=gold, average="macro", zero_division=0),
        "f1_pn": f1_score(y_true, y_pred, labels=[NEGATIVE, POSITIVE], average="macro", zero_division=0),
        "macro_recall": recall_score(y_true, y_pred, labels=gold, average="macro", zero_division=0),
        "cohen_kappa": cohen_kappa_score(y_true, y_pred, labels=labels),
        "quadratic_kappa": cohen_kappa_score(y_true, y_pred, labels=labels, weights="quadratic"),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "roc_auc_macro": np.mean([roc_auc_score(y_true == k, proba[:, k]) for k in present])
        if len(present) > 1 else float("nan"),
        "average_precision_macro": np.mean([average_precision_score(y_true == k, proba[:, k]) for k in present]),
        "ece": ece_score(y_true, proba),
        "brier": brier_multiclass(y_true, proba),
    }


# --- vectorised over resamples ---------------------------------------------------------------
def multiplicities(indices: np.ndarray, n: int) -> np.ndarray:
    """``W[b, i]``: how many times post ``i`` is in resample ``b`` (float32, shape (B, n))."""
    n_boot = indices.shape[0]
    flat = (indices + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float32)


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def confusion_metrics(confusions: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, F1s, recall, kappas and MCC from confusion matrices of shape (B, K, K)."""
    c = confusions.astype(np.float64)
    n = c.sum(axis=(1, 2))
    diag = np.diagonal(c, axis1=1, axis2=2)
    true_totals, pred_totals = c.sum(axis=2), c.sum(axis=1)
    precision = _safe_divide(diag, pred_totals)
    recall = _safe_divide(diag, true_totals)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    accuracy = diag.sum(axis=1) / n
    expected = np.einsum("bi,bj->bij", true_totals, pred_totals) / n[:, None, None]
    chance = np.einsum("bi,bi->b", true_totals, pred_totals) / n**2
    kappa = _safe_divide(accuracy - chance, 1 - chance)
    grid = np.arange(K)
    weights = (grid[:, None] - grid[None, :]) ** 2 / (K - 1) ** 2
    quadratic = 1 - _safe_divide((weights * c).sum(axis=(1, 2)), (weights * expected).sum(axis=(1, 2)))
    cov_ytyp = diag.sum(axis=1) * n - np.einsum("bi,bi->b", true_totals, pred_totals)
    cov_ypyp = n**2 - np.einsum("bi,bi->b", pred_totals, pred_totals)
    cov_ytyt = n**2 - np.einsum("bi,bi->b", true_totals, true_totals)
    mcc = _safe_divide(cov_ytyp, np.sqrt(cov_ytyt * cov_ypyp))
    # macro averages over the classes each sample's labels have: a class no label has (two-class
    # reviews have no neutral) would add an F1 of 0 and cap macro-F1 at 2/3
    gold = (true_totals > 0).astype(np.float64)
    n_gold = np.maximum(gold.sum(axis=1), 1)
    return {
        "accuracy": accuracy,
        "macro_f1": (f1 * gold).sum(axis=1) / n_gold,
        "f1_pn": f1[:, [NEGATIVE, POSITIVE]].mean(axis=1),
        "macro_recall": (recall * gold).sum(axis=1) / n_gold,
        "cohen_kappa": kappa,
        "quadratic_kappa": quadratic,
        "mcc": mcc,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def _grouped_by_score(weights_t: np.ndarray, scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positives and negatives per distinct score, scores descending: two (U, B) arrays.

    ``weights_t`` is the multiplicity matrix transposed, (n, B): reducing along rows of a
    C-ordered array is what numpy does fast.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    w = weights_t[order]
    is_pos = positive[order][:, None]
    if np.all(sorted_scores[1:] != sorted_scores[:-1]):
        return w * is_pos, w * ~is_pos
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    return np.add.reduceat(w * is_pos, starts, axis=0), np.add.reduceat(w * ~is_pos, starts, axis=0)


def _auc_and_average_precision(weights_t: np.ndarray, scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC and average precision per resample, from one grouping of the scores."""
    pos, neg = _grouped_by_score(weights_t, scores, positive)
    total_pos, total_neg = pos.sum(axis=0), neg.sum(axis=0)
    tp, fp = np.cumsum(pos, axis=0), np.cumsum(neg, axis=0)
    # negatives ranked strictly below each score group, plus half of the tied ones
    wins = (pos * ((total_neg - fp) + 0.5 * neg)).sum(axis=0)
    auc = _safe_divide(wins, total_pos * total_neg)
    average_precision = _safe_divide((pos * _safe_divide(tp, tp + fp)).sum(axis=0), total_pos)
    return auc, average_precision


def _ece(weights: np.ndarray, y_true: np.ndarray, proba: np.ndarray, *, n_bins: int = N_BINS) -> np.ndarray:
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    one_hot = np.eye(n_bins)[bins]
    gap = weights @ (one_hot * correct[:, None]) - weights @ (one_hot * confidence[:, None])
    return np.abs(gap).sum(axis=1) / weights.sum(axis=1)


def resampled_metrics(
    y_true: np.ndarray, proba: np.ndarray, weights: np.ndarray, *, curves: bool = True
) -> dict[str, np.ndarray]:
    """Every headline figure (and per-class precision/recall/F1) for each row of ``weights``.

    With ``curves=False`` the ranking figures (ROC AUC, average precision) are left out.
    """
    y_pred = proba.argmax(axis=1)
    codes = np.eye(K * K, dtype=np.float32)[y_true * K + y_pred]
    confusions = (weights @ codes).reshape(-1, K, K)
    out = confusion_metrics(confusions)
    if curves:
        present = [k for k in range(K) if np.any(y_true == k)]
        weights_t = np.ascontiguousarray(weights.T)
        by_class = [_auc_and_average_precision(weights_t, proba[:, k], y_true == k) for k in present]
        out["roc_auc_macro"] = np.mean([auc for auc, _ in by_class], axis=0)
        out["average_precision_macro"] = np.mean([ap for _, ap in by_class], axis=0)
    out["ece"] = _ece(weights, y_true, proba)
    losses = np.sum((proba - np.eye(K)[y_true]) ** 2, axis=1)
    out["brier"] = (weights @ losses) / weights.sum(axis=1)
    return out


CURVE_N_BOOT = 200
"""Resamples used for the ROC AUC and average-precision intervals (the first ones drawn).

Those two need every resample's full score ranking, about 40x the cost of the confusion
figures; 200 resamples keep 1,000 x 20,000 posts to a few seconds, and their percentile
interval ends moved by under 0.0005 against 1,000 on the benchmark's 20,000 synthetic posts."""


def _resample_in_blocks(
    y_true: np.ndarray, proba: np.ndarray, indices: np.ndarray, block: int = 200
) -> dict[str, np.ndarray]:
    """:func:`resampled_metrics` over blocks of resamples, bounding memory to ``block x n``.

    Ranking figures (AUC, AP) come from the first :data:`CURVE_N_BOOT` resamples only.
    """
    parts = [
        resampled_metrics(y_true, proba, multiplicities(indices[s : s + block], len(y_true)),
                          curves=s < CURVE_N_BOOT)
        for s in range(0, len(indices), block)
    ]
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts if k in p]) for k in keys}


def evaluate_predictions(
    y_true: Sequence[str] | np.ndarray,
    proba: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    min_n: int = MIN_BOOTSTRAP_N,
) -> EvaluationResult:
    """Evaluate probabilities against gold labels, every figure with a 95% interval.

    Accuracy and per-class precision and recall are proportions: Wilson intervals, valid at
    any sample size. Every other figure comes from the stratified bootstrap, and only from
    ``min_n`` labelled posts on (:data:`MIN_BOOTSTRAP_N`); below it those figures are
    :meth:`Estimate.too_few` ("too few labelled posts (n = 3): needs 30") instead of a number.

    Parameters
    ----------
    y_true : sequence of str
        Gold labels in :data:`analytics.core.labels.CLASSES`.
    proba : ndarray of shape (n, 3)
        The model's probabilities, columns in the order of ``CLASSES``.
    n_boot : int, default 1000
        Stratified (by gold class) bootstrap resamples.
    random_state : int or None, default 0
    min_n : int, default :data:`MIN_BOOTSTRAP_N`
        Fewest posts a bootstrap figure is given on.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[.8, .1, .1], [.1, .8, .1], [.1, .1, .8], [.6, .3, .1]])
    >>> r = evaluate_predictions(["negative", "neutral", "positive", "positive"], proba, n_boot=50)
    >>> r.metrics["accuracy"].value, r.confusion.tolist()
    (0.75, [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    >>> r.metrics["macro_f1"].text()
    'too few labelled posts (n = 4): needs 30'
    """
    labels = check_labels("y_true", y_true)
    proba = check_proba("proba", proba, n_rows=len(labels))
    if len(labels) == 0:
        raise ValueError("y_true is empty: there are no labelled posts to evaluate on")
    y = label_codes(labels)
    y_pred = proba.argmax(axis=1)
    enough = len(y) >= min_n
    points: dict[str, float] = {}
    samples: dict[str, np.ndarray] = {}
    if enough:
        points = point_metrics(y, proba)
        indices = bootstrap_indices(len(y), n_boot=n_boot, strata=y, random_state=random_state)
        samples = _resample_in_blocks(y, proba, indices)

    def bootstrapped(value: float, draws: np.ndarray | None) -> Estimate:
        if not enough or draws is None:
            return Estimate.too_few(len(y), min_n)
        return Estimate.bootstrapped(value, percentile_interval(draws))

    metrics = {
        name: proportion_estimate(int((y == y_pred).sum()), len(y)) if name in PROPORTIONS
        else bootstrapped(points.get(name, float("nan")), samples.get(name))
        for name in HEADLINE_METRICS
    }
    precision, recall, f1, support = precision_recall_fscore_support(
        y, y_pred, labels=list(range(K)), zero_division=0
    )
    hits = np.bincount(y[y == y_pred], minlength=K)
    predicted = np.bincount(y_pred, minlength=K)
    per_class = {
        c: {
            "precision": _share(int(hits[k]), int(predicted[k]), f"no post predicted {c}"),
            "recall": _share(int(hits[k]), int(support[k]), f"no labelled {c} post"),
            "f1": bootstrapped(f1[k], samples["f1"][:, k] if enough else None),
            "support": int(support[k]),
        }
        for k, c in enumerate(CLASSES)
    }
    confusion = confusion_matrix(y, proba.argmax(axis=1), labels=list(range(K)))
    return EvaluationResult(len(y), metrics, per_class, confusion, samples)


def _share(hits: int, n: int, undefined: str) -> Estimate:
    """A per-class precision or recall: Wilson interval, or a note when its denominator is 0."""
    if n == 0:
        return Estimate(float("nan"), (float("nan"), float("nan")), undefined)
    return proportion_estimate(hits, n)


@dataclass(frozen=True)
class PairedDifference:
    """Metric of model A minus model B on the same posts, with a paired-bootstrap interval."""

    metric: str
    difference: Estimate
    p_value: float

    def to_dict(self) -> dict[str, object]:
        return {"metric": self.metric, "difference": self.difference.to_dict(),
                "p_value": None if np.isnan(self.p_value) else self.p_value}


def paired_difference(
    y_true: Sequence[str] | np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    *,
    metrics: Sequence[str] = HEADLINE_METRICS,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int | None = 0,
    min_n: int = MIN_BOOTSTRAP_N,
) -> list[PairedDifference]:
    """Paired bootstrap of ``metric(A) - metric(B)``: both models scored on the same resamples.

    The p-value is the two-sided bootstrap share of resamples on the other side of zero.
    Below ``min_n`` posts each difference is :meth:`Estimate.too_few` with a NaN p-value.
    """
    labels = check_labels("y_true", y_true)
    proba_a = check_proba("proba_a", proba_a, n_rows=len(labels))
    proba_b = check_proba("proba_b", proba_b, n_rows=len(labels))
    y = label_codes(labels)
    if len(y) < min_n:
        return [PairedDifference(name, Estimate.too_few(len(y), min_n), float("nan")) for name in metrics]
    indices = bootstrap_indices(len(y), n_boot=n_boot, strata=y, random_state=random_state)
    a, b = _resample_in_blocks(y, proba_a, indices), _resample_in_blocks(y, proba_b, indices)
    pa, pb = point_metrics(y, proba_a), point_metrics(y, proba_b)
    out = []
    for name in metrics:
        diff = a[name] - b[name]
        p = min(1.0, 2 * min(np.mean(diff <= 0), np.mean(diff >= 0)))
        out.append(PairedDifference(name, Estimate.bootstrapped(pa[name] - pb[name], percentile_interval(diff)), float(p)))
    return out

