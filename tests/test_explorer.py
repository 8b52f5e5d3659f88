"""Post explorer: parameterised search, filters, paging, and corrections flowing into gold_labels."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics import store
from analytics.core.errors import BrandLensError
from analytics.brand.explorer import correct_label, correction_history, search_posts

TEXTS = [
    "the app is down again",
    "great service, 100% happy",
    "it's O'Reilly's fault'; DROP TABLE posts; --",
    "wifi_speed is slow",
    "wifi speed fine",
    "neutral words here",
]


@pytest.fixture
def con(workspace):
    c = store.connect(workspace)
    frame = pd.DataFrame({
        "post_id": [f"p{i}" for i in range(len(TEXTS))],
        "brand": ["A", "A", "B", "B", "A", "B"],
        "created_at": [dt.datetime(2024, 1, 1 + i) for i in range(len(TEXTS))],
        "text": TEXTS,
        "gold": ["negative", None, None, "negative", None, None],
        "p": [0.9, 0.6, 0.5, 0.8, 0.7, 0.4],
        "label": ["negative", "positive", "negative", "negative", "positive", "neutral"],
    })
    c.register("_f", frame)
    c.execute("INSERT INTO posts (post_id, source, brand, created_at, text, original_text, ingest_run, gold_label, "
              "gold_origin) SELECT post_id, 's', brand, created_at, text, text, 'r', gold, "
              "CASE WHEN gold IS NOT NULL THEN 'source:x' END FROM _f")
    c.execute("INSERT INTO predictions SELECT post_id, 'm', "
              "CASE label WHEN 'negative' THEN p ELSE (1-p)/2 END, CASE label WHEN 'neutral' THEN p ELSE (1-p)/2 END, "
              "CASE label WHEN 'positive' THEN p ELSE (1-p)/2 END, label, now()::TIMESTAMP FROM _f")
    c.execute("INSERT INTO topics VALUES ('p0', 'aspect', 1), ('p3', 'aspect', 1), ('p4', 'aspect', 2)")
    c.unregister("_f")
    yield c
    c.close()


def ids(result):
    return list(result.rows["post_id"])


def test_search_with_quotes_and_sql_characters_is_literal(con):
    res = search_posts(con, model_id="m", query="O'Reilly's fault';")
    assert ids(res) == ["p2"]
    assert con.execute("SELECT count(*) FROM posts").fetchall()[0][0] == len(TEXTS)  # nothing dropped
    assert ids(search_posts(con, model_id="m", query="100%")) == ["p1"]
    # '_' and '%' match literally, not as wildcards
    assert ids(search_posts(con, model_id="m", query="wifi_speed")) == ["p3"]
    assert search_posts(con, model_id="m", query="%").total == 1


def test_filters_sort_and_pages(con):
    res = search_posts(con, model_id="m", brands=["A"], sort="confidence_desc")
    assert ids(res) == ["p0", "p4", "p1"]
    assert ids(search_posts(con, model_id="m", labels=["negative"], min_confidence=0.7)) == ["p0", "p3"]
    assert ids(search_posts(con, model_id="m", start=dt.datetime(2024, 1, 3), end=dt.datetime(2024, 1, 5),
                            sort="oldest")) == ["p2", "p3"]
    assert ids(search_posts(con, model_id="m", topic=("aspect", 1), sort="newest")) == ["p3", "p0"]
    page2 = search_posts(con, model_id="m", sort="confidence_asc", page=2, page_size=4)
    assert page2.total == 6 and page2.pages == 2 and ids(page2) == ["p3", "p0"]
    with pytest.raises(ValueError, match="sort"):
        search_posts(con, model_id="m", sort="random; DROP TABLE posts")
    with pytest.raises(ValueError, match="labels"):
        search_posts(con, model_id="m", labels=["angry"])


def test_correction_is_stored_never_overwrites_source_and_flows_into_gold_labels(con):
    correct_label(con, "p0", "neutral", origin="explorer:alice")
    assert con.execute("SELECT gold_label FROM posts WHERE post_id = 'p0'").fetchall()[0][0] == "negative"
    assert con.execute("SELECT label, origin FROM gold_labels WHERE post_id = 'p0'").fetchall()[0] == (
        "neutral", "explorer:alice")
    correct_label(con, "p0", "positive", origin="explorer:bob")  # the latest wins
    assert con.execute("SELECT label FROM gold_labels WHERE post_id = 'p0'").fetchall()[0][0] == "positive"
    assert list(correction_history(con, "p0")["label"]) == ["positive", "neutral"]
    # an unlabelled post becomes labelled
    correct_label(con, "p5", "neutral", origin="explorer:alice")
    assert con.execute("SELECT label FROM gold_labels WHERE post_id = 'p5'").fetchall()[0][0] == "neutral"
    assert search_posts(con, model_id="m", query="neutral words").rows.loc[0, "gold"] == "neutral"


def test_correction_flows_into_evaluation(con):
    evaluation = pytest.importorskip("analytics.evaluation")
    before = evaluation.labelled_predictions(con, "m")
    correct_label(con, "p1", "negative", origin="explorer:alice")
    after = evaluation.labelled_predictions(con, "m")
    assert len(after) == len(before) + 1
    assert after.set_index("post_id").loc["p1", "gold"] == "negative"


def test_correction_validates(con):
    with pytest.raises(ValueError, match="label"):
        correct_label(con, "p0", "angry", origin="x")
    with pytest.raises(ValueError, match="origin"):
        correct_label(con, "p0", "neutral", origin=" ")
    with pytest.raises(BrandLensError, match="no post"):
        correct_label(con, "nope", "neutral", origin="x")


# ---------------------------------------------------------------- page (AppTest)

def test_explorer_page_searches_and_stores_a_correction(con, workspace):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    con.close()  # the page opens the workspace itself; one process cannot hold it read-write meanwhile
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "post_explorer.py"),
                           default_timeout=60)
    at.session_state["workspace"] = str(workspace)
    at.session_state["model_id"] = "m"
    at.session_state["our_brand"] = "A"
    at.session_state["competitors"] = ["B"]
    at.run()
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) == len(TEXTS)
    at.text_input[0].set_value("O'Reilly's fault'; DROP").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["post_id"]) == ["p2"]
    # nothing is preset: the label box is empty and Save is disabled until a label is chosen
    assert at.selectbox(key="explorer_label_p2").value is None
    assert next(b for b in at.button if b.label == "Save correction").disabled
    at.selectbox(key="explorer_label_p2").set_value("positive").run()
    save = next(b for b in at.button if b.label == "Save correction")
    save.click().run()
    assert not at.exception
    with store.open_workspace(workspace, read_only=True) as c:  # recorded under who is signed in ('local': sign-in off)
        assert c.execute("SELECT label, origin FROM gold_labels WHERE post_id = 'p2'").fetchall()[0] == (
            "positive", "explorer:local")


def test_explorer_page_uses_drill_down_state(con, workspace):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    con.close()  # the page opens the workspace itself; one process cannot hold it read-write meanwhile
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "post_explorer.py"),
                           default_timeout=60)
    at.session_state["workspace"] = str(workspace)
    at.session_state["model_id"] = "m"
    at.session_state["our_brand"] = "A"
    at.session_state["explorer_brand"] = "B"
    at.session_state["explorer_date"] = (dt.date(2024, 1, 3), dt.date(2024, 1, 4))
    at.run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["post_id"]) == ["p3", "p2"]  # brand B, 3-4 Jan, most confident first
