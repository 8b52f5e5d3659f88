"""Explanations: SHAP additivity on a tiny model, escaped HTML, cache, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.explain.html import explanation_html, token_html
from analytics.explain.shap_text import TextExplanation, explain_texts
from analytics.core.labels import CLASSES

WEIGHTS = {"love": 2.0, "great": 1.5, "terrible": -2.0, "late": -1.0, "not": -0.5}


class BagOfWords:
    """Tiny deterministic model: softmax over word weights."""

    model_id = "bow"
    classes_ = CLASSES

    def predict_proba(self, texts):
        out = []
        for t in texts:
            s = sum(WEIGHTS.get(w.strip(".,!?").lower(), 0.0) for w in t.split())
            logits = np.array([-s, 0.2, s])
            e = np.exp(logits - logits.max())
            out.append(e / e.sum())
        return np.array(out)


@pytest.fixture(scope="module")
def explanations():
    texts = ["I love this great phone", "the flight was late and terrible <script>alert(1)</script>"]
    return texts, explain_texts(BagOfWords(), texts, max_evals=200)


def test_additivity(explanations):
    texts, exps = explanations
    model = BagOfWords()
    for text, e in zip(texts, exps):
        assert e.values.shape == (len(e.tokens), 3)
        np.testing.assert_allclose(e.base_values + e.values.sum(axis=0), model.predict_proba([text])[0], atol=1e-6)
        np.testing.assert_allclose(e.probabilities, model.predict_proba([text])[0])


def test_attribution_direction(explanations):
    _, exps = explanations
    e = exps[0]
    pos = CLASSES.index("positive")
    love = [i for i, t in enumerate(e.tokens) if t.strip() == "love"][0]
    this = [i for i, t in enumerate(e.tokens) if t.strip() == "this"][0]
    assert e.values[love, pos] > 0.05 > abs(e.values[this, pos])


def test_script_post_shows_as_text(explanations):
    _, exps = explanations
    html = explanation_html(exps[1], target="negative")
    assert "<script" not in html and "</script" not in html and "&lt;" in html
    assert "&lt;script&gt;" in token_html(["<script>"], [1.0])
    assert "<b>" not in token_html(["<b>bold</b>", '" onmouseover="x'], [1.0, -1.0])
    assert 'onmouseover="x' not in token_html(['" onmouseover="x'], [1.0])


def test_round_trip_dict(explanations):
    _, exps = explanations
    back = TextExplanation.from_dict(exps[0].to_dict())
    np.testing.assert_allclose(back.values, exps[0].values)
    assert back.tokens == exps[0].tokens and back.predicted == "positive"


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        explain_texts(BagOfWords(), "one string")
    with pytest.raises(ValueError):
        explain_texts(BagOfWords(), ["ok"], algorithm="auto")
    with pytest.raises(ValueError):
        explain_texts(BagOfWords(), [""])


def test_cache_stores_and_reuses(workspace):
    from analytics import store
    from analytics.explain.cache import cached_explanation

    with store.open_workspace(workspace) as con:
        e1, hit1 = cached_explanation(con, BagOfWords(), "love it", post_id="p1", max_evals=50)
        e2, hit2 = cached_explanation(con, BagOfWords(), "love it", post_id="p1", max_evals=50)
        _, hit3 = cached_explanation(con, BagOfWords(), "love it", post_id="p1", max_evals=60)
        n = con.execute("SELECT count(*) FROM explanations").fetchall()[0][0]
    assert (hit1, hit2, hit3) == (False, True, False) and n == 2
    np.testing.assert_allclose(e1.values, e2.values)


def test_vader_lexicon_explanation():
    from analytics.explain.vader import vader_contributions

    frame = vader_contributions("The service was not good <script>")
    assert list(frame.columns) == ["token", "valence"]
    assert frame.loc[frame["token"] == "good", "valence"].iloc[0] < 0
