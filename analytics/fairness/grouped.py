"""Metrics by group of a workspace column with Fairlearn's ``MetricFrame``.

"Selection" for demographic parity is *predicted negative* (the outcome a brand team acts
on). Equalized odds difference is one-vs-rest for the negative class, as Fairlearn's
``equalized_odds_difference`` defines it. Intervals: percentile bootstrap over posts
(:mod:`analytics.core.bootstrap`, seeded), computed for all resamples at once from per-group
confusion counts; the point values come from the per-group confusion matrices that
``MetricFrame`` disaggregates, through the same formulas (tests check both against
scikit-learn's metrics and Fairlearn's parity functions). Groups with fewer
than ``min_group_size`` posts are kept in ``by_group`` with ``too_small = True`` but left out
of ``difference()``, ``ratio()`` and the parity figures (flagged, not ranked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.core.bootstrap import bootstrap_indices, percentile_interval
from analytics.core.errors import BrandLensError
from analytics.core.estimate import Estimate
from analytics.store import GROUP_COLUMNS
from analytics.core.labels import CLASSES, label_codes
from analytics.core.checks import check_labels, check_same_length

METRIC_NAMES = ("accuracy", "macro_f1", *(f"recall_{c}" for c in CLASSES), "share_predicted_negative", "count")
ERR_GROUP_COLUMN = "group column {column!r} is not one of the workspace's group columns {allowed}"


def _confusion(y_true, y_pred) -> np.ndarray:
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(range(len(CLASSES))))


RATE_NAMES = tuple(c for c in METRIC_NAMES if c != "count")
"""The metrics with intervals (every one but ``count``)."""


@dataclass(frozen=True)
class GroupedMetrics:
    """Metrics overall and by group, each an :class:`Estimate`.

    Attributes
    ----------
    overall : dict of metric -> Estimate
    by_group_estimates : dict of group -> metric -> Estimate
    by_group : DataFrame derived from them: groups as rows; each metric with its interval
        columns (:func:`~analytics.core.estimate.interval_columns`), ``count`` and
        ``too_small`` (fewer posts than ``min_group_size``: shown, not ranked)
    demographic_parity_difference, demographic_parity_ratio, equalized_odds_difference : Estimate
    """

    group: str
    overall: dict[str, Estimate]
    by_group_estimates: dict[str, dict[str, Estimate]]
    counts: pd.Series
    demographic_parity_difference: Estimate
    demographic_parity_ratio: Estimate
    equalized_odds_difference: Estimate
    min_group_size: int

    @property
    def by_group(self) -> pd.DataFrame:
        rows = {
            g: {**{k: v for name, e in ests.items() for k, v in e.columns(name).items()},
                "count": float(self.counts[g]), "too_small": bool(self.counts[g] < self.min_group_size)}
            for g, ests in self.by_group_estimates.items()
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = self.group
        return frame

    def _ranked(self) -> pd.DataFrame:
        bg = self.by_group
        return bg.loc[~bg["too_small"], list(RATE_NAMES)]

    def difference(self) -> pd.Series:
        """Max minus min over the groups that are not too small, per metric."""
        r = self._ranked()
        return r.max() - r.min()

    def ratio(self) -> pd.Series:
        """Min over max over the groups that are not too small, per metric."""
        r = self._ranked()
        return r.min() / r.max()

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "min_group_size": self.min_group_size,
            "overall": {**{k: _f(e.value) for k, e in self.overall.items()}, "count": float(self.counts.sum())},
            "overall_ci95": {k: e.to_dict()["ci95"] for k, e in self.overall.items()},
            "by_group": {
                str(g): {
                    **{k: _f(e.value) for k, e in ests.items()},
                    "count": float(self.counts[g]),
                    "small": bool(self.counts[g] < self.min_group_size),  # kept for the JSON interface
                    "too_small": bool(self.counts[g] < self.min_group_size),
                    "ci95": {k: e.to_dict()["ci95"] for k, e in ests.items()},
                }
                for g, ests in self.by_group_estimates.items()
            },
            "difference": {k: _f(v) for k, v in self.difference().items()},
            "ratio": {k: _f(v) for k, v in self.ratio().items()},
            "demographic_parity_difference": self.demographic_parity_difference.to_dict(),
            "demographic_parity_ratio": self.demographic_parity_ratio.to_dict(),
            "equalized_odds_difference": self.equalized_odds_difference.to_dict(),
        }


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _resampled_group_confusions(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray,
                                group_names: list[str], indices: np.ndarray) -> np.ndarray:
    """Confusion matrices per resample and group, shape (B, G, 3, 3), from one bincount."""
    k = len(CLASSES)
    group_index = {name: i for i, name in enumerate(group_names)}
    codes = (np.array([group_index[x] for x in groups]) * k * k
             + label_codes(y_true) * k + label_codes(y_pred))
    cells = len(group_names) * k * k
    flat = (codes[indices] + (np.arange(len(indices)) * cells)[:, None]).ravel()
    return np.bincount(flat, minlength=len(indices) * cells).reshape(len(indices), len(group_names), k, k)


def _rates(confusions: np.ndarray) -> dict[str, np.ndarray]:
    """The bootstrapped metrics of :data:`METRIC_NAMES` from (B, G, 3, 3) confusions, each (B, G).

    Same definitions as :func:`_metrics` (the tests compare them): recall of a class absent
    from a group is NaN, macro-F1 counts it as 0.
    """
    from analytics.evaluation.metrics import confusion_metrics

    b, n_groups = confusions.shape[:2]
    flat = confusions.reshape(b * n_groups, len(CLASSES), len(CLASSES))
    m = confusion_metrics(flat)
    true_totals, total = flat.sum(axis=2), flat.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"accuracy": np.where(total > 0, m["accuracy"], np.nan), "macro_f1": np.where(total > 0, m["macro_f1"], np.nan)}
        for i, c in enumerate(CLASSES):
            out[f"recall_{c}"] = np.where(true_totals[:, i] > 0, m["recall"][:, i], np.nan)
        out["share_predicted_negative"] = flat[:, :, 0].sum(axis=1) / np.where(total > 0, total, np.nan)
    return {key: value.reshape(b, n_groups) for key, value in out.items()}


def _resampled_parity(confusions: np.ndarray) -> np.ndarray:
    """Demographic parity difference and ratio, equalized odds difference (predicted negative), (B, 3)."""
    neg = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        total = confusions.sum(axis=(2, 3))
        selection = confusions[:, :, :, neg].sum(axis=2) / total
        true_neg = confusions[:, :, neg, :].sum(axis=2)
        tpr = confusions[:, :, neg, neg] / true_neg
        fpr = (confusions[:, :, :, neg].sum(axis=2) - confusions[:, :, neg, neg]) / (total - true_neg)
        dpd = np.nanmax(selection, axis=1) - np.nanmin(selection, axis=1)
        dpr = np.nanmin(selection, axis=1) / np.nanmax(selection, axis=1)
        eod = np.fmax(np.nanmax(tpr, axis=1) - np.nanmin(tpr, axis=1), np.nanmax(fpr, axis=1) - np.nanmin(fpr, axis=1))
    return np.column_stack([dpd, dpr, eod])


def grouped_metrics(
    y_true,
    y_pred,
    *,
    groups,
    group_name: str = "group",
    min_group_size: int = 30,
    n_boot: int = 200,
    random_state: int = 0,
) -> GroupedMetrics:
    """Accuracy, macro-F1, recall per class and share predicted negative by group.

    Parameters
    ----------
    y_true, y_pred : array-like of labels in :data:`CLASSES`
    groups : array-like
        Group of each row; missing values become ``"(missing)"``.
    min_group_size : int, default 30
        Smaller groups are flagged (``too_small``) and not ranked.
    n_boot : int, default 200
        Bootstrap resamples for the intervals (0 = none).
    """
    from fairlearn.metrics import MetricFrame

    check_same_length(y_true=y_true, y_pred=y_pred, groups=groups)
    y_true = check_labels("y_true", y_true)
    y_pred = check_labels("y_pred", y_pred)
    if len(y_true) == 0:
        raise ValueError("y_true is empty: no labelled posts")
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be positive, got {min_group_size}")
    g = pd.Series(groups).astype("object").where(pd.notna(pd.Series(groups)), "(missing)").astype(str).to_numpy()
    # One confusion matrix per group from MetricFrame, every metric derived from it with the
    # same code as the bootstrap below (MetricFrame calls each metric once per group, so one
    # metric instead of seven is what keeps a 20,000-post page fast).
    mf = MetricFrame(metrics={"confusion": _confusion}, y_true=label_codes(y_true), y_pred=label_codes(y_pred),
                     sensitive_features=pd.Series(g, name=group_name))
    group_names = [str(x) for x in mf.by_group.index]
    point = np.stack([np.asarray(c) for c in mf.by_group["confusion"]])[None]
    rates = _rates(point)
    overall_rates = _rates(point.sum(axis=1, keepdims=True))
    counts = pd.Series(point[0].sum(axis=(1, 2)).astype(float), index=group_names)
    big_mask = list(counts >= min_group_size)
    point_parity = _resampled_parity(point[:, big_mask])[0] if sum(big_mask) >= 2 else np.full(3, np.nan)

    nan2 = (float("nan"), float("nan"))
    boot_group: dict[str, np.ndarray] = {}
    boot_overall: dict[str, np.ndarray] = {}
    par = np.full((0, 3), np.nan)
    if n_boot:
        indices = bootstrap_indices(len(y_true), n_boot=n_boot, random_state=random_state)
        confusions = _resampled_group_confusions(y_true, y_pred, g, group_names, indices)
        boot_group = _rates(confusions)
        boot_overall = {k: v[:, 0] for k, v in _rates(confusions.sum(axis=1, keepdims=True)).items()}
        if sum(big_mask) >= 2:
            par = _resampled_parity(confusions[:, big_mask])

    def interval(samples: np.ndarray | None) -> tuple[float, float]:
        return percentile_interval(samples) if samples is not None and len(samples) else nan2

    by_group_estimates = {
        name: {k: Estimate(float(rates[k][0, i]), interval(boot_group[k][:, i] if k in boot_group else None))
               for k in RATE_NAMES}
        for i, name in enumerate(group_names)
    }
    overall = {k: Estimate(float(overall_rates[k][0, 0]), interval(boot_overall.get(k))) for k in RATE_NAMES}
    ests = [Estimate(float(point_parity[i]), percentile_interval(par[:, i]) if len(par) else nan2) for i in range(3)]
    return GroupedMetrics(group_name, overall, by_group_estimates, counts, *ests, min_group_size)


def workspace_group_metrics(
    con, *, model_id: str, group: str, min_group_size: int = 30, n_boot: int = 200, random_state: int = 0,
    allowed: tuple[str, ...] = GROUP_COLUMNS + ("brand", "source"),
) -> GroupedMetrics:
    """:func:`grouped_metrics` on the workspace's labelled posts scored by ``model_id``."""
    from analytics.evaluation import labelled_predictions

    if group not in allowed:
        raise BrandLensError(ERR_GROUP_COLUMN.format(column=group, allowed=list(allowed)))
    frame = labelled_predictions(con, model_id)
    if frame.empty:
        raise BrandLensError(f"no labelled posts scored by model {model_id!r} in the workspace")
    return grouped_metrics(frame["gold"], frame["predicted"], groups=frame[group], group_name=group,
                           min_group_size=min_group_size, n_boot=n_boot, random_state=random_state)
