"""Topics and aspects: what posts are about, their sentiment per brand, and which topics grow.

Two methods fill the ``topics`` / ``topic_labels`` tables:

* ``"aspect"`` — when the source gives a reason or aspect per post (``posts.aspect``, e.g. the
  airline export's ``negativereason``), each distinct aspect is a topic (:func:`aspect_topics`);
* ``"embedding-kmeans"`` — otherwise topics are discovered (:func:`discover_topics`): sentence
  embeddings (MiniLM by default, any ``embed`` function in tests), k-means with ``k`` chosen by
  silhouette on a sample, the rest assigned to the nearest centroid, and labels from
  class-based TF-IDF keywords (each topic's posts concatenated into one document).

Sentiment per topic and per brand and topic growth are DuckDB queries over
``topics ⨝ predictions`` (:func:`topic_overview`, :func:`topic_sentiment_by_brand`,
:func:`fastest_growing`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.core.progress import ProgressCallback, report
from analytics.store import post_filter, transaction

EmbedFunction = Callable[[list[str]], np.ndarray]

ASPECT_METHOD = "aspect"
EMBEDDING_METHOD = "embedding-kmeans"
N_KEYWORDS = 8
DEFAULT_K_RANGE: tuple[int, int] = (4, 12)

_NO_POSTS = "no posts with text in the workspace to build topics from"


@dataclass(frozen=True)
class TopicSummary:
    """What one topic build stored."""

    method: str
    n_topics: int
    n_posts: int
    silhouette: float | None
    sample: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def topic_keywords(
    documents: Sequence[str], labels: Sequence[int], *, n_keywords: int = N_KEYWORDS, exclude: Sequence[str] = ()
) -> dict[int, list[str]]:
    """Class-based TF-IDF keywords: each topic's documents joined, scored against the other topics.

    Parameters
    ----------
    documents : sequence of str
        Post texts.
    labels : sequence of int
        Topic id of each text (same length).
    n_keywords : int, default 8
        Keywords kept per topic, best first.
    exclude : sequence of str, optional
        Words never used as keywords besides English stop words (e.g. :func:`brand_words`).

    Returns
    -------
    dict
        Topic id -> list of keywords.

    Examples
    --------
    >>> kw = topic_keywords(["refund money back", "refund my money", "wifi slow", "wifi down again"], [0, 0, 1, 1])
    >>> kw[0][:2], kw[1][0]
    (['money', 'refund'], 'wifi')
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

    if len(documents) != len(labels):
        raise ValueError(f"documents ({len(documents)}) and labels ({len(labels)}) differ in length")
    frame = pd.DataFrame({"text": list(documents), "topic": np.asarray(labels, dtype=int)})
    joined = frame.groupby("topic")["text"].agg(" ".join)
    stop_words = sorted(ENGLISH_STOP_WORDS | {w.lower() for w in exclude})
    vectorizer = CountVectorizer(stop_words=stop_words, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
                                 max_features=20000)
    counts = vectorizer.fit_transform(joined.to_numpy())
    scores = TfidfTransformer(sublinear_tf=True).fit_transform(counts).toarray()
    vocab = vectorizer.get_feature_names_out()
    return {
        int(topic): [str(vocab[j]) for j in np.argsort(-scores[i])[:n_keywords] if scores[i, j] > 0]
        for i, topic in enumerate(joined.index)
    }


def brand_words(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The workspace's brand names as words and as handles ("Pulse Connect" -> pulse, connect, pulseconnect).

    Left out of topic keywords: a topic should say what posts are about, not whom they name.
    """
    words: set[str] = set()
    for (brand,) in con.execute("SELECT DISTINCT brand FROM posts WHERE brand IS NOT NULL").fetchall():
        parts = re.findall(r"[a-z]+", str(brand).lower())
        words.update(parts)
        words.add("".join(parts))
    return sorted(w for w in words if w)


def _store(con: duckdb.DuckDBPyConnection, method: str, assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    with transaction(con):
        con.execute("DELETE FROM topics WHERE method = ?", [method])
        con.execute("DELETE FROM topic_labels WHERE method = ?", [method])
        con.register("_topic_rows", assignments)
        con.register("_topic_label_rows", labels)
        try:
            con.execute("INSERT INTO topics SELECT post_id, ?, topic_id FROM _topic_rows", [method])
            con.execute(
                "INSERT INTO topic_labels SELECT ?, topic_id, label, keywords::JSON FROM _topic_label_rows", [method]
            )
        finally:
            con.unregister("_topic_rows")
            con.unregister("_topic_label_rows")


def has_aspects(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any post carries a source aspect (then :func:`build_topics` uses them)."""
    rows = con.execute("SELECT count(*) FROM posts WHERE aspect IS NOT NULL AND trim(aspect) <> ''").fetchall()
    return bool(rows[0][0])


def aspect_topics(con: duckdb.DuckDBPyConnection, *, progress: ProgressCallback | None = None) -> TopicSummary:
    """Store the source aspects (``posts.aspect``) as topics of method ``"aspect"``.

    Each distinct aspect becomes a topic labelled with its name; keywords come from class-based
    TF-IDF over its posts. Posts without an aspect get no topic.

    Raises
    ------
    BrandLensError
        When no post carries an aspect.
    """
    frame = con.execute(
        """
        SELECT post_id, text, dense_rank() OVER (ORDER BY lower(trim(aspect))) - 1 AS topic_id,
               lower(trim(aspect)) AS aspect
        FROM posts WHERE aspect IS NOT NULL AND trim(aspect) <> ''
        """
    ).df()
    if frame.empty:
        raise BrandLensError("no post carries an aspect (posts.aspect); use discover_topics instead")
    report(progress, 0, 1, "keywords per aspect")
    keywords = topic_keywords(frame["text"].tolist(), frame["topic_id"].tolist(), exclude=brand_words(con))
    labels = (
        frame.groupby("topic_id", as_index=False)["aspect"].first()
        .rename(columns={"aspect": "label"})
    )
    labels["keywords"] = [json.dumps(keywords.get(int(t), [])) for t in labels["topic_id"]]
    _store(con, ASPECT_METHOD, frame[["post_id", "topic_id"]], labels[["topic_id", "label", "keywords"]])
    report(progress, 1, 1, "aspects stored")
    return TopicSummary(ASPECT_METHOD, int(len(labels)), int(len(frame)), None, int(len(frame)))


def discover_topics(
    con: duckdb.DuckDBPyConnection,
    *,
    embed: EmbedFunction | None = None,
    n_topics: int | None = None,
    sample: int = 3000,
    k_range: tuple[int, int] = DEFAULT_K_RANGE,
    batch_size: int = 512,
    random_state: int = 0,
    progress: ProgressCallback | None = None,
) -> TopicSummary:
    """Discover topics by clustering sentence embeddings and store them (method ``"embedding-kmeans"``).

    Parameters
    ----------
    con : duckdb connection
        Workspace.
    embed : callable, optional
        ``embed(list_of_texts) -> ndarray (n, d)``; default the MiniLM encoder
        (:class:`analytics.models.encoder.SentenceEncoder`, loaded once for the whole run).
        Tests pass a cheap one (e.g. TF-IDF + TruncatedSVD).
    n_topics : int, optional
        Number of topics; by default chosen by silhouette score over ``k_range`` on the sample.
    sample : int, default 3000
        Posts the clustering is fitted on (a seeded random sample); the rest are embedded in
        batches and assigned to the nearest centroid.
    k_range : (int, int), default (4, 12)
        Inclusive range of ``k`` tried when ``n_topics`` is None.
    batch_size : int, default 512
        Texts embedded per call of ``embed`` when assigning the rest.
    random_state : int, default 0
        Seed of the sample, k-means and the silhouette sample.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    TopicSummary
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if n_topics is not None and n_topics < 2:
        raise ValueError(f"n_topics must be at least 2, got {n_topics}")
    if sample < 10:
        raise ValueError(f"sample must be at least 10, got {sample}")
    lo, hi = k_range
    if lo < 2 or hi < lo:
        raise ValueError(f"k_range must be (lo, hi) with 2 <= lo <= hi, got {k_range}")
    if embed is None:
        from analytics.models.encoder import SentenceEncoder

        embed = SentenceEncoder()

    posts = con.execute("SELECT post_id, text FROM posts WHERE text IS NOT NULL AND text <> '' ORDER BY post_id").df()
    if posts.empty:
        raise BrandLensError(_NO_POSTS)
    n = len(posts)
    rng = np.random.default_rng(random_state)
    fit_idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    texts = posts["text"].tolist()
    total = n + 1
    report(progress, 0, total, f"embedding {len(fit_idx)} sampled posts")
    fit_vectors = np.asarray(embed([texts[i] for i in fit_idx]), dtype=np.float32)
    if fit_vectors.ndim != 2 or fit_vectors.shape[0] != len(fit_idx):
        raise ValueError(f"embed returned shape {fit_vectors.shape}, expected ({len(fit_idx)}, d)")
    report(progress, len(fit_idx), total, "clustering")

    candidates = [n_topics] if n_topics is not None else list(range(lo, hi + 1))
    candidates = [k for k in candidates if k < len(fit_idx)]
    if not candidates:
        raise ValueError(f"too few posts ({len(fit_idx)}) for {n_topics or lo} topics")
    best: tuple[float, KMeans] | None = None
    for k in candidates:
        model = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(fit_vectors)
        score = float(silhouette_score(fit_vectors, model.labels_, sample_size=min(2000, len(fit_idx)),
                                       random_state=random_state))
        if best is None or score > best[0]:
            best = (score, model)
    assert best is not None  # candidates is non-empty
    silhouette, model = best

    labels = np.full(n, -1, dtype=int)
    labels[fit_idx] = model.labels_
    rest = np.setdiff1d(np.arange(n), fit_idx)
    done = len(fit_idx)
    for start in range(0, len(rest), batch_size):
        chunk = rest[start:start + batch_size]
        labels[chunk] = model.predict(np.asarray(embed([texts[i] for i in chunk]), dtype=np.float32))
        done += len(chunk)
        report(progress, done, total, "assigning posts to topics")

    keywords = topic_keywords(texts, labels, exclude=brand_words(con))
    label_frame = pd.DataFrame({"topic_id": sorted(keywords)})
    label_frame["label"] = [", ".join(keywords[t][:3]) or f"topic {t}" for t in label_frame["topic_id"]]
    label_frame["keywords"] = [json.dumps(keywords[t]) for t in label_frame["topic_id"]]
    _store(con, EMBEDDING_METHOD, pd.DataFrame({"post_id": posts["post_id"], "topic_id": labels}), label_frame)
    report(progress, total, total, "topics stored")
    return TopicSummary(EMBEDDING_METHOD, int(model.n_clusters), n, silhouette, int(len(fit_idx)))


def build_topics(
    con: duckdb.DuckDBPyConnection,
    *,
    embed: EmbedFunction | None = None,
    progress: ProgressCallback | None = None,
    **discover_kwargs: object,
) -> TopicSummary:
    """Source aspects when the posts carry them, otherwise :func:`discover_topics`."""
    if has_aspects(con):
        return aspect_topics(con, progress=progress)
    return discover_topics(con, embed=embed, progress=progress, **discover_kwargs)  # type: ignore[arg-type]


def stored_methods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Topic methods with stored assignments, ``"aspect"`` first."""
    rows = con.execute(
        "SELECT method FROM topics GROUP BY method ORDER BY (method = 'aspect') DESC, method"
    ).fetchall()
    return [r[0] for r in rows]


def _post_filter(brands: Sequence[str] | None, start: dt.datetime | None, end: dt.datetime | None) -> tuple[str, list]:
    clauses, params = post_filter(brands=brands, start=start, end=end)
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def topic_overview(
    con: duckdb.DuckDBPyConnection,
    *,
    method: str,
    model_id: str,
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pd.DataFrame:
    """Size, label, keywords and predicted sentiment shares per topic.

    Returns
    -------
    DataFrame
        Columns ``topic_id, label, keywords (list), posts, share, negative, neutral, positive,
        net_sentiment``; one row per topic with posts in the selection, largest first.
    """
    where, params = _post_filter(brands, start, end)
    frame = con.execute(
        f"""
        SELECT t.topic_id, any_value(l.label) AS label, any_value(l.keywords)::VARCHAR AS keywords,
               count(*) AS posts,
               avg((pr.label = 'negative')::INT) AS negative,
               avg((pr.label = 'neutral')::INT) AS neutral,
               avg((pr.label = 'positive')::INT) AS positive
        FROM topics t
        JOIN posts p USING (post_id)
        JOIN predictions pr ON pr.post_id = t.post_id AND pr.model_id = ?
        LEFT JOIN topic_labels l ON l.method = t.method AND l.topic_id = t.topic_id
        WHERE t.method = ? {where}
        GROUP BY t.topic_id ORDER BY posts DESC, t.topic_id
        """,
        [model_id, method, *params],
    ).df()
    frame["keywords"] = [json.loads(k) if k else [] for k in frame["keywords"]]
    frame["share"] = frame["posts"] / frame["posts"].sum() if len(frame) else []
    frame["net_sentiment"] = frame["positive"] - frame["negative"]
    return frame[["topic_id", "label", "keywords", "posts", "share", "negative", "neutral", "positive", "net_sentiment"]]


def topic_sentiment_by_brand(
    con: duckdb.DuckDBPyConnection,
    *,
    method: str,
    model_id: str,
    brands: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pd.DataFrame:
    """Posts and predicted negative share / net sentiment per topic and brand (long format).

    Returns
    -------
    DataFrame
        Columns ``topic_id, label, brand, posts, negative, net_sentiment``.
    """
    where, params = _post_filter(brands, start, end)
    return con.execute(
        f"""
        SELECT t.topic_id, any_value(l.label) AS label, p.brand, count(*) AS posts,
               avg((pr.label = 'negative')::INT) AS negative,
               avg((pr.label = 'positive')::INT) - avg((pr.label = 'negative')::INT) AS net_sentiment
        FROM topics t
        JOIN posts p USING (post_id)
        JOIN predictions pr ON pr.post_id = t.post_id AND pr.model_id = ?
        LEFT JOIN topic_labels l ON l.method = t.method AND l.topic_id = t.topic_id
        WHERE t.method = ? AND p.brand IS NOT NULL {where}
        GROUP BY t.topic_id, p.brand ORDER BY t.topic_id, p.brand
        """,
        [model_id, method, *params],
    ).df()


def preferred_method(con: duckdb.DuckDBPyConnection) -> str | None:
    """The topic method pages and alerts read first: ``aspect`` when stored, else the first by name."""
    methods = stored_methods(con)
    return methods[0] if methods else None


def topic_growth(
    con: duckdb.DuckDBPyConnection,
    *,
    method: str,
    start: dt.datetime,
    end: dt.datetime,
    baseline_start: dt.datetime,
    brands: Sequence[str] | None = None,
    model_id: str | None = None,
    negatives_only: bool = False,
    min_posts: int = 1,
) -> pd.DataFrame:
    """How each topic's share of posts in ``[start, end)`` differs from its share in ``[baseline_start, start)``.

    The one definition of a growing topic: the fastest growing topics of the Topics page,
    the topic driving an alert and the executive summary's top rising complaint are all
    this table's first rows (with ``negatives_only`` the shares are of the posts ``model_id``
    predicts negative).

    Returns
    -------
    DataFrame
        Columns ``topic_id, label, current, previous, current_share, previous_share,
        share_change, growth`` (``growth`` = current / previous posts - 1, NaN when previous
        is 0), topics with at least ``min_posts`` current posts, largest ``share_change`` first.
    """
    if negatives_only and not model_id:
        raise ValueError("negatives_only needs the model_id whose negative predictions to count")
    where, params = _post_filter(brands, baseline_start, end)
    negative_join = ("JOIN predictions pr ON pr.post_id = p.post_id AND pr.model_id = ? AND pr.label = 'negative'"
                     if negatives_only else "")
    frame = con.execute(
        f"""
        WITH counts AS (
            SELECT t.topic_id,
                   count(*) FILTER (WHERE p.created_at >= ?) AS current,
                   count(*) FILTER (WHERE p.created_at < ?) AS previous
            FROM topics t JOIN posts p USING (post_id) {negative_join}
            WHERE t.method = ? {where}
            GROUP BY t.topic_id
        )
        SELECT c.topic_id, l.label, c.current, c.previous,
               c.current / nullif(sum(c.current) OVER (), 0) AS current_share,
               c.previous / nullif(sum(c.previous) OVER (), 0) AS previous_share
        FROM counts c LEFT JOIN topic_labels l ON l.method = ? AND l.topic_id = c.topic_id
        """,
        [start, start, *([model_id] if negatives_only else []), method, *params, method],
    ).df()
    frame[["current_share", "previous_share"]] = frame[["current_share", "previous_share"]].fillna(0.0)
    frame["share_change"] = frame["current_share"] - frame["previous_share"]
    frame["growth"] = frame["current"] / frame["previous"].where(frame["previous"] > 0) - 1
    frame = frame[frame["current"] >= min_posts]
    return frame.sort_values(["share_change", "topic_id"], ascending=[False, True], ignore_index=True)


def fastest_growing(
    con: duckdb.DuckDBPyConnection,
    *,
    method: str,
    period_days: int = 7,
    as_of: dt.datetime | None = None,
    brands: Sequence[str] | None = None,
    min_posts: int = 5,
) -> pd.DataFrame:
    """:func:`topic_growth` of the last ``period_days`` (ending at ``as_of``) against the ``period_days`` before.

    ``as_of`` defaults to just after the newest post's day; topics with fewer than
    ``min_posts`` posts in the current period are left out.
    """
    if period_days < 1:
        raise ValueError(f"period_days must be at least 1, got {period_days}")
    if as_of is None:
        newest = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        if newest is None:
            raise BrandLensError(_NO_POSTS)
        as_of = pd.Timestamp(newest).floor("D").to_pydatetime() + dt.timedelta(days=1)
    start = as_of - dt.timedelta(days=period_days)
    return topic_growth(con, method=method, start=start, end=as_of, baseline_start=start - dt.timedelta(days=period_days),
                        brands=brands, min_posts=min_posts)


def topic_choices(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    """Every stored topic as ``(method, topic_id, label)``, aspects first (for filter menus)."""
    rows = con.execute(
        "SELECT method, topic_id, label FROM topic_labels ORDER BY (method = 'aspect') DESC, method, topic_id"
    ).fetchall()
    return [(str(m), int(t), str(label)) for m, t, label in rows]
