"""Topics on a real export: do the discovered complaint topics agree with the crowd's complaint reasons?

Airline export (``../shared/data/airline/Tweets.csv``) ingested with its reason column
(``negativereason``) hidden from the mapping (renamed, it lands in ``extra`` and nothing reads
it); the crowd's sentiment stands in for the model's predictions (model id ``crowd``), so the
figures measure topics, not sentiment errors. Then, in one run:

* **current method** (before issue 16, reproduced here): MiniLM-L6 embeddings of every post,
  k-means with k by silhouette over 4..12 on a 3,000-post sample, the rest to the nearest
  centroid; labels: the first three c-TF-IDF keywords with the brand names left out;
* **new** (:func:`analytics.brand.topics.build_topics`): complaint topics among the negative
  posts (the seconds are the whole build: complaint and general topics), once with the old
  default's MiniLM-L6 embeddings and once with the default encoder's (multilingual-e5-small);
* **BERTopic defaults** with the shipped encoder (``BERTopic().fit_transform(docs, embeddings)``:
  UMAP, HDBSCAN, c-TF-IDF, all defaults) on the same negative posts; outliers (-1) count as one
  topic. Skipped with a line when ``bertopic`` is not installed (``pip install bertopic``).

For each: NMI and adjusted Rand index between each negative tweet's topic and its crowd reason
("Can't Tell" left out), the share of topic labels holding a @handle, a link or a brand name
(or a handle seen in the texts), and seconds.

With ``--sensitivity``, also how the complaint topics' agreement varies with the number of topics
and the seed: :func:`analytics.brand.topics.discover_topics` on the same negative tweets for k = 6..16
and seeds 0, 1, 2 (each post embedded once, the embeddings reused), NMI and ARI per run, and the
stability of each k (mean adjusted Rand index between the three seeds' topics: a k whose topics
come back under another seed is one the posts support).

Usage: ``HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/topics.py [--sensitivity]`` (~5-10 min on 2
cores, ~5 more with ``--sensitivity``; skips when the export is absent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = Path(os.environ.get("BRANDLENS_REFERENCE_DATA", ROOT.parent / "shared" / "data"))
HIDDEN = "crowd_hidden"  # a name the column mapping does not take for an aspect


def agreement(reasons: pd.Series, topics: pd.Series) -> tuple[float, float, int]:
    """NMI and ARI between crowd reasons and topics over the tweets with a reason other than "Can't Tell"."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    keep = reasons.notna() & (reasons != "") & (reasons != "Can't Tell") & topics.notna()
    y, t = reasons[keep].to_numpy(), topics[keep].astype(int).to_numpy()
    return float(normalized_mutual_info_score(y, t)), float(adjusted_rand_score(y, t)), int(keep.sum())


def bad_label_share(labels: list[str], forbidden: set[str]) -> float:
    """Share of labels with a link, an @handle, or a word that is a brand name or a handle seen in the texts."""
    bad = 0
    for label in labels:
        words = set(re.findall(r"\w+", label.lower()))
        if "@" in label or re.search(r"https?|www\.|t\.co", label.lower()) or words & forbidden:
            bad += 1
    return bad / max(len(labels), 1)


def current_method(con, embed) -> tuple[pd.DataFrame, list[str]]:
    """Topic discovery as it was before issue 16, on every post of the workspace."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from analytics.brand.topics import brand_words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

    posts = con.execute("SELECT post_id, text FROM posts WHERE text <> '' ORDER BY post_id").df()
    texts = posts["text"].tolist()
    rng = np.random.default_rng(0)
    fit_idx = np.sort(rng.choice(len(texts), size=min(3000, len(texts)), replace=False))
    vectors = np.asarray(embed(texts), dtype=np.float32)  # the sample and the rest: every post embedded
    best = None
    for k in range(4, 13):
        model = KMeans(n_clusters=k, n_init=4, random_state=0).fit(vectors[fit_idx])
        score = silhouette_score(vectors[fit_idx], model.labels_, sample_size=2000, random_state=0)
        if best is None or score > best[0]:
            best = (score, model)
    labels = best[1].predict(vectors)
    joined = pd.DataFrame({"text": texts, "topic": labels}).groupby("topic")["text"].agg(" ".join)
    stop = sorted(ENGLISH_STOP_WORDS | set(brand_words(con)))
    vec = CountVectorizer(stop_words=stop, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", max_features=20000)
    scores = TfidfTransformer(sublinear_tf=True).fit_transform(vec.fit_transform(joined.to_numpy())).toarray()
    vocab = vec.get_feature_names_out()
    names = [", ".join(vocab[j] for j in np.argsort(-scores[i])[:3]) for i in range(len(joined))]
    return pd.DataFrame({"post_id": posts["post_id"], "topic_id": labels}), names


def cached(embed):
    """``embed`` with each distinct text embedded once (the sensitivity runs share one sample's texts)."""
    memory: dict[str, np.ndarray] = {}

    def embed_once(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in memory]
        if missing:
            memory.update(zip(missing, np.asarray(embed(missing), dtype=np.float32)))
        return np.stack([memory[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    return embed_once


def sensitivity(truth: pd.DataFrame, exclude: set[str], ks: range, seeds: tuple[int, ...]) -> list[str]:
    """Markdown rows: NMI per seed, mean NMI and ARI, and stability across seeds, for each k."""
    from sklearn.metrics import adjusted_rand_score

    from analytics.brand.topics import discover_topics
    from analytics.models.encoder import SentenceEncoder

    embed = cached(SentenceEncoder(cpu_backend="onnx-int8"))
    docs = truth["text"].tolist()
    lines = ["| k | NMI seed " + " | NMI seed ".join(map(str, seeds)) + " | mean NMI | mean ARI | stability |",
             "|---|" + "---|" * (len(seeds) + 3)]
    for k in ks:
        runs = []
        for seed in seeds:
            print(f"sensitivity: k={k} seed={seed} ...", file=sys.stderr)
            found = discover_topics(docs, embed=embed, exclude=exclude, n_topics=k, random_state=seed)
            runs.append((found.labels, *agreement(truth["reason"], pd.Series(found.labels))[:2]))
        stability = np.mean([adjusted_rand_score(runs[a][0], runs[b][0])
                             for a in range(len(runs)) for b in range(a + 1, len(runs))])
        lines.append(f"| {k} | " + " | ".join(f"{r[1]:.3f}" for r in runs)
                     + f" | {np.mean([r[1] for r in runs]):.3f} | {np.mean([r[2] for r in runs]):.3f} | {stability:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--sensitivity", action="store_true", help="also NMI for k = 6..16 under seeds 0, 1, 2")
    args = parser.parse_args()
    path = REFERENCE / "airline" / "Tweets.csv"
    if not path.exists():
        sys.exit(f"skipped: the airline export {path} is absent (reference data, ../shared/data)")
    import torch

    from analytics import store
    from analytics.brand.topics import (COMPLAINT_METHOD, DEFAULT_SAMPLE, brand_words, build_topics,
                                        default_n_topics, excluded_words)
    from analytics.ingest import ingest_file
    from analytics.models.encoder import SentenceEncoder

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="topics-bench-"))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns={"negativereason": HIDDEN})
    raw.to_csv(tmp / "tweets.csv", index=False)
    con = store.connect(tmp / "airline.duckdb")
    print(f"ingesting {len(raw):,} tweets (reason column hidden) ...", file=sys.stderr)
    ingest_file(con, tmp / "tweets.csv", source="airline", mapping={"aspect": None})  # no aspect column mapped
    assert not con.execute("SELECT count(*) FROM posts WHERE aspect IS NOT NULL").fetchall()[0][0]
    con.execute(
        """
        INSERT INTO predictions SELECT post_id, 'crowd', (gold_label = 'negative')::DOUBLE,
               (gold_label = 'neutral')::DOUBLE, (gold_label = 'positive')::DOUBLE, gold_label, now()::TIMESTAMP
        FROM posts WHERE gold_label IS NOT NULL
        """
    )
    truth = con.execute(
        f"SELECT post_id, text, extra->>'{HIDDEN}' AS reason FROM posts WHERE gold_label = 'negative' ORDER BY post_id"
    ).df()
    all_texts = [r[0] for r in con.execute("SELECT text FROM posts").fetchall()]
    forbidden = excluded_words(all_texts, brand_words(con))
    rows = []

    print("current method ...", file=sys.stderr)
    t0 = time.perf_counter()
    assigned, names = current_method(con, SentenceEncoder(encoder="all-minilm-l6-v2"))
    seconds = time.perf_counter() - t0
    merged = truth.merge(assigned, on="post_id", how="left")
    nmi, ari, n_eval = agreement(merged["reason"], merged["topic_id"])
    rows.append(("current: k-means on every post, k by silhouette", len(names), nmi, ari, bad_label_share(names, forbidden),
                 seconds, "; ".join(names[:4])))
    baseline_seconds = seconds

    built = None
    for name, encoder in (("new method, MiniLM-L6 embeddings (minilm-v1's encoder)", "all-minilm-l6-v2"),
                          ("new: complaint topics (negative posts), multilingual-e5-small", None)):
        print(f"{name} ...", file=sys.stderr)
        t0 = time.perf_counter()
        embed = SentenceEncoder(encoder=encoder, cpu_backend="onnx-int8") if encoder else None  # None: the default
        built = build_topics(con, model_id="crowd", embed=embed)
        seconds = time.perf_counter() - t0
        topics = con.execute("SELECT post_id, topic_id FROM topics WHERE method = ?", [COMPLAINT_METHOD]).df()
        labels = con.execute("SELECT label, keywords::VARCHAR FROM topic_labels WHERE method = ? ORDER BY topic_id",
                             [COMPLAINT_METHOD]).fetchall()
        shown = [f"{label} ({', '.join(json.loads(kw)[:3])})" for label, kw in labels]
        merged = truth.merge(topics, on="post_id", how="left")
        nmi, ari, _ = agreement(merged["reason"], merged["topic_id"])
        rows.append((name, len(labels), nmi, ari, bad_label_share(shown, forbidden), seconds, "; ".join(shown[:4])))
    general = next(s for s in built.summaries if s.method == "general")

    if args.skip_bertopic:
        print("BERTopic skipped (--skip-bertopic)", file=sys.stderr)
    else:
        try:
            from bertopic import BERTopic
        except ImportError as exc:
            print(f"BERTopic skipped: {exc} (pip install bertopic)", file=sys.stderr)
        else:
            print("BERTopic defaults ...", file=sys.stderr)
            docs = truth["text"].tolist()
            t0 = time.perf_counter()
            embeddings = SentenceEncoder()(docs)
            model = BERTopic()
            found, _ = model.fit_transform(docs, embeddings=embeddings)
            seconds = time.perf_counter() - t0
            info = model.get_topic_info()
            names = info["Name"].tolist()
            nmi, ari, _ = agreement(truth["reason"], pd.Series(found))
            rows.append(("BERTopic defaults, shipped encoder (negative posts)", len(names), nmi, ari,
                         bad_label_share([n.split("_", 1)[1].replace("_", " ") for n in names], forbidden),
                         seconds, "; ".join(names[:4])))

    print(f"\nAirline export, {len(raw):,} tweets, reason column hidden; agreement over the {n_eval:,} negative "
          f"tweets whose crowd reason is not \"Can't Tell\"\n")
    print("| method | topics | NMI | ARI | labels with handle/link/brand | seconds | x current | first labels |")
    print("|---|---|---|---|---|---|---|---|")
    for name, k, nmi, ari, bad, seconds, first in rows:
        print(f"| {name} | {k} | {nmi:.3f} | {ari:.3f} | {bad:.0%} | {seconds:.0f} | "
              f"{seconds / baseline_seconds:.2f} | {first} |")
    print(f"\nnew: the build's seconds cover complaint topics ({built.summaries[0].n_posts:,} posts) and general "
          f"topics ({general.n_posts:,} posts, {general.n_topics} topics); far from every topic at build: "
          f"complaints {built.summaries[0].far_share:.1%}, general {general.far_share:.1%}. "
          f"{args.threads} torch threads; figures from a shared machine are contended: compare the ratios.")
    if args.sensitivity:
        lines = sensitivity(truth, forbidden, range(6, 17), (0, 1, 2))
        print("\nComplaint topics (negative tweets) by number of topics k and seed; the shipped default k is "
              f"{default_n_topics(min(DEFAULT_SAMPLE, len(truth)))}; stability: mean ARI between the seeds' topics\n")
        print("\n".join(lines))
    con.close()


if __name__ == "__main__":
    main()
