"""The scoring engine: fill ``predictions`` for a workspace's posts with one model.

:func:`score_workspace` reads the posts that have no prediction from the model yet, in
chunks (an anti-join on ``predictions``, in ``post_id`` order), scores each chunk with
:func:`score_texts` and writes its predictions in one transaction. So a second run
scores nothing, and a run stopped half-way (a kill, Ctrl-C, an error) keeps the chunks it
finished; the next run starts with the first post still unscored. Given a
:class:`~analytics.store.sharing.WorkspaceFile` it holds the file only to read a chunk
and to commit one, never while the model works.

The engine is a function of a connection and a model; other engines (e.g. one that
spreads the posts over a Ray cluster, :mod:`analytics.scoring.ray_engine`) reuse
:func:`count_unscored`, :func:`unscored_record_batches` (the same query as
:func:`unscored_after`) and :func:`write_predictions`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.models.base import SentimentModel
from analytics.core.progress import ProgressCallback, report
from analytics.core.signals import deferred_interrupts, interrupt_from, interrupted_with
from analytics.store import transaction
from analytics.store.sharing import Workspace, as_workspace
from analytics.core.labels import CLASSES
from analytics.core.checks import check_positive_int, check_proba


@dataclass(frozen=True)
class ScoreSummary:
    """What a scoring run did; ``to_dict()`` is the ``brandlens score --json`` output."""

    model: str
    scored: int
    already_scored: int
    seconds: float
    device: str

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d


def score_texts(
    model: SentimentModel, texts: Sequence[str], *, window: bool = True, batch_size: int | None = None
) -> np.ndarray:
    """Probabilities ``(len(texts), 3)`` over :data:`CLASSES` for any model.

    Parameters
    ----------
    model : SentimentModel
    texts : sequence of str
    window : bool, default True
        For transformer models (those with a ``tokenizer`` and ``max_length``): a text
        longer than the window is split into overlapping token windows whose
        probabilities are averaged, weighted by window length; nothing is truncated.
        ``False`` reads only the first window. Lexicon models (VADER) read whole texts
        either way.
    batch_size : int, optional
        Overrides the model's batch size, where it has one.

    Returns
    -------
    ndarray of shape (len(texts), 3)
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not one string")
    texts = list(texts)
    if not texts:
        return np.zeros((0, len(CLASSES)))
    if hasattr(model, "predict_proba_ids") and hasattr(model, "encode"):
        proba = model.predict_proba(texts, batch_size=batch_size, window=window)  # type: ignore[call-arg]
    elif hasattr(model, "tokenizer") and hasattr(model, "max_length"):
        proba = _decoded_windows(model, texts, window=window)
    else:
        proba = model.predict_proba(texts)
    return check_proba(f"probabilities from model {model.model_id!r}", proba, n_rows=len(texts))


def _decoded_windows(model: SentimentModel, texts: list[str], *, window: bool) -> np.ndarray:
    """Windows for a transformer model that only takes texts: split tokens, decode each window."""
    from analytics.models.windows import windowed_proba

    tok = model.tokenizer  # type: ignore[attr-defined]
    size = int(model.max_length) - tok.num_special_tokens_to_add(pair=False)  # type: ignore[attr-defined]
    ids = tok(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    if not window:
        ids = [t[:size] for t in ids]
    # decoding can re-tokenize a little longer (rare word pieces): leave a margin
    margin = max(1, size // 16)
    return windowed_proba(
        ids,
        lambda ws: model.predict_proba([tok.decode(w) for w in ws]),
        size=size - margin,
        overlap=(size - margin) // 4,
    )


def count_unscored(con: duckdb.DuckDBPyConnection, model_id: str) -> tuple[int, int]:
    """``(unscored, already_scored)`` post counts for ``model_id``."""
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE r.post_id IS NULL), count(r.post_id)
        FROM posts p LEFT JOIN predictions r ON r.post_id = p.post_id AND r.model_id = ?
        """,
        [model_id],
    ).fetchall()[0]
    return int(row[0]), int(row[1])


_UNSCORED_AFTER = """
    SELECT p.post_id, p.text FROM posts p
    ANTI JOIN predictions r ON r.post_id = p.post_id AND r.model_id = ?
    WHERE p.post_id > ?
    ORDER BY p.post_id
"""
"""The one definition of "unscored": posts without a ``model_id`` prediction, after a post id."""


def unscored_record_batches(
    con: duckdb.DuckDBPyConnection, model_id: str, *, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """Yield Arrow record batches (``post_id``, ``text``) of every post without a ``model_id`` prediction.

    One query streamed in ``post_id`` order, ``batch_size`` rows at a time, for engines that
    hand the posts to another system (e.g. Ray Data). The result stays open on ``con`` until
    the iterator is exhausted: read it to the end before writing predictions on ``con``.
    """
    relation = con.sql(_UNSCORED_AFTER, params=[model_id, ""])
    if hasattr(relation, "to_arrow_reader"):  # DuckDB >= 2.0
        reader = relation.to_arrow_reader(batch_size)
    else:
        reader = relation.fetch_arrow_reader(batch_size)
    for batch in reader:
        if batch.num_rows:
            yield batch


def unscored_after(
    con: duckdb.DuckDBPyConnection, model_id: str, after: str, limit: int
) -> tuple[list[str], list[str]]:
    """``(post_ids, texts)`` of the next ``limit`` posts after ``after`` without a ``model_id`` prediction.

    In ``post_id`` order, so a caller that passes the last id it saw never reads a post
    twice, whatever was written in between.
    """
    rows = con.execute(_UNSCORED_AFTER + " LIMIT ?", [model_id, after, limit]).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def write_predictions(
    con: duckdb.DuckDBPyConnection, model_id: str, post_ids: Sequence[str], proba: np.ndarray
) -> int:
    """Insert one chunk of predictions in one transaction; rows already present are kept.

    Returns the number of rows inserted.
    """
    proba = check_proba("proba", proba, n_rows=len(post_ids))
    frame = pd.DataFrame(
        {
            "post_id": list(post_ids),
            "model_id": model_id,
            "p_negative": proba[:, 0],
            "p_neutral": proba[:, 1],
            "p_positive": proba[:, 2],
            "label": np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)],
        }
    )
    with transaction(con):
        before = con.execute("SELECT count(*) FROM predictions WHERE model_id = ?", [model_id]).fetchall()[0][0]
        con.register("_brandlens_chunk", frame)
        try:
            con.execute(
                """
                INSERT INTO predictions
                SELECT post_id, model_id, p_negative, p_neutral, p_positive, label, now()::TIMESTAMP
                FROM _brandlens_chunk
                ON CONFLICT DO NOTHING
                """
            )
        finally:
            con.unregister("_brandlens_chunk")
        after = con.execute("SELECT count(*) FROM predictions WHERE model_id = ?", [model_id]).fetchall()[0][0]
    return int(after - before)


def score_workspace(
    target: duckdb.DuckDBPyConnection | Workspace,
    model: SentimentModel,
    *,
    batch_size: int | None = None,
    chunk_size: int = 2048,
    progress: ProgressCallback | None = None,
) -> ScoreSummary:
    """Score every post of the workspace that ``model`` has not scored yet.

    Parameters
    ----------
    target : duckdb.DuckDBPyConnection or Workspace
        An open, writable workspace, or a :class:`analytics.store.sharing.WorkspaceFile`:
        then each chunk is read on a short read-only connection, scored with no
        connection open, and written in one short transaction, so other processes (the
        dashboard, an ingest) use the workspace between chunks.
    model : SentimentModel
        The model; its ``model_id`` keys the predictions.
    batch_size : int, optional
        Texts per forward pass (default: the model's own).
    chunk_size : int, default 2048
        Posts read, scored and committed together. A kill loses at most one chunk.
    progress : callable, optional
        ``progress(done, total, message)`` after each chunk.

    Returns
    -------
    ScoreSummary
        ``scored`` posts in this run, posts ``already_scored`` before it, wall-clock
        ``seconds`` and the ``device`` used.

    Raises
    ------
    analytics.core.signals.Interrupted
        On Ctrl-C or SIGTERM, saying how many posts were scored and committed before it.
    """
    if not isinstance(model, SentimentModel):
        raise ValueError(f"model must implement SentimentModel (model_id, classes_, predict_proba), got {type(model).__name__}")
    if tuple(model.classes_) != CLASSES:
        raise ValueError(f"model {model.model_id!r} has classes {tuple(model.classes_)}, expected {CLASSES}")
    check_positive_int("chunk_size", chunk_size)
    check_positive_int("batch_size", batch_size, optional=True)
    workspace = as_workspace(target)
    start = time.perf_counter()
    with workspace.reading() as con:
        todo, already = count_unscored(con, model.model_id)
    done = 0
    report(progress, 0, todo, f"{model.model_id}: {already} already scored")
    after = ""
    try:
        while True:
            with workspace.reading() as con:
                post_ids, texts = unscored_after(con, model.model_id, after, chunk_size)
            if not post_ids:
                break
            after = post_ids[-1]
            proba = score_texts(model, texts, batch_size=batch_size)
            with workspace.writing() as con, deferred_interrupts() as held:
                done += write_predictions(con, model.model_id, post_ids, proba)
                held.committed = _scored_sentence(done, todo)
            report(progress, done, todo, model.model_id)
    except BaseException as exc:  # Ctrl-C/SIGTERM, also when DuckDB turned it into "Query interrupted"
        interrupt = interrupt_from(exc)
        if interrupt is None:
            raise
        raise interrupted_with(interrupt, _scored_sentence(done, todo)) from None
    return ScoreSummary(
        model=model.model_id,
        scored=done,
        already_scored=already,
        seconds=time.perf_counter() - start,
        device=str(getattr(model, "device", "cpu")),
    )


def progress_chunk_size(n_posts: int, *, updates: int = 20, smallest: int = 16, largest: int = 2048) -> int:
    """A chunk size that moves a progress bar about ``updates`` times over ``n_posts`` (a page's scoring).

    Long reviews score at tens of posts a second: one 2,048-post chunk would show "0 of 379"
    until the end.

    Examples
    --------
    >>> progress_chunk_size(379)
    19
    >>> progress_chunk_size(1_000_000)
    2048
    """
    return max(smallest, min(largest, -(-n_posts // updates)))


def _scored_sentence(done: int, todo: int) -> str:
    rest = "; score again to do the rest" if done < todo else ""
    return f"{done:,} of {todo:,} posts were scored and committed{rest}"
