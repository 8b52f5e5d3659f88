"""Topics and aspects: what posts are about, their sentiment per brand, and which topics grow.

Three methods fill the ``topics`` / ``topic_labels`` tables, side by side:

* ``"aspect"`` — the source's reason or aspect per post (``posts.aspect``, e.g. the airline
  export's ``negativereason``): each distinct aspect is a topic (:func:`aspect_topics`);
* ``"complaint"`` — topics discovered among the posts a sentiment model predicts negative
  (what people complain about), and ``"general"`` — among all posts. Both cover the posts
  *without* a source aspect, so a file with an aspect column never takes topics away from
  the others (:func:`build_topics`).

Discovery (:func:`discover_topics`): on a seeded sample, each post is the concatenation of
its multilingual-e5 sentence embedding and its TF-IDF vector (words: what a complaint names; the
embedding: what it means), clustered by k-means. A logistic regression on the TF-IDF vectors
then learns the clusters (:class:`TopicAssigner`) and assigns every post, the sample
included, so only the sample is embedded and new posts join the stored topics exactly as a
full assignment would (:func:`assign_new_posts`, called by the scheduled pipeline). A post is
*far from every topic* when no topic gets probability :data:`FAR_PROBABILITY`; when that
share among new posts grows, a rebuild is advised (:func:`topic_builds`).

Keywords are class-based TF-IDF (BERTopic's formula) over texts with links, @handles and
hashtags removed, never stop words, brand names or handles (:func:`excluded_words`); each
topic's name is the candidate phrase of its posts nearest the topic's centroid in embedding
space (KeyBERT's re-ranking, :func:`topic_names`).

Sentiment per topic and per brand and topic growth are DuckDB queries over
``topics ⨝ predictions`` (:func:`topic_overview`, :func:`topic_sentiment_by_brand`,
:func:`fastest_growing`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics.core.errors import BrandLensError
from analytics.core.progress import ProgressCallback, report
from analytics.store import post_filter, transaction
from analytics.store.sharing import Workspace, as_workspace

EmbedFunction = Callable[[list[str]], np.ndarray]

ASPECT_METHOD = "aspect"
COMPLAINT_METHOD = "complaint"
GENERAL_METHOD = "general"
DISCOVERED_METHODS: tuple[str, ...] = (COMPLAINT_METHOD, GENERAL_METHOD)
"""Discovered topic methods, complaints first (what marketing asks first)."""
N_KEYWORDS = 8
DEFAULT_SAMPLE = 4000
LEXICAL_WEIGHT = 0.6
"""Share of the squared norm the TF-IDF part has in the vectors clustered (the rest: the embedding).

On the airline export's negative tweets (reasons hidden) the embedding alone agreed with the
crowd's reasons at NMI 0.25, TF-IDF alone at 0.17, the two concatenated at 0.28-0.29
(weights 0.5-0.7 alike)."""
FAR_PROBABILITY = 0.5
"""A post is far from every topic when the assignment model gives no topic this probability."""
REBUILD_MARGIN = 0.10
"""A rebuild is advised when the far share of posts assigned since the build exceeds the build's by this."""
REBUILD_MIN_POSTS = 50
"""... and at least this many posts were assigned since."""

_NO_POSTS = "no posts with text in the workspace to build topics from"
_TOKEN = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of two letters or more, any script; no digits
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TopicSummary:
    """What one topic build stored for one method."""

    method: str
    n_topics: int
    n_posts: int
    silhouette: float | None
    sample: int
    far_share: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class TopicsBuilt:
    """What :func:`build_topics` stored: one :class:`TopicSummary` per method, aspects first.

    ``method``, ``n_topics``, ``n_posts``, ``silhouette`` and ``sample`` are the first
    summary's (the keys ``brandlens topics --json`` always had); ``skipped`` says why a
    method was not built (e.g. complaints before any post is scored).
    """

    summaries: tuple[TopicSummary, ...]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> TopicSummary:
        return self.summaries[0]

    @property
    def method(self) -> str:
        return self.primary.method

    @property
    def n_topics(self) -> int:
        return self.primary.n_topics

    @property
    def n_posts(self) -> int:
        return self.primary.n_posts

    def to_dict(self) -> dict[str, object]:
        return {**self.primary.to_dict(), "builds": [s.to_dict() for s in self.summaries], "skipped": self.skipped}


@dataclass(frozen=True)
class Assignment:
    """What :func:`assign_new_posts` did: posts assigned and the share far from every topic, per method."""

    assigned: dict[str, int]
    far_share: dict[str, float]

    @property
    def n_assigned(self) -> int:
        return int(sum(self.assigned.values()))

    def to_dict(self) -> dict[str, object]:
        return {"n_assigned": self.n_assigned, "assigned": dict(self.assigned), "far_share": dict(self.far_share)}


# ---------------------------------------------------------------- text and words

def topic_text(text: str) -> str:
    """The text topics read: HTML entities decoded, links, @handles and #hashtags removed.

    Handles and hashtags say whom a post addresses or which campaign it rides, not what it
    is about; the sentence embedding and the keywords read the rest.

    Examples
    --------
    >>> topic_text("@JetBlue my bag is lost &amp; nobody answers #fail https://t.co/x")
    'my bag is lost & nobody answers'
    """
    text = html.unescape(str(text))
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _brand_parts(brands: Sequence[str]) -> set[str]:
    words: set[str] = set()
    for brand in brands:
        parts = re.findall(r"[^\W\d_]+", str(brand).lower())
        words.update(parts)
        words.add("".join(parts))
    return {w for w in words if w}


def brand_words(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The workspace's brand names as words and as handles ("Pulse Connect" -> pulse, connect, pulseconnect).

    Left out of topic keywords: a topic should say what posts are about, not whom they name.
    """
    brands = [r[0] for r in con.execute("SELECT DISTINCT brand FROM posts WHERE brand IS NOT NULL").fetchall()]
    return sorted(_brand_parts(brands))


def excluded_words(texts: Sequence[str], brands: Sequence[str] = ()) -> set[str]:
    """Words never used in topic keywords or names: brand names and the @handles seen in ``texts``.

    A handle typed without its ``@`` ("jetblue is late again") is still the handle. Hashtags
    are not listed: :func:`topic_text` drops them from the text, and a word that is also
    someone's hashtag (``#delayed``) still says what a post is about.

    Examples
    --------
    >>> sorted(excluded_words(["@SouthwestAir thanks", "#delayed again"], ["Southwest"]))
    ['southwest', 'southwestair']
    """
    words = _brand_parts(brands)
    for text in texts:
        for match in _MENTION.findall(str(text)):
            words.add(match[1:].lower())
    return words


_CONTRACTIONS = frozenset({"don", "didn", "doesn", "isn", "wasn", "aren", "weren", "haven", "hasn", "hadn", "couldn",
                           "wouldn", "shouldn", "won", "ve", "ll", "re", "im", "ive", "dont", "cant", "thats"})
"""What English contractions leave when split at the apostrophe ("don't" -> "don")."""


def _stop_words(exclude: Sequence[str] | set[str]) -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | _CONTRACTIONS | {w.lower() for w in exclude})


def topic_keywords(
    documents: Sequence[str], labels: Sequence[int], *, n_keywords: int = N_KEYWORDS, exclude: Sequence[str] = ()
) -> dict[int, list[str]]:
    """Class-based TF-IDF keywords: the words that set each topic's posts apart from the other topics'.

    BERTopic's c-TF-IDF: a word's frequency in the topic (normalised by the topic's length)
    times ``log(1 + A / f)``, ``A`` the mean number of words per topic and ``f`` the word's
    frequency over all topics. Texts are read through :func:`topic_text` (no links, handles
    or hashtags); English stop words and ``exclude`` (e.g. :func:`excluded_words`) are never
    keywords. Topic id ``-1`` (posts without a topic) is left out.

    Parameters
    ----------
    documents : sequence of str
        Post texts.
    labels : sequence of int
        Topic id of each text (same length).
    n_keywords : int, default 8
        Keywords kept per topic, best first.
    exclude : sequence of str, optional
        Words never used as keywords besides English stop words.

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
    from sklearn.feature_extraction.text import CountVectorizer

    if len(documents) != len(labels):
        raise ValueError(f"documents ({len(documents)}) and labels ({len(labels)}) differ in length")
    frame = pd.DataFrame({"text": [topic_text(d) for d in documents], "topic": np.asarray(labels, dtype=int)})
    frame = frame[frame["topic"] >= 0]
    joined = frame.groupby("topic")["text"].agg(" ".join)
    if joined.empty:
        return {}
    vectorizer = CountVectorizer(stop_words=_stop_words(exclude), token_pattern=_TOKEN, max_features=30000)
    try:
        counts = vectorizer.fit_transform(joined.to_numpy()).toarray().astype(float)
    except ValueError:  # empty vocabulary: nothing but stop words and handles
        return {int(t): [] for t in joined.index}
    totals = counts.sum(axis=0)
    mean_words = counts.sum() / len(joined)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    scores = tf * np.log1p(mean_words / np.maximum(totals, 1.0))
    vocab = vectorizer.get_feature_names_out()
    return {
        int(topic): [str(vocab[j]) for j in np.argsort(-scores[i], kind="stable")[:n_keywords] if scores[i, j] > 0]
        for i, topic in enumerate(joined.index)
    }


def topic_names(
    documents: Sequence[str],
    labels: Sequence[int],
    keywords: dict[int, list[str]],
    centroids: dict[int, np.ndarray],
    *,
    embed: EmbedFunction,
    exclude: Sequence[str] = (),
    n_candidates: int = 24,
) -> dict[int, str]:
    """A short readable name per topic: its candidate phrase nearest the topic's centroid (KeyBERT's re-ranking).

    Candidates are the topic's most frequent one- to three-word phrases (stop words,
    handles and ``exclude`` removed) holding at least one of its keywords; each is embedded
    with ``embed`` and the one with the highest cosine to the topic's mean post embedding
    wins. Two topics never share a name (the smaller takes its next best). A topic without
    candidates is named by its first two keywords.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    frame = pd.DataFrame({"text": [topic_text(d) for d in documents], "topic": np.asarray(labels, dtype=int)})
    candidates: dict[int, list[str]] = {}
    stop = _stop_words(exclude)
    for topic, texts in frame[frame["topic"] >= 0].groupby("topic")["text"]:
        words = set(keywords.get(int(topic), [])[:N_KEYWORDS])
        try:
            counts = CountVectorizer(stop_words=stop, token_pattern=_TOKEN, ngram_range=(1, 3)).fit(texts)
        except ValueError:
            continue
        matrix = counts.transform(texts)
        freq = np.asarray((matrix > 0).sum(axis=0)).ravel()
        vocab = counts.get_feature_names_out()
        order = np.argsort(-freq, kind="stable")
        picked = [str(vocab[j]) for j in order if freq[j] >= 2 and words & set(str(vocab[j]).split())]
        candidates[int(topic)] = picked[:n_candidates]
    phrases = sorted({p for ps in candidates.values() for p in ps})
    vectors = dict(zip(phrases, np.asarray(embed(phrases), dtype=np.float32))) if phrases else {}
    sizes = frame["topic"].value_counts()
    names: dict[int, str] = {}
    taken: set[str] = set()
    for topic in sorted(keywords, key=lambda t: (-int(sizes.get(t, 0)), t)):
        centre = centroids.get(topic)
        ranked = candidates.get(topic, [])
        if centre is not None and ranked:
            ranked = sorted(ranked, key=lambda p: -float(vectors[p] @ centre))
        name = next((p for p in ranked if p not in taken), None)
        if name is None:
            name = ", ".join(keywords.get(topic, [])[:2]) or f"topic {topic}"
        taken.add(name)
        names[topic] = name
    return names


# ---------------------------------------------------------------- the assignment model

@dataclass(frozen=True)
class TopicAssigner:
    """The stored model that assigns a post to a topic: TF-IDF over a fixed vocabulary, then a logistic regression.

    ``assign(texts)`` depends on each text alone (no batch, no embedding), so assigning
    new posts later gives exactly what a full assignment with the same model gives.
    """

    vocabulary: np.ndarray  # str, the words
    idf: np.ndarray  # float, one per word
    coef: np.ndarray  # (n_classes, n_words)
    intercept: np.ndarray  # (n_classes,)
    topic_ids: np.ndarray  # int, the topic id of each class

    def vectors(self, texts: Sequence[str]):
        """Sublinear TF-IDF vectors, L2-normalised, of ``texts`` read through :func:`topic_text`."""
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        counts = CountVectorizer(vocabulary=list(self.vocabulary), token_pattern=_TOKEN).transform(
            [topic_text(t) for t in texts]).astype(np.float64)
        counts.data = (1.0 + np.log(counts.data))
        return normalize(counts.multiply(self.idf).tocsr())

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each topic (columns in the order of ``topic_ids``) for each text."""
        if len(self.topic_ids) == 1:
            return np.ones((len(texts), 1))
        logits = np.asarray(self.vectors(texts) @ self.coef.T) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def assign(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Topic id and its probability for each text (a text without a known word gets the prior)."""
        if not len(texts):
            return np.zeros(0, dtype=int), np.zeros(0)
        p = self.probabilities(texts)
        best = p.argmax(axis=1)
        return self.topic_ids[best].astype(int), p[np.arange(len(texts)), best]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, vocabulary=self.vocabulary.astype(str), idf=self.idf, coef=self.coef,
                            intercept=self.intercept, topic_ids=self.topic_ids)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicAssigner:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["vocabulary"], z["idf"], z["coef"], z["intercept"], z["topic_ids"])


@dataclass(frozen=True)
class DiscoveredTopics:
    """Topics found in a list of texts (:func:`discover_topics`), nothing stored yet."""

    labels: np.ndarray  # topic id of each text
    probability: np.ndarray  # the assignment model's probability of that topic
    keywords: dict[int, list[str]]
    names: dict[int, str]
    assigner: TopicAssigner
    silhouette: float | None
    sample: int

    @property
    def n_topics(self) -> int:
        return len(self.names)

    @property
    def far_share(self) -> float:
        return float(np.mean(self.probability < FAR_PROBABILITY)) if len(self.probability) else 0.0


def default_n_topics(n: int) -> int:
    """Topics found among ``n`` sampled posts by default: ``round(sqrt(n) / 8)`` within 4..12 (8 for 4,000)."""
    return int(np.clip(round(np.sqrt(n) / 8), 4, 12))


def discover_topics(
    texts: Sequence[str],
    *,
    embed: EmbedFunction | None = None,
    exclude: Sequence[str] | set[str] = (),
    n_topics: int | None = None,
    sample: int = DEFAULT_SAMPLE,
    random_state: int = 0,
    progress: ProgressCallback | None = None,
) -> DiscoveredTopics:
    """Discover topics in ``texts``: cluster a sample, learn the clusters, assign every text.

    Parameters
    ----------
    texts : sequence of str
        Post texts (read through :func:`topic_text`).
    embed : callable, optional
        ``embed(list_of_texts) -> ndarray (n, d)``, unit rows; default the multilingual-e5 encoder on
        ONNX Runtime int8 (:class:`analytics.models.encoder.SentenceEncoder`), loaded once.
        Tests pass a cheap one.
    exclude : sequence of str, optional
        Words never in the TF-IDF vocabulary, keywords or names (:func:`excluded_words`).
    n_topics : int, optional
        Number of topics; default :func:`default_n_topics` of the sample size.
    sample : int, default 4000
        Texts embedded and clustered (seeded); the assignment model assigns them all.
    random_state : int, default 0
        Seed of the sample, k-means and the silhouette sample.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    DiscoveredTopics
    """
    import scipy.sparse as sp
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import silhouette_score

    if n_topics is not None and n_topics < 2:
        raise ValueError(f"n_topics must be at least 2, got {n_topics}")
    if sample < 10:
        raise ValueError(f"sample must be at least 10, got {sample}")
    texts = [str(t) for t in texts]
    n = len(texts)
    if n < 4:
        raise ValueError(f"too few posts ({n}) to discover topics in")
    if embed is None:
        from analytics.models.encoder import SentenceEncoder

        embed = SentenceEncoder(cpu_backend="onnx-int8")
    cleaned = [topic_text(t) for t in texts]
    rng = np.random.default_rng(random_state)
    fit_idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    k = n_topics if n_topics is not None else default_n_topics(len(fit_idx))
    if k >= len(fit_idx):
        raise ValueError(f"too few posts ({len(fit_idx)}) for {k} topics")
    total = 4
    report(progress, 0, total, f"embedding {len(fit_idx):,} sampled posts")
    unique, inverse = np.unique([cleaned[i] or texts[i] for i in fit_idx], return_inverse=True)
    vectors = np.asarray(embed(unique.tolist()), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(unique):
        raise ValueError(f"embed returned shape {vectors.shape}, expected ({len(unique)}, d)")
    vectors = vectors[inverse]
    # centred on the sample's mean direction, then unit rows: e5's embeddings all lie in a narrow
    # cone (cosines about 0.8 between unrelated posts), which left them little weight beside the
    # words; centring gives each encoder's differences between posts their full share
    vectors = vectors - vectors.mean(axis=0, keepdims=True)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    report(progress, 1, total, "clustering")
    tfidf = TfidfVectorizer(stop_words=_stop_words(exclude), token_pattern=_TOKEN, sublinear_tf=True,
                            min_df=2 if n >= 200 else 1, max_df=0.5 if n >= 200 else 1.0, max_features=30000)
    try:
        tfidf.fit(cleaned)
    except ValueError as exc:  # nothing but stop words
        raise ValueError(f"the posts have too few words to discover topics in ({exc})") from None
    assigner_words = TopicAssigner(tfidf.get_feature_names_out(), tfidf.idf_, np.zeros((0, 0)), np.zeros(0),
                                   np.zeros(0, dtype=int))
    lexical = assigner_words.vectors([texts[i] for i in fit_idx])
    joint = sp.hstack([sp.csr_matrix(vectors * np.sqrt(1 - LEXICAL_WEIGHT)), lexical * np.sqrt(LEXICAL_WEIGHT)]).tocsr()
    kmeans = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit(joint)
    clusters = kmeans.labels_
    silhouette = None
    if len(set(clusters)) > 1:
        silhouette = float(silhouette_score(joint, clusters, sample_size=min(2000, len(fit_idx)),
                                            random_state=random_state))

    report(progress, 2, total, "assigning posts to topics")
    classes = np.unique(clusters)
    if len(classes) > 1:
        lr = LogisticRegression(C=2.0, max_iter=500).fit(lexical, clusters)
        coef, intercept = lr.coef_, lr.intercept_
        if len(classes) == 2:  # scikit-learn keeps one row for two classes: make it two
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    else:
        coef, intercept = np.zeros((1, lexical.shape[1])), np.zeros(1)
    fitted = TopicAssigner(assigner_words.vocabulary, assigner_words.idf, coef, intercept, classes)
    labels, probability = fitted.assign(texts)
    # topic ids by size, largest first; classes nobody lands in are dropped
    sizes = pd.Series(labels).value_counts()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
    renumber = {int(c): i for i, c in enumerate(order)}
    topic_ids = np.array([renumber.get(int(c), -1) for c in classes])
    assigner = TopicAssigner(fitted.vocabulary, fitted.idf, coef[topic_ids >= 0], intercept[topic_ids >= 0],
                             topic_ids[topic_ids >= 0])
    labels, probability = assigner.assign(texts)

    report(progress, 3, total, "naming topics")
    keywords = topic_keywords(texts, labels, exclude=sorted(exclude))
    fit_labels = labels[fit_idx]
    centroids = {}
    for t in keywords:
        members = vectors[fit_labels == t]
        if len(members):
            c = members.mean(axis=0)
            centroids[t] = c / max(float(np.linalg.norm(c)), 1e-12)
    names = topic_names([texts[i] for i in fit_idx], fit_labels, keywords, centroids, embed=embed,
                        exclude=sorted(exclude))
    for t in keywords:  # a topic none of the sample landed in is named by its keywords
        names.setdefault(t, ", ".join(keywords[t][:2]) or f"topic {t}")
    report(progress, total, total, "topics found")
    return DiscoveredTopics(labels, probability, keywords, names, assigner, silhouette, int(len(fit_idx)))


# ---------------------------------------------------------------- the workspace

def has_aspects(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any post carries a source aspect (then :func:`build_topics` stores them as topics too)."""
    rows = con.execute("SELECT count(*) FROM posts WHERE aspect IS NOT NULL AND trim(aspect) <> ''").fetchall()
    return bool(rows[0][0])


_WITHOUT_ASPECT = "(p.aspect IS NULL OR trim(p.aspect) = '')"


def negative_model(con: duckdb.DuckDBPyConnection, model_id: str | None = None) -> str | None:
    """The model whose negative predictions complaint topics cover: ``model_id``, else ``default``, else the most used."""
    if model_id:
        return model_id
    rows = con.execute(
        "SELECT model_id FROM predictions GROUP BY model_id ORDER BY (model_id = 'default') DESC, count(*) DESC, model_id"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _population(con: duckdb.DuckDBPyConnection, method: str, model_id: str | None, *, only_new: bool) -> pd.DataFrame:
    """Posts a discovered method covers (no source aspect; complaints: predicted negative), optionally those without its topic."""
    new = "AND NOT EXISTS (SELECT 1 FROM topics t WHERE t.post_id = p.post_id AND t.method = ?)" if only_new else ""
    if method == COMPLAINT_METHOD:
        sql = (f"SELECT p.post_id, p.text FROM posts p JOIN predictions pr ON pr.post_id = p.post_id "
               f"AND pr.model_id = ? AND pr.label = 'negative' WHERE p.text <> '' AND {_WITHOUT_ASPECT} {new} "
               f"ORDER BY p.post_id")
        params: list = [model_id]
    else:
        sql = f"SELECT p.post_id, p.text FROM posts p WHERE p.text <> '' AND {_WITHOUT_ASPECT} {new} ORDER BY p.post_id"
        params = []
    return con.execute(sql, params + ([method] if only_new else [])).df()


def _aspect_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        SELECT post_id, text, dense_rank() OVER (ORDER BY lower(trim(aspect))) - 1 AS topic_id,
               lower(trim(aspect)) AS aspect
        FROM posts WHERE aspect IS NOT NULL AND trim(aspect) <> ''
        """
    ).df()


def _aspect_rows(frame: pd.DataFrame, exclude: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    keywords = topic_keywords(frame["text"].tolist(), frame["topic_id"].tolist(), exclude=sorted(exclude))
    labels = frame.groupby("topic_id", as_index=False)["aspect"].first().rename(columns={"aspect": "label"})
    labels["keywords"] = [json.dumps(keywords.get(int(t), [])) for t in labels["topic_id"]]
    return frame[["post_id", "topic_id"]], labels[["topic_id", "label", "keywords"]]


def _replace_method(con: duckdb.DuckDBPyConnection, method: str, assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    """Replace one method's topics and labels (inside the caller's transaction)."""
    con.execute("DELETE FROM topics WHERE method = ?", [method])
    con.execute("DELETE FROM topic_labels WHERE method = ?", [method])
    con.register("_topic_rows", assignments)
    con.register("_topic_label_rows", labels)
    try:
        con.execute("INSERT INTO topics (post_id, method, topic_id) SELECT post_id, ?, topic_id FROM _topic_rows",
                    [method])
        con.execute("INSERT INTO topic_labels (method, topic_id, label, keywords) "
                    "SELECT ?, topic_id, label, keywords::JSON FROM _topic_label_rows", [method])
    finally:
        con.unregister("_topic_rows")
        con.unregister("_topic_label_rows")


def aspect_topics(target: duckdb.DuckDBPyConnection | Workspace, *,
                  progress: ProgressCallback | None = None) -> TopicSummary:
    """Store the source aspects (``posts.aspect``) as topics of method ``"aspect"``.

    Each distinct aspect becomes a topic labelled with its name; keywords come from class-based
    TF-IDF over its posts. Posts without an aspect get no aspect topic.

    Raises
    ------
    BrandLensError
        When no post carries an aspect.
    """
    workspace = as_workspace(target)
    with workspace.reading() as con:
        frame = _aspect_frame(con)
        brands = brand_words(con)
    if frame.empty:
        raise BrandLensError("no post carries an aspect (posts.aspect); use build_topics to discover topics")
    report(progress, 0, 1, "keywords per aspect")
    rows, labels = _aspect_rows(frame, excluded_words(frame["text"].tolist(), brands))
    with workspace.writing() as con, transaction(con):
        _replace_method(con, ASPECT_METHOD, rows, labels)
    report(progress, 1, 1, "aspects stored")
    return TopicSummary(ASPECT_METHOD, int(len(labels)), int(len(frame)), None, int(len(frame)))


def build_topics(
    target: duckdb.DuckDBPyConnection | Workspace,
    *,
    embed: EmbedFunction | None = None,
    model_id: str | None = None,
    n_topics: int | None = None,
    sample: int = DEFAULT_SAMPLE,
    random_state: int = 0,
    progress: ProgressCallback | None = None,
) -> TopicsBuilt:
    """Store every topic method the workspace supports: source aspects, complaint topics, general topics.

    Aspects for the posts that carry one; for the others, complaint topics among the posts
    ``model_id`` predicts negative (:func:`negative_model` by default) and general topics
    among all of them (:func:`discover_topics`, one encoder for both). Long work runs without
    holding the workspace: one read, the computation, then one short write transaction.

    Parameters
    ----------
    target : duckdb connection or Workspace
        The workspace (a :class:`analytics.store.sharing.WorkspaceFile` for a shared file).
    embed, n_topics, sample, random_state, progress
        As for :func:`discover_topics`.
    model_id : str, optional
        Whose negative predictions complaint topics cover.

    Returns
    -------
    TopicsBuilt
    """
    workspace = as_workspace(target)
    with workspace.reading() as con:
        if not con.execute("SELECT count(*) FROM posts WHERE text <> ''").fetchall()[0][0]:
            raise BrandLensError(_NO_POSTS)
        aspects = _aspect_frame(con)
        brands = brand_words(con)
        negatives_of = negative_model(con, model_id)
        general = _population(con, GENERAL_METHOD, None, only_new=False)
        complaint = (_population(con, COMPLAINT_METHOD, negatives_of, only_new=False) if negatives_of
                     else general.iloc[:0])
        texts_for_words = pd.concat([aspects["text"], general["text"]]).tolist()
    exclude = excluded_words(texts_for_words, brands)
    summaries: list[TopicSummary] = []
    skipped: dict[str, str] = {}
    writes: list[Callable[[duckdb.DuckDBPyConnection], None]] = []
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    if not aspects.empty:
        rows, labels = _aspect_rows(aspects, exclude)
        writes.append(lambda c, r=rows, lab=labels: _replace_method(c, ASPECT_METHOD, r, lab))
        summaries.append(TopicSummary(ASPECT_METHOD, int(len(labels)), int(len(aspects)), None, int(len(aspects))))

    populations = {COMPLAINT_METHOD: complaint, GENERAL_METHOD: general}
    if not negatives_of:
        skipped[COMPLAINT_METHOD] = "no predictions yet: score the workspace to find complaint topics"
    if embed is None and any(len(p) >= 4 for p in populations.values()):
        from analytics.models.encoder import SentenceEncoder

        embed = SentenceEncoder(cpu_backend="onnx-int8")
    for method, frame in populations.items():
        if method in skipped:
            continue
        if len(frame) < 20:
            skipped[method] = (f"{len(frame)} posts" + (" predicted negative" if method == COMPLAINT_METHOD else "")
                               + " without a source aspect: too few to discover topics in (20 needed)")
            continue
        found = discover_topics(frame["text"].tolist(), embed=embed, exclude=exclude, n_topics=n_topics,
                                sample=sample, random_state=random_state,
                                progress=_step(progress, method))
        rows = pd.DataFrame({"post_id": frame["post_id"], "topic_id": found.labels})
        labels = pd.DataFrame({"topic_id": sorted(found.names)})
        labels["label"] = [found.names[t] for t in labels["topic_id"]]
        labels["keywords"] = [json.dumps(found.keywords.get(t, [])) for t in labels["topic_id"]]
        build = {
            "method": method, "kind": method, "built_at": now,
            "model_id": negatives_of if method == COMPLAINT_METHOD else None,
            "n_posts": len(frame), "n_topics": found.n_topics,
            "n_far": int(np.sum(found.probability < FAR_PROBABILITY)),
            "params": json.dumps({"sample": found.sample, "n_topics": n_topics, "random_state": random_state,
                                  "lexical_weight": LEXICAL_WEIGHT, "far_probability": FAR_PROBABILITY,
                                  "silhouette": found.silhouette}),
            "assigner": found.assigner.to_bytes(),
        }
        writes.append(lambda c, m=method, r=rows, lab=labels, b=build: (_replace_method(c, m, r, lab), _store_build(c, b)))
        summaries.append(TopicSummary(method, found.n_topics, len(frame), found.silhouette, found.sample,
                                      found.far_share))
    if not summaries:
        raise BrandLensError("; ".join(skipped.values()) or _NO_POSTS)
    with workspace.writing() as con, transaction(con):
        for write in writes:
            write(con)
    report(progress, 1, 1, "topics stored")
    return TopicsBuilt(tuple(summaries), skipped)


def _step(progress: ProgressCallback | None, method: str) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda done, total, message: progress(done, total, f"{method} topics: {message}")


def _store_build(con: duckdb.DuckDBPyConnection, build: dict[str, object]) -> None:
    con.execute("DELETE FROM topic_builds WHERE method = ?", [build["method"]])
    con.execute(
        """
        INSERT INTO topic_builds (method, kind, built_at, model_id, n_posts, n_topics, n_far, assigned_since,
                                  far_since, last_assigned_at, params, assigner)
        VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, NULL, ?::JSON, ?)
        """,
        [build["method"], build["kind"], build["built_at"], build["model_id"], build["n_posts"], build["n_topics"],
         build["n_far"], build["params"], build["assigner"]],
    )


def stored_assigner(con: duckdb.DuckDBPyConnection, method: str) -> TopicAssigner | None:
    """The assignment model of ``method``'s latest build, ``None`` when it was never built."""
    rows = con.execute("SELECT assigner FROM topic_builds WHERE method = ?", [method]).fetchall()
    return TopicAssigner.from_bytes(bytes(rows[0][0])) if rows else None


def assign_new_posts(
    con: duckdb.DuckDBPyConnection | Workspace, *, progress: ProgressCallback | None = None
) -> Assignment:
    """Assign the posts without a topic to the existing discovered topics, without re-clustering.

    For each stored build (:data:`DISCOVERED_METHODS`), the posts it covers that have no topic
    row of its method (complaints: those its model predicts negative, once scored) are assigned
    by the build's stored :class:`TopicAssigner`; what it gives a post does not depend on the
    other posts, so this equals a full assignment with the same topics. The count of posts
    assigned and of those far from every topic accumulates in ``topic_builds``
    (:func:`topic_builds` advises a rebuild when the far share grows). A no-op when no
    topics were discovered. The scheduled pipeline calls this after scoring new posts.

    Parameters
    ----------
    con : duckdb connection or Workspace
        The workspace; reads once, computes, writes in one short transaction.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    Assignment
    """
    workspace = as_workspace(con)
    with workspace.reading() as rcon:
        builds = rcon.execute("SELECT method, model_id, assigner FROM topic_builds ORDER BY method").fetchall()
        pending = {m: (_population(rcon, m, model_id, only_new=True), TopicAssigner.from_bytes(bytes(blob)))
                   for m, model_id, blob in builds}
    assigned: dict[str, int] = {}
    far: dict[str, float] = {}
    results: list[tuple[str, pd.DataFrame, int]] = []
    for i, (method, (frame, assigner)) in enumerate(pending.items()):
        report(progress, i, len(pending), f"assigning {len(frame):,} posts to {method} topics")
        labels, probability = assigner.assign(frame["text"].tolist())
        n_far = int(np.sum(probability < FAR_PROBABILITY))
        assigned[method] = int(len(frame))
        far[method] = n_far / len(frame) if len(frame) else 0.0
        if len(frame):
            results.append((method, pd.DataFrame({"post_id": frame["post_id"], "topic_id": labels}), n_far))
    if results:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with workspace.writing() as wcon, transaction(wcon):
            for method, rows, n_far in results:
                wcon.register("_new_topic_rows", rows)
                try:
                    wcon.execute("INSERT INTO topics (post_id, method, topic_id) SELECT post_id, ?, topic_id "
                                 "FROM _new_topic_rows ON CONFLICT DO NOTHING", [method])
                finally:
                    wcon.unregister("_new_topic_rows")
                wcon.execute("UPDATE topic_builds SET assigned_since = assigned_since + ?, far_since = far_since + ?, "
                             "last_assigned_at = ? WHERE method = ?", [len(rows), n_far, now, method])
    report(progress, len(pending), len(pending), "new posts assigned")
    return Assignment(assigned, far)


@dataclass(frozen=True)
class TopicBuild:
    """When a discovered method was built and how well its topics still fit the posts assigned since."""

    method: str
    built_at: dt.datetime
    model_id: str | None
    n_posts: int
    n_topics: int
    far_share: float  # at build
    assigned_since: int
    far_share_since: float | None  # None before any post was assigned since

    @property
    def rebuild_advised(self) -> bool:
        """Far share since the build exceeds the build's by :data:`REBUILD_MARGIN` over at least :data:`REBUILD_MIN_POSTS` posts."""
        return (self.far_share_since is not None and self.assigned_since >= REBUILD_MIN_POSTS
                and self.far_share_since > self.far_share + REBUILD_MARGIN)


def topic_builds(con: duckdb.DuckDBPyConnection) -> dict[str, TopicBuild]:
    """Each discovered method's latest build (:class:`TopicBuild`), complaints first."""
    rows = con.execute(
        "SELECT method, built_at, model_id, n_posts, n_topics, n_far, assigned_since, far_since FROM topic_builds"
    ).fetchall()
    builds = {
        m: TopicBuild(m, built, model, int(n), int(k), int(nf) / max(int(n), 1), int(since),
                      (int(fs) / int(since)) if since else None)
        for m, built, model, n, k, nf, since, fs in rows
    }
    return {m: builds[m] for m in sorted(builds, key=_method_rank)}


def _method_rank(method: str) -> tuple[int, str]:
    order = (ASPECT_METHOD, *DISCOVERED_METHODS)
    return (order.index(method) if method in order else len(order), method)


def stored_methods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Topic methods with stored assignments: ``"aspect"``, ``"complaint"``, ``"general"``, then any other."""
    rows = con.execute("SELECT DISTINCT method FROM topics").fetchall()
    return sorted((str(r[0]) for r in rows), key=_method_rank)


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
    """The topic method pages and alerts read first: ``aspect``, else ``complaint``, else ``general`` (when stored)."""
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
    """Every stored topic as ``(method, topic_id, label)``, aspects first, then complaints (for filter menus)."""
    rows = con.execute("SELECT method, topic_id, label FROM topic_labels ORDER BY method, topic_id").fetchall()
    return sorted(((str(m), int(t), str(label)) for m, t, label in rows), key=lambda r: (_method_rank(r[0]), r[1]))
