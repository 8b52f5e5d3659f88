"""Topics: aspects beside discovered complaint/general topics, the demo's planted crisis found, labels without
handles/links/brands, incremental assignment equal to a full one, the Topics page."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.brand.topics import (
    ASPECT_METHOD,
    COMPLAINT_METHOD,
    GENERAL_METHOD,
    assign_new_posts,
    aspect_topics,
    build_topics,
    discover_topics,
    fastest_growing,
    stored_assigner,
    topic_builds,
    topic_keywords,
    topic_overview,
    topic_sentiment_by_brand,
)



def tfidf_svd_embed(corpus):
    """A cheap embedding for tests: TF-IDF fitted on the whole corpus, reduced by SVD."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    vec = TfidfVectorizer(stop_words="english", min_df=2).fit(corpus)
    n_components = min(40, len(vec.vocabulary_) - 1)
    svd = TruncatedSVD(n_components=n_components, random_state=0).fit(vec.transform(corpus))

    def embed(texts):
        return normalize(svd.transform(vec.transform(texts)))

    return embed


def add_true_predictions(con, model_id="truth"):
    """Predictions equal to the demo's true labels (no model needed)."""
    con.execute(
        """
        INSERT INTO predictions
        SELECT post_id, ?, (lbl = 'negative')::DOUBLE, (lbl = 'neutral')::DOUBLE, (lbl = 'positive')::DOUBLE,
               lbl, now()::TIMESTAMP
        FROM (SELECT post_id, extra->>'true_label' AS lbl FROM posts)
        """,
        [model_id],
    )


@pytest.fixture(scope="module")
def demo_con(tmp_path_factory):
    """A 4,000-post demo workspace with true-label predictions and discovered topics, opened read-only
    (the pages under test open their own read-only connections beside it)."""
    pytest.importorskip("analytics.demo")
    import duckdb

    from analytics.demo import generate_demo

    path = tmp_path_factory.mktemp("topics") / "demo.duckdb"
    with store.open_workspace(path) as con:
        generate_demo(con, seed=7, n_posts=4000)
        add_true_predictions(con)
        corpus = [r[0] for r in con.execute("SELECT text FROM posts").fetchall()]
        build_topics(con, embed=tfidf_svd_embed(corpus), model_id="truth", n_topics=8, sample=2000, random_state=0)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_complaint_topics_find_the_planted_crisis(demo_con):
    truth = json.loads(store.get_setting(demo_con, "demo_truth"))
    crisis_words = {w.lower() for w in truth["keywords"]}
    labels = demo_con.execute(
        "SELECT topic_id, keywords::VARCHAR FROM topic_labels WHERE method = ?", [COMPLAINT_METHOD]
    ).fetchall()
    overlap = {tid: len(crisis_words & set(json.loads(kw))) for tid, kw in labels}
    crisis_topic = max(overlap, key=overlap.get)
    assert overlap[crisis_topic] >= 2, overlap
    start = dt.datetime.fromisoformat(truth["start"])
    end = dt.datetime.fromisoformat(truth["end"]) + dt.timedelta(days=1)
    in_window, brand_share, all_in_window, all_brand_share = demo_con.execute(
        """
        SELECT avg((p.created_at >= ? AND p.created_at < ?)::INT) FILTER (WHERE t.topic_id = ?),
               avg((p.brand = ?)::INT) FILTER (WHERE t.topic_id = ?),
               avg((p.created_at >= ? AND p.created_at < ?)::INT), avg((p.brand = ?)::INT)
        FROM topics t JOIN posts p USING (post_id) WHERE t.method = ?
        """,
        [start, end, crisis_topic, truth["brand"], crisis_topic, start, end, truth["brand"], COMPLAINT_METHOD],
    ).fetchall()[0]
    # the crisis covers 5 of 90 days: its topic is concentrated there — posts per day inside the
    # window at least 3x those outside, and twice the window's share of all posts
    days_in = (end - start).days
    days_out = 90 - days_in
    assert (in_window / days_in) >= 3 * ((1 - in_window) / days_out), in_window
    assert in_window >= 2 * all_in_window, (in_window, all_in_window)
    assert brand_share > all_brand_share  # and it leans to the brand in crisis


def test_every_post_gets_one_topic_and_overview_adds_up(demo_con):
    n_posts = demo_con.execute("SELECT count(*) FROM posts").fetchall()[0][0]
    n_topics = demo_con.execute("SELECT count(*) FROM topics WHERE method = ?", [GENERAL_METHOD]).fetchall()[0][0]
    assert n_topics == n_posts
    overview = topic_overview(demo_con, method=GENERAL_METHOD, model_id="truth")
    assert overview["posts"].sum() == n_posts
    assert np.allclose(overview[["negative", "neutral", "positive"]].sum(axis=1), 1.0)
    by_brand = topic_sentiment_by_brand(demo_con, method=GENERAL_METHOD, model_id="truth")
    assert by_brand["posts"].sum() == n_posts


def test_crisis_topic_grows_fastest_during_the_crisis(demo_con):
    truth = json.loads(store.get_setting(demo_con, "demo_truth"))
    crisis_words = {w.lower() for w in truth["keywords"]}
    as_of = dt.datetime.fromisoformat(truth["end"]) + dt.timedelta(days=1)
    growth = fastest_growing(demo_con, method=COMPLAINT_METHOD, period_days=5, as_of=as_of)
    top = growth.iloc[0]
    keywords = set(json.loads(demo_con.execute(
        "SELECT keywords::VARCHAR FROM topic_labels WHERE method = ? AND topic_id = ?",
        [COMPLAINT_METHOD, int(top["topic_id"])]).fetchall()[0][0]))
    assert crisis_words & keywords
    assert top["current"] > top["previous"]


def test_aspects_are_used_when_the_source_has_them(workspace):
    con = store.connect(workspace)
    con.execute(
        """
        INSERT INTO posts (post_id, source, text, original_text, ingest_run, aspect, brand, created_at)
        SELECT 'p' || i, 's', CASE WHEN i % 2 = 0 THEN 'late flight delayed again' ELSE 'lost my bag luggage' END,
               '', 'r', CASE WHEN i % 2 = 0 THEN 'Late Flight' ELSE 'Lost Luggage' END, 'Air', TIMESTAMP '2024-01-01'
        FROM range(10) t(i)
        """
    )
    summary = build_topics(con, embed=lambda texts: pytest.fail("embedding must not run when aspects exist"))
    assert summary.method == ASPECT_METHOD and summary.n_topics == 2
    labels = dict(con.execute("SELECT label, keywords::VARCHAR FROM topic_labels WHERE method = 'aspect'").fetchall())
    assert set(labels) == {"late flight", "lost luggage"}
    assert "delayed" in json.loads(labels["late flight"])
    con.close()


def test_topics_command_builds_aspect_topics_and_reports_json(workspace, capsys):
    from analytics.cli import main

    con = store.connect(workspace)
    con.execute(
        """
        INSERT INTO posts (post_id, source, text, original_text, ingest_run, aspect, brand, created_at)
        SELECT 'p' || i, 's', 'text ' || i, '', 'r', CASE WHEN i % 3 = 0 THEN 'Price' ELSE 'Staff' END, 'Air',
               TIMESTAMP '2024-01-01'
        FROM range(9) t(i)
        """
    )
    con.close()
    assert main(["topics", "--workspace", str(workspace), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["method"] == ASPECT_METHOD and payload["n_topics"] == 2 and payload["n_posts"] == 9
    assert [b["method"] for b in payload["builds"]] == [ASPECT_METHOD]  # every post has an aspect: nothing to discover
    con = store.connect(workspace)
    assert con.execute("SELECT count(DISTINCT post_id) FROM topics").fetchall()[0][0] == 9
    con.close()


def test_topics_command_says_what_is_missing(tmp_path, capsys):
    from analytics.cli import main

    assert main(["topics", "--workspace", str(tmp_path / "absent.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().err
    store.connect(tmp_path / "empty.duckdb").close()
    assert main(["topics", "--workspace", str(tmp_path / "empty.duckdb")]) == 2
    assert "no posts" in capsys.readouterr().err


def test_aspect_topics_refuse_without_aspects(workspace):
    from analytics.core.errors import BrandLensError

    con = store.connect(workspace)
    with pytest.raises(BrandLensError, match="aspect"):
        aspect_topics(con)
    con.close()


def test_ctfidf_keywords_distinguish_topics():
    kw = topic_keywords(["refund money back", "refund please money", "wifi slow internet", "internet down wifi"],
                        [0, 0, 1, 1])
    assert set(kw[0][:2]) == {"refund", "money"}
    assert set(kw[1][:2]) == {"wifi", "internet"}


def test_brand_names_and_handles_are_not_topic_keywords(workspace):
    from analytics.brand.topics import brand_words

    con = store.connect(workspace)
    con.execute(
        """
        INSERT INTO posts (post_id, source, text, original_text, ingest_run, brand, created_at)
        VALUES ('a', 's', 'x', '', 'r', 'Pulse Connect', TIMESTAMP '2024-01-01'),
               ('b', 's', 'y', '', 'r', 'Acme', TIMESTAMP '2024-01-01')
        """
    )
    words = brand_words(con)
    con.close()
    assert words == ["acme", "connect", "pulse", "pulseconnect"]
    texts = ["@PulseConnect refund money back pulseconnect", "refund please money PulseConnect",
             "acme wifi slow internet", "internet down wifi Acme acme"]
    assert "pulseconnect" in topic_keywords(texts, [0, 0, 1, 1])[0]  # the handle typed plain, without the list
    kw = topic_keywords(texts, [0, 0, 1, 1], exclude=words)
    assert set(kw[0][:2]) == {"refund", "money"} and set(kw[1][:2]) == {"wifi", "internet"}
    assert not set(words) & {w for v in kw.values() for w in v}


def test_discover_validates_arguments():
    with pytest.raises(ValueError, match="n_topics"):
        discover_topics(["a b", "c d", "e f", "g h"], embed=lambda t: np.zeros((len(t), 2)), n_topics=1)
    with pytest.raises(ValueError, match="too few"):
        discover_topics(["a b", "c d"], embed=lambda t: np.zeros((len(t), 2)))


def test_real_encoder_on_a_small_sample(tmp_path):
    """MiniLM embeddings separate an outage topic from a food topic (skips when the encoder is absent)."""
    encoder = pytest.importorskip("analytics.models.encoder")
    try:
        encoder.embed_texts(["warm up"])
    except Exception as exc:  # encoder package not installed here
        pytest.skip(f"MiniLM encoder unavailable: {exc}")
    outage = ["the app is down again, total outage", "app keeps crashing on login", "cannot log in, error 503",
              "login broken since the update, app crashing", "is the app down for everyone, constant error"]
    food = ["the sandwich was delicious", "great coffee and tasty pastries", "the soup was cold and bland",
            "loved the pizza here", "the salad was fresh and tasty"]
    found = discover_topics(outage + food, n_topics=2, sample=10)  # the shipped encoder, ONNX Runtime int8
    assert len(set(found.labels[:5])) == 1 and len(set(found.labels[5:])) == 1
    assert found.labels[0] != found.labels[5]
    assert all(name for name in found.names.values())


# ---------------------------------------------------------------- page (AppTest)

def _topics_page(path, **state):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "topics.py"), default_timeout=120)
    at.session_state["workspace"] = str(path)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_topics_page_renders_stored_topics(demo_con, tmp_path):
    path = demo_con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchall()[0][0]
    at = _topics_page(path, model_id="truth")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) >= 4 and {"label", "keywords", "posts"} <= set(table.columns)
    assert len(at.get("plotly_chart")) == 3
    assert len(at.caption) >= 3


def test_topics_page_builds_aspect_topics_on_click(workspace):
    con = store.connect(workspace)
    con.execute(
        """
        INSERT INTO posts (post_id, source, text, original_text, ingest_run, aspect, brand, created_at)
        SELECT 'p' || i, 's', 'late flight delayed ' || i, '', 'r', 'Late Flight', 'Air',
               TIMESTAMP '2024-01-01' + INTERVAL (i) DAY FROM range(20) t(i)
        """
    )
    con.execute("INSERT INTO predictions SELECT post_id, 'm', 1.0, 0.0, 0.0, 'negative', now()::TIMESTAMP FROM posts")
    con.close()
    at = _topics_page(workspace, model_id="m")
    assert not at.exception
    assert any("No topics stored" in i.value for i in at.info)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert "Stored 1 topics (aspect)" in at.success[0].value
    # the page drew what it built, in the same click (not "no topics stored yet" until a reload)
    assert not any("No topics stored" in i.value for i in at.info)
    assert at.get("plotly_chart")


def test_topic_chart_builders(demo_con):
    from analytics.figures.topics import topic_brand_heatmap, topic_growth_bars, topic_sentiment_bars

    overview = topic_overview(demo_con, method=GENERAL_METHOD, model_id="truth")
    fig = topic_sentiment_bars(overview)
    assert [t.name for t in fig.data] == ["negative", "neutral", "positive"]
    assert np.isclose(sum(float(np.sum(t.x)) for t in fig.data), overview["posts"].sum())
    heat = topic_brand_heatmap(topic_sentiment_by_brand(demo_con, method=GENERAL_METHOD, model_id="truth"))
    assert heat.data[0].z.shape[0] == len(overview)
    growth = fastest_growing(demo_con, method=GENERAL_METHOD)
    bars = topic_growth_bars(growth, top=3)
    assert len(bars.data[0].y) == min(3, len(growth))
    assert topic_sentiment_bars(overview.iloc[:0]).layout.annotations  # empty selection says so
    complaints = topic_sentiment_by_brand(demo_con, method=COMPLAINT_METHOD, model_id="truth")
    spread = topic_brand_heatmap(complaints, value="share").data[0].z
    assert np.allclose(np.nansum(spread, axis=0), 1.0)  # each brand's complaints over the topics


# ---------------------------------------------------------------- issue 16: labels, incremental, mixed, page

HANDLE_TEXTS = {
    "refund": ["@AcmeAir where is my refund, still no money back https://t.co/abc", "AcmeAir refund please, money owed",
               "#AcmeAir refund money refund", "@PulseConnect refund refund money back", "acmeair my refund never came"],
    "wifi": ["@PulseConnect the wifi is slow again www.pulse.example", "PulseConnect wifi down internet down",
             "wifi slow, internet slow #PulseConnect", "@AcmeAir wifi internet dead on board", "pulseconnect wifi broken"],
    "seat": ["@AcmeAir my seat was broken http://x.example/1", "seat broken, legroom tiny AcmeAir",
             "the seat recline broken #fail @PulseConnect", "seat legroom awful pulse connect", "acme air seat cramped"],
}


def _insert(con, rows, *, source="s", negative=True, model_id="m", aspect=None):
    frame = pd.DataFrame(rows, columns=["post_id", "text"])
    frame["brand"] = ["Acme Air" if i % 2 else "Pulse Connect" for i in range(len(frame))]
    con.register("_rows", frame)
    con.execute(
        "INSERT INTO posts (post_id, source, text, original_text, ingest_run, brand, aspect, created_at) "
        "SELECT post_id, ?, text, text, 'r', brand, ?, TIMESTAMP '2024-01-01' + INTERVAL (row_number() OVER ()) HOUR "
        "FROM _rows", [source, aspect])
    label = "negative" if negative else "positive"
    con.execute("INSERT INTO predictions SELECT post_id, ?, 1.0, 0.0, 0.0, ?, now()::TIMESTAMP FROM _rows",
                [model_id, label])
    con.unregister("_rows")


def _handle_posts(prefix="h", repeat=4):
    return [(f"{prefix}{topic}{r}{i}", text) for topic, texts in HANDLE_TEXTS.items()
            for r in range(repeat) for i, text in enumerate(texts)]


def test_topic_labels_have_no_handles_links_or_brand_names(workspace):
    con = store.connect(workspace)
    _insert(con, _handle_posts())
    corpus = [t for _, t in _handle_posts()]
    built = build_topics(con, embed=tfidf_svd_embed(corpus), n_topics=3, sample=200)
    assert {s.method for s in built.summaries} == {COMPLAINT_METHOD, GENERAL_METHOD}
    forbidden = {"acmeair", "acme", "air", "pulseconnect", "pulse", "connect", "http", "https", "www", "co", "fail",
                 "example"}
    rows = con.execute("SELECT method, label, keywords::VARCHAR FROM topic_labels").fetchall()
    assert len(rows) == 6
    for method, label, keywords in rows:
        words = set(label.split()) | set(json.loads(keywords))
        assert words and not words & forbidden, (method, label, keywords)
        assert "@" not in label and "#" not in label and "/" not in label
    # the three planted subjects come out as three topics
    found = {json.loads(kw)[0] for m, _, kw in rows if m == COMPLAINT_METHOD}
    assert len(found & {"refund", "money", "wifi", "internet", "slow", "seat", "broken", "legroom"}) == 3, rows
    con.close()


def test_new_posts_join_the_existing_topics_exactly_as_a_full_assignment(workspace):
    con = store.connect(workspace)
    assert assign_new_posts(con).n_assigned == 0  # nothing built: a no-op
    _insert(con, _handle_posts())
    corpus = [t for _, t in _handle_posts()]
    build_topics(con, embed=tfidf_svd_embed(corpus), n_topics=3, sample=200)
    before = con.execute("SELECT method, label FROM topic_labels ORDER BY ALL").fetchall()
    assert assign_new_posts(con).n_assigned == 0  # every post has its topics already
    new = [(f"n{i}", text) for i, text in enumerate(["refund still missing, want my money", "wifi slow on the train",
                                                     "seat broken again", "the refund money please",
                                                     "internet wifi down"])]
    _insert(con, new)
    _insert(con, [("late", "seat cramped")], negative=False)  # not negative: general topics only
    result = assign_new_posts(con)
    assert result.assigned == {COMPLAINT_METHOD: 5, GENERAL_METHOD: 6} and result.n_assigned == 11
    assert con.execute("SELECT method, label FROM topic_labels ORDER BY ALL").fetchall() == before  # no re-clustering
    for method in (COMPLAINT_METHOD, GENERAL_METHOD):
        stored = con.execute("SELECT p.post_id, p.text, t.topic_id FROM topics t JOIN posts p USING (post_id) "
                             "WHERE t.method = ? ORDER BY p.post_id", [method]).df()
        full, _ = stored_assigner(con, method).assign(stored["text"].tolist())
        assert (stored["topic_id"].to_numpy() == full).all()
    assert assign_new_posts(con).n_assigned == 0
    build = topic_builds(con)[COMPLAINT_METHOD]
    assert build.assigned_since == 5 and not build.rebuild_advised
    # posts about nothing the topics know are far from every topic: a rebuild is advised
    _insert(con, [(f"x{i}", f"zzgarble{i} qqnonsense{i}") for i in range(60)])
    far = assign_new_posts(con)
    assert far.far_share[COMPLAINT_METHOD] == 1.0
    assert topic_builds(con)[COMPLAINT_METHOD].rebuild_advised
    con.close()


def test_a_file_with_aspects_does_not_take_topics_from_posts_without_one(workspace):
    con = store.connect(workspace)
    _insert(con, _handle_posts("plain"), source="plain")
    _insert(con, [(f"a{i}", "late flight delayed again" if i % 2 else "lost my bag luggage") for i in range(30)],
            source="withaspect", aspect="Late Flight")
    con.execute("UPDATE posts SET aspect = 'Lost Luggage' WHERE source = 'withaspect' AND text LIKE 'lost%'")
    corpus = [r[0] for r in con.execute("SELECT text FROM posts").fetchall()]
    built = build_topics(con, embed=tfidf_svd_embed(corpus), n_topics=3, sample=200)
    assert [s.method for s in built.summaries] == [ASPECT_METHOD, COMPLAINT_METHOD, GENERAL_METHOD]
    by_source = dict(((m, src), n) for m, src, n in con.execute(
        "SELECT t.method, p.source, count(*) FROM topics t JOIN posts p USING (post_id) GROUP BY ALL").fetchall())
    n_plain = len(_handle_posts("plain"))
    assert by_source == {(ASPECT_METHOD, "withaspect"): 30, (COMPLAINT_METHOD, "plain"): n_plain,
                         (GENERAL_METHOD, "plain"): n_plain}
    con.close()


def test_topics_page_shows_complaint_and_general_topics_and_when_they_were_built(demo_con):
    path = demo_con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchall()[0][0]
    at = _topics_page(path, model_id="truth")
    assert not at.exception and not at.error
    picker = at.selectbox[0]
    assert picker.options == ["Complaints (negative posts)", "General (all posts)"]
    assert any(c.value.startswith("Built ") and "predicts negative" in c.value for c in at.caption)
    complaints = at.dataframe[0].value
    picker.set_value(GENERAL_METHOD).run()
    assert not at.exception and not at.error
    general = at.dataframe[0].value
    assert complaints["posts"].sum() < general["posts"].sum() == 4000
    assert any(c.value.startswith("Built ") and "predicts" not in c.value for c in at.caption)
