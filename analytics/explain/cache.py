"""Explanations cached in the workspace table ``explanations`` (key: model id, text, settings)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from analytics.store.sharing import as_workspace
from analytics.explain.shap_text import TextExplanation, explain_texts


def cache_key(model_id: str, text: str, settings: dict) -> str:
    """SHA-256 of model id, text and the explanation settings (sorted JSON)."""
    blob = json.dumps({"model": model_id, "text": text, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cached_explanation(
    target, model, text: str, *, post_id: str | None = None, refresh: bool = False, **settings
) -> tuple[TextExplanation, bool]:
    """The explanation of ``text`` from the cache, or computed and stored.

    ``target`` is an open workspace or a :class:`analytics.store.sharing.Workspace`; with
    the latter the file is open to look up and to store, not while SHAP runs.

    Returns
    -------
    (TextExplanation, bool)
        The explanation and whether it came from the cache.
    """
    workspace = as_workspace(target)
    key = cache_key(model.model_id, text, settings)
    if not refresh:
        with workspace.reading() as con:
            rows = con.execute("SELECT payload FROM explanations WHERE cache_key = ?", [key]).fetchall()
        if rows:
            payload = rows[0][0]
            return TextExplanation.from_dict(json.loads(payload) if isinstance(payload, str) else payload), True
    exp = explain_texts(model, [text], **settings)[0]
    with workspace.writing() as con:
        con.execute(
            "INSERT OR REPLACE INTO explanations (cache_key, model_id, post_id, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            [key, model.model_id, post_id, json.dumps(exp.to_dict()), datetime.now(timezone.utc).replace(tzinfo=None)],
        )
    return exp, False
