"""Which posts to label next: the ones that teach the model most, plus a random share.

Active choice is *uncertainty with diversity* (the "diverse mini-batch" strategy of Zhdanov
2019, which small-text calls ``EmbeddingKMeans``): per brand, the posts the model is least
sure of (smallest margin between its two most probable classes) form a pool; the pool is
clustered with k-means over the shipped encoder's sentence embeddings, one cluster per post
wanted, and the least certain post of each cluster is served. Uncertain posts alone would
be near-duplicates (twenty copies of the same outage tweet teach little more than one).

Brands are served in proportion to their volume (at least one post each when the batch
allows), so a small competitor is not starved. A fixed share (:data:`RANDOM_SHARE`) is drawn
uniformly from all unlabelled posts and marked ``queue:random``: actively chosen labels are
not a sample of the posts, so evaluation and the KPI correction rest on the random ones
(and the source's labels), never on the active ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.core.checks import check_positive_int
from analytics.core.labels import CLASSES

RANDOM_SHARE = 0.25
"""Share of each batch drawn at random (one post in four)."""

POOL_PER_PICK = 8
"""Uncertain candidates clustered per actively chosen post."""

QUEUE_COLUMNS = ["post_id", "brand", "text", "guess", "confidence", "chosen_by", "margin"]

EmbedFunction = Callable[[Sequence[str]], np.ndarray]


def _candidate_sql(model_id: str, brands: Sequence[str] | None) -> tuple[str, list[object]]:
    """FROM/WHERE of the posts the queue may serve: scored, readable, unlabelled, unskipped."""
    from analytics.brand.kpis import readable_posts_sql

    readable, params = readable_posts_sql("p")
    where = ["pr.model_id = ?", readable, "g.post_id IS NULL", "s.post_id IS NULL"]
    args: list[object] = [model_id, *params]
    if brands:
        where.append("list_contains(?::VARCHAR[], p.brand)")
        args.append(list(brands))
    return (
        f"""FROM posts p
        JOIN predictions pr USING (post_id)
        LEFT JOIN gold_labels g USING (post_id)
        LEFT JOIN (SELECT DISTINCT post_id FROM label_skips) s USING (post_id)
        WHERE {' AND '.join(where)}""",
        args,
    )


def _candidates(con: duckdb.DuckDBPyConnection, model_id: str, *, brands: Sequence[str] | None) -> pd.DataFrame:
    """Scored, unlabelled, unskipped posts the model can read, with its probabilities."""
    body, args = _candidate_sql(model_id, brands)
    return con.execute(
        f"SELECT p.post_id, p.brand, p.text, pr.label AS guess, pr.p_negative, pr.p_neutral, pr.p_positive "
        f"{body} ORDER BY p.post_id",
        args,
    ).df()


def margins(proba: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row: small = uncertain (breaking-ties uncertainty)."""
    top2 = np.sort(proba, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def allocate(sizes: pd.Series, n: int) -> dict[str, int]:
    """``n`` picks over groups in proportion to their sizes (largest remainder), each group at most its size.

    Examples
    --------
    >>> allocate(pd.Series({"a": 90, "b": 10}), 5)
    {'a': 4, 'b': 1}
    """
    sizes = sizes[sizes > 0]
    if sizes.empty or n <= 0:
        return {}
    n = min(n, int(sizes.sum()))
    out = {str(k): 0 for k in sizes.index}
    if n >= len(sizes):  # one each first, so no brand is starved
        out = {k: 1 for k in out}
    remaining = n - sum(out.values())
    while remaining > 0:
        room = pd.Series({k: sizes[k] - out[k] for k in out})
        share = sizes / sizes.sum() * n - pd.Series(out)
        share[room <= 0] = -np.inf
        key = str(share.idxmax())
        out[key] += 1
        remaining -= 1
    return {k: v for k, v in out.items() if v}


def _uncertain_pool(group: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k * POOL_PER_PICK`` least certain posts of one brand, the candidates of its ``k`` picks."""
    return group.nsmallest(min(len(group), k * POOL_PER_PICK), "margin")


def _diverse_uncertain(pool: pd.DataFrame, k: int, vectors: np.ndarray | None, seed: int) -> pd.DataFrame:
    """The least certain post of each of ``k`` k-means clusters of ``pool`` (its rows' ``vectors``)."""
    if len(pool) <= k:
        return pool
    from sklearn.cluster import KMeans

    clusters = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors)
    pool = pool.assign(cluster=clusters)
    return pool.sort_values("margin").groupby("cluster", sort=False).head(1).drop(columns="cluster")


def next_posts(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    *,
    n: int = 50,
    random_share: float = RANDOM_SHARE,
    brands: Sequence[str] | None = None,
    seed: int = 0,
    embed: EmbedFunction | None = None,
) -> pd.DataFrame:
    """The next ``n`` posts to label, as columns :data:`QUEUE_COLUMNS`, random and active interleaved.

    Parameters
    ----------
    model_id : str
        The model whose uncertainty chooses (its predictions must be stored).
    random_share : float, default 0.25
        Share of the batch drawn uniformly at random (``chosen_by = "queue:random"``).
    brands : sequence of str, optional
        Only these brands (default: all).
    seed : int
        Seed of the random draw and of k-means (the same workspace state gives the same batch).
    embed : callable, optional
        Texts -> unit-length vectors; default the shipped sentence encoder.
    """
    check_positive_int("n", n)
    if not 0 <= random_share <= 1:
        raise ValueError(f"random_share must be within [0, 1], got {random_share}")
    pool = _candidates(con, model_id, brands=brands)
    if pool.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    proba = pool[[f"p_{c}" for c in CLASSES]].to_numpy(dtype=float)
    pool["confidence"] = proba.max(axis=1)
    pool["margin"] = margins(proba)
    rng = np.random.default_rng(seed)
    n = min(n, len(pool))
    n_random = int(round(n * random_share))
    random_rows = pool.iloc[rng.choice(len(pool), size=n_random, replace=False)] if n_random else pool.iloc[:0]
    rest = pool.drop(index=random_rows.index)
    if embed is None and n > n_random:  # an all-random batch needs no encoder
        from analytics.models.encoder import embed_texts as embed
    brand_of = rest["brand"].fillna("(no brand)")
    allocation = allocate(brand_of.value_counts(), n - n_random)
    pools = {brand: _uncertain_pool(rest[brand_of == brand], k) for brand, k in allocation.items()}
    # every brand's pool embedded in one call: one encoder load and full batches, not one per brand
    clustered = [brand for brand, pool in pools.items() if len(pool) > allocation[brand]]
    vectors: dict[str, np.ndarray] = {}
    if clustered:
        embedded = embed(pd.concat([pools[b] for b in clustered])["text"].tolist())
        vectors = dict(zip(clustered, np.split(embedded, np.cumsum([len(pools[b]) for b in clustered])[:-1])))
    picks = [_diverse_uncertain(pool, allocation[b], vectors.get(b), seed) for b, pool in pools.items()]
    active = pd.concat(picks) if picks else rest.iloc[:0]
    active = active.sort_values("margin").assign(chosen_by="queue:active")
    random_rows = random_rows.assign(chosen_by="queue:random")
    # interleave: every 1/random_share-th post is a random one
    order = []
    a, r = list(active.index), list(random_rows.index)
    every = int(round(1 / random_share)) if random_share > 0 else 0
    while a or r:
        if r and (not a or (every and len(order) % every == every - 1)):
            order.append(("r", r.pop(0)))
        else:
            order.append(("a", a.pop(0)))
    frame = pd.concat([(random_rows if kind == "r" else active).loc[[i]] for kind, i in order])
    return frame[QUEUE_COLUMNS].reset_index(drop=True)


def queue_size(con: duckdb.DuckDBPyConnection, model_id: str, *, brands: Sequence[str] | None = None) -> int:
    """Posts the queue could still serve (scored, readable, not labelled, not skipped), of ``brands`` or all."""
    body, args = _candidate_sql(model_id, brands)
    return int(con.execute(f"SELECT count(*) {body}", args).fetchone()[0])


def skip_post(con: duckdb.DuckDBPyConnection, post_id: str, *, reason: str = "skip", origin: str) -> None:
    """Record that a post was skipped (``skip``) or is not about the brand (``off_topic``: KPIs leave it out)."""
    import datetime as dt

    from analytics.core.checks import check_choice

    check_choice("reason", reason, ("skip", "off_topic"))
    con.execute("INSERT INTO label_skips VALUES (?, ?, ?, ?)",
                [post_id, reason, origin, dt.datetime.now(dt.UTC).replace(tzinfo=None)])


def label_progress(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Labels people gave, by how the post was chosen, and the posts skipped or off topic."""
    rows = con.execute(
        "SELECT coalesce(chosen_by, 'explorer'), count(*) FROM label_corrections GROUP BY 1"
    ).fetchall()
    out = {str(k): int(v) for k, v in rows}
    for reason, count in con.execute("SELECT reason, count(*) FROM label_skips GROUP BY 1").fetchall():
        out[str(reason)] = int(count)
    return out
