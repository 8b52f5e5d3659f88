"""What mitigation does to a group gap and to accuracy — measured on the workspace's labelled posts.

Two measurements, each on a seeded 50/50 split stratified by group (fit on one half,
measured on the other):

* ``threshold``: Fairlearn ``ThresholdOptimizer`` (constraint ``demographic_parity`` on
  "predicted negative", objective balanced accuracy) over the model's ``p_negative`` as a
  *prefit* estimator. Reported: accuracy of the negative-vs-rest decision and the
  demographic parity difference, before (argmax label) and after.
* ``reweight``: a cheap model — logistic regression on the model's three probabilities
  (log) plus one-hot group — trained without and with sample weights that give every
  group (and class within group) equal total weight. Reported: 3-class accuracy and the
  parity difference of predicted negative on the held-out half. This measures re-weighting
  on a cheap re-trained head, not on the transformer itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from analytics.core.labels import CLASSES


class _ProbaNegative(BaseEstimator, ClassifierMixin):
    """Prefit estimator: column 0 of X is P(negative)."""

    def fit(self, X, y):  # noqa: N803
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):  # noqa: N803
        p = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - p, p])

    def predict(self, X):  # noqa: N803
        return (np.asarray(X, dtype=float)[:, 0] >= 0.5).astype(int)


def _dpd(y_pred_neg, groups) -> float:
    s = pd.Series(y_pred_neg, dtype=float).groupby(np.asarray(groups)).mean()
    return float(s.max() - s.min())


def compare_mitigations(frame: pd.DataFrame, *, group: str, random_state: int = 0) -> pd.DataFrame:
    """Table ``method, accuracy, parity_difference, n_test`` (see module docstring for what is measured).

    ``frame`` needs ``gold``, ``p_negative``, ``p_neutral``, ``p_positive`` and ``group``
    (e.g. :func:`analytics.evaluation.labelled_predictions`).
    """
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    need = ["gold", "p_negative", "p_neutral", "p_positive", group]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}")
    f = frame.dropna(subset=["gold"]).copy()
    f[group] = f[group].fillna("(missing)").astype(str)
    counts = f[group].value_counts()
    f = f[f[group].isin(counts[counts >= 10].index)]
    if f[group].nunique() < 2:
        raise ValueError(f"need at least two groups of {group!r} with 10 labelled posts")
    train, test = train_test_split(f, test_size=0.5, random_state=random_state, stratify=f[group])
    P = ["p_negative", "p_neutral", "p_positive"]
    rows = []
    y_neg_test = (test["gold"] == "negative").to_numpy(int)
    base_neg = (test[P].to_numpy().argmax(1) == 0).astype(int)
    rows.append(("model as is (negative vs rest)", float((base_neg == y_neg_test).mean()),
                 _dpd(base_neg, test[group])))
    to = ThresholdOptimizer(estimator=_ProbaNegative().fit(None, None), constraints="demographic_parity",
                            objective="balanced_accuracy_score", prefit=True, predict_method="predict_proba")
    to.fit(train[["p_negative"]].to_numpy(), (train["gold"] == "negative").to_numpy(int),
           sensitive_features=train[group].to_numpy())
    th = to.predict(test[["p_negative"]].to_numpy(), sensitive_features=test[group].to_numpy(),
                    random_state=random_state)
    rows.append(("per-group threshold (ThresholdOptimizer, negative vs rest)",
                 float((th == y_neg_test).mean()), _dpd(th, test[group])))

    def features(d):
        return np.hstack([np.log(np.clip(d[P].to_numpy(float), 1e-6, 1)), pd.get_dummies(d[group]).reindex(
            columns=sorted(f[group].unique()), fill_value=0).to_numpy(float)])

    y_tr = train["gold"].to_numpy()
    key = train[group] + "|" + train["gold"]
    w = np.array(1.0 / key.map(key.value_counts()).to_numpy(float))
    w *= len(w) / w.sum()
    for name, weights in (("head re-trained, unweighted (3-class)", None),
                          ("head re-trained, group x class re-weighted (3-class)", w)):
        clf = LogisticRegression(max_iter=1000).fit(features(train), y_tr, sample_weight=weights)
        pred = clf.predict(features(test))
        rows.append((name, float((pred == test["gold"].to_numpy()).mean()),
                     _dpd(pred == CLASSES[0], test[group])))
    out = pd.DataFrame(rows, columns=["method", "accuracy", "parity_difference"])
    out["n_test"] = len(test)
    return out
