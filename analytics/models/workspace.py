"""Models that live in a workspace: adapted models, stored as a small delta on the shipped encoder.

An adapted model (``brandlens adapt``) is an ordinary classifier artifact directory
(:func:`analytics.models.network.save_artifact`: the retrained top layers or LoRA adapter
and the head, fp16) packed into the ``workspace_models`` table with its card. Keeping it in
the DuckDB file means it travels and dies with the workspace: copy the file and the model
comes along; delete it and the model is gone. To serve it, the artifact is unpacked once
into a cache folder named by its digest (``$BRANDLENS_CACHE/models`` or
``~/.cache/brandlens/models``) and loaded like the default model (held while it loads; folders
not loaded for :data:`~analytics.core.held.IDLE_DAYS` are pruned); Ray actors receive the
bytes from the driver and unpack them the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from analytics.core.errors import BrandLensError
from analytics.core.held import (
    IDLE_DAYS,
    STALE_PARTIAL_SECONDS,
    Pruned,
    folder_entries,
    hold_file,
    prune,
)

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


MODELS_CACHE = "models"
"""Under :func:`~analytics.models.backbones.cache_root`: workspace models unpacked, a folder per artifact digest."""


def models_cache() -> Path:
    """Where unpacked workspace models are kept (``$BRANDLENS_CACHE/models``)."""
    from analytics.models.backbones import cache_root

    return cache_root() / MODELS_CACHE


def unpack_artifact(artifact: bytes) -> Path:
    """The artifact unpacked into the cache (once per digest); returns its directory.

    Use :func:`unpacked_artifact` to read it: a prune may remove a folder that nobody holds.
    """
    from analytics.models.network import CONFIG_FILE

    digest = hashlib.sha256(artifact).hexdigest()[:16]
    target = models_cache() / digest
    if (target / CONFIG_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=target.parent))
    with tarfile.open(fileobj=io.BytesIO(artifact), mode="r") as tar:
        tar.extractall(staging, filter="data")
    try:
        staging.rename(target)  # atomic: a concurrent process either sees the whole folder or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process unpacked the same digest first
    else:
        prune_unpacked()
    return target


@contextmanager
def unpacked_artifact(artifact: bytes) -> Iterator[Path]:
    """The artifact's folder in the cache (unpacked if need be), held for the block so no prune removes it.

    A model is read whole when it loads, so the hold lasts the load; the folder's last use is then.
    """
    from analytics.models.network import CONFIG_FILE

    for _ in range(3):  # a prune that moved it away between unpacking and holding: unpack again
        target = unpack_artifact(artifact)
        fd = hold_file(target / CONFIG_FILE)
        if fd is not None:
            break
    else:
        raise BrandLensError(f"the model cache {models_cache()} keeps losing this model's files; is another "
                             "process removing them?")
    try:
        yield target
    finally:
        os.close(fd)


def prune_unpacked(*, idle_days: float = IDLE_DAYS, now: float | None = None) -> Pruned:
    """Remove the unpacked models no process has loaded for ``idle_days`` and none is loading.

    Each adapted model unpacks a few MB (LoRA) to tens of MB (retrained layers); a team that adapts
    weekly would otherwise keep every one it ever served. The workspace keeps the artifact, so a
    model removed here is unpacked again when it is next loaded. Half-unpacked folders of processes
    killed more than a day ago go too.
    """
    from analytics.models.network import CONFIG_FILE

    now = time.time() if now is None else now
    return prune([(path, now - STALE_PARTIAL_SECONDS, path) if path.name.startswith(".")  # a killed process's
                  else (path / CONFIG_FILE, now - idle_days * 86400, path)
                  for path in folder_entries(models_cache()) if path.is_dir()])


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
