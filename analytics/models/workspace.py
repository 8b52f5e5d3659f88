"""Models that live in a workspace: adapted models, stored as a small delta on the shipped encoder.

An adapted model (``brandlens adapt``) is an ordinary classifier artifact directory
(:func:`analytics.models.network.save_artifact`: the retrained top layers or LoRA adapter
and the head, fp16) packed into the ``workspace_models`` table with its card. Keeping it in
the DuckDB file means it travels and dies with the workspace: copy the file and the model
comes along; delete it and the model is gone. To serve it, the artifact is unpacked once
into a cache folder named by its digest (``$BRANDLENS_CACHE/models`` or
``~/.cache/brandlens/models``) and loaded like the default model; Ray actors receive the
bytes from the driver and unpack them the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError

ADAPTED_PREFIX = "adapted-"
"""Every workspace model id starts with this, so it can never shadow ``default``, ``vader`` or a hub id."""


def pack_artifact(directory: str | os.PathLike[str]) -> bytes:
    """The files of an artifact directory as one uncompressed tar (safetensors do not compress)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(Path(directory).iterdir()):
            if path.is_file():
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


def cache_root() -> Path:
    """Where unpacked workspace models are kept (``$BRANDLENS_CACHE/models``)."""
    base = os.environ.get("BRANDLENS_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "brandlens") / "models"


def unpack_artifact(artifact: bytes) -> Path:
    """The artifact unpacked into the cache (once per digest); returns its directory."""
    digest = hashlib.sha256(artifact).hexdigest()[:16]
    target = cache_root() / digest
    if (target / "classifier_config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=target.parent))
    with tarfile.open(fileobj=io.BytesIO(artifact), mode="r") as tar:
        tar.extractall(staging, filter="data")
    try:
        staging.rename(target)  # atomic: a concurrent process either sees the whole folder or none
    except OSError:
        pass  # another process unpacked the same digest first
    return target


def is_workspace_model(spec: str) -> bool:
    return spec.startswith(ADAPTED_PREFIX)


def store_model(
    con: duckdb.DuckDBPyConnection, model_id: str, *, base: str, method: str, card: dict[str, object],
    artifact_dir: str | os.PathLike[str],
) -> None:
    """Write (or replace) a workspace model with its card."""
    if not is_workspace_model(model_id):
        raise ValueError(f"workspace model ids start with {ADAPTED_PREFIX!r}, got {model_id!r}")
    con.execute("DELETE FROM workspace_models WHERE model_id = ?", [model_id])
    con.execute(
        "INSERT INTO workspace_models VALUES (?, ?, ?, ?, ?, ?)",
        [model_id, base, method, dt.datetime.now(dt.UTC).replace(tzinfo=None), json.dumps(card, default=str),
         pack_artifact(artifact_dir)],
    )


def workspace_models(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """``model_id, base, method, created_at, card`` of every workspace model, newest first."""
    rows = con.execute(
        "SELECT model_id, base, method, created_at, card FROM workspace_models ORDER BY created_at DESC, model_id"
    ).fetchall()
    return [{"model_id": m, "base": b, "method": k, "created_at": c, "card": json.loads(card)}
            for m, b, k, c, card in rows]


def model_artifact(con: duckdb.DuckDBPyConnection, model_id: str) -> bytes:
    """The packed artifact of a workspace model, or a clear error naming the models there are."""
    rows = con.execute("SELECT artifact FROM workspace_models WHERE model_id = ?", [model_id]).fetchall()
    if not rows:
        known = [m["model_id"] for m in workspace_models(con)]
        raise BrandLensError(
            f"model {model_id!r} is not in this workspace (its adapted models: {known or 'none'}); "
            "adapt one with `brandlens adapt`"
        )
    return bytes(rows[0][0])


def delete_model(con: duckdb.DuckDBPyConnection, model_id: str) -> None:
    """Remove a workspace model, its predictions, label splits and cross-fitted predictions."""
    for table in ("workspace_models", "predictions", "model_labels", "crossfit_predictions"):
        con.execute(f"DELETE FROM {table} WHERE model_id = ?", [model_id])
