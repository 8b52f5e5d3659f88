"""Scoring on Ray: the same predictions as :func:`analytics.scoring.local.score_workspace`, spread over actors.

:func:`score_workspace_ray` reads the posts that the model has not scored yet from DuckDB
as Arrow record batches, puts them in Ray's object store, and runs
``Dataset.map_batches`` with a fixed pool of :class:`ScorerActor` actors, each of which
loads the model once (one GPU per actor when the cluster has GPUs). The driver iterates
over the scored batches and writes them back with
:func:`analytics.scoring.local.write_predictions`, one transaction per chunk, so that a second
run scores nothing and a killed run keeps the chunks it wrote.

"Which posts are unscored" and "write predictions idempotently" are those of
:mod:`analytics.scoring.local`; only the transport differs. The texts are scored by
:func:`analytics.scoring.local.score_texts` inside each actor, so long texts are windowed
exactly as on the local engine.

Ray is an optional dependency (``pip install 'brandlens[ray]'``). ``address=None``
starts a local Ray on this machine (or joins the cluster named by ``RAY_ADDRESS``);
``"auto"`` joins the cluster this machine is a node of; ``"HOST:PORT"`` (the head's GCS
port, 6379 by default) or ``"ray://HOST:10001"`` (Ray Client) join a remote one. The
cluster's nodes need brandlens installed at the same version, and the model where
``load_model(spec)`` finds it (e.g. ``data/models/`` for the default model).
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from typing import Any
from urllib.parse import urlsplit

import duckdb
import numpy as np

from analytics.core.errors import BrandLensError
from analytics.models.devices import DEVICES, DeviceFallbackWarning, cpu_cores
from analytics.models.transformer import CPU_BACKENDS
from analytics.core.progress import ProgressCallback, report
from analytics.models.workspace import is_workspace_model, model_artifact
from analytics.core.signals import deferred_interrupts, interrupt_from, interrupted_with
from analytics.store.sharing import Workspace, as_workspace
from analytics.scoring.local import ScoreSummary, count_unscored, unscored_record_batches, write_predictions
from analytics.core.labels import CLASSES
from analytics.core.checks import check_choice, check_positive_int

RAY_MISSING = "Ray is not installed ({reason}); install the optional extra: pip install 'brandlens[ray]'"
"""Error text when ``import ray`` fails (tests match it)."""

RAY_UNREACHABLE = "cannot reach the Ray cluster at {address!r}: {reason}"
"""Error text when the cluster's address does not answer (tests match it)."""

CONNECT_TIMEOUT_S = 5.0
"""Seconds to wait for the cluster's port to accept a connection before giving up."""

CPUS_PER_WORKER = 2
"""Default pool size on CPUs: one actor per this many cluster CPUs (at least one actor)."""

PROBABILITY_COLUMNS = tuple(f"p_{c}" for c in CLASSES)


# -- the actor ------------------------------------------------------------------------------

class ScorerActor:
    """One model per actor: scores Arrow batches of ``post_id``, ``text``.

    Ray Data constructs it once per actor with ``fn_constructor_kwargs`` and calls it on
    each batch (``batch_format="pyarrow"``).

    Parameters
    ----------
    spec : str
        The model spec for :func:`analytics.models.load_model`.
    device : {"auto", "cpu", "cuda"}
    batch_size : int, optional
        Texts per forward pass.
    cpu_backend : {"auto", "torch", "int8", "onnx", "onnx-int8"}, optional
        CPU arithmetic for transformer models (default: :func:`load_model`'s).
    artifact : bytes, optional
        An adapted model's packed artifact (:mod:`analytics.models.workspace`): nodes need only
        the package, the workspace's model travels with the task.
    """

    def __init__(
        self, spec: str, device: str = "auto", batch_size: int | None = None, cpu_backend: str | None = None,
        artifact: bytes | None = None,
    ) -> None:
        from analytics.models import load_model, load_workspace_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeviceFallbackWarning)  # the driver already warned
            if artifact is not None:  # an adapted model: the driver read it from the workspace and ships it
                self.model = load_workspace_model(spec, None, device=device, batch_size=batch_size, artifact=artifact)
            else:
                self.model = load_model(spec, device=device, batch_size=batch_size, cpu_backend=cpu_backend)
        if self.model.model_id != spec:
            raise BrandLensError(f"model {spec!r} loaded with id {self.model.model_id!r}; expected the spec as its id")
        if tuple(self.model.classes_) != CLASSES:
            raise BrandLensError(f"model {spec!r} has classes {tuple(self.model.classes_)}, expected {CLASSES}")
        self.batch_size = batch_size
        _threads_to_assigned_cpus(self.model)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from analytics.scoring.local import score_texts

        texts = batch.column("text").to_pylist()
        proba = score_texts(self.model, texts, batch_size=self.batch_size)
        columns = {"post_id": batch.column("post_id")}
        for j, name in enumerate(PROBABILITY_COLUMNS):
            columns[name] = pa.array(proba[:, j], type=pa.float64())
        columns["label"] = pa.array(np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)], type=pa.string())
        return pa.table(columns)


def _threads_to_assigned_cpus(model: Any) -> None:
    """On the CPU, run the model with as many threads as CPUs Ray gave this actor (not the machine's)."""
    if getattr(model, "device", "cpu") != "cpu" or not hasattr(model, "set_threads"):
        return
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    model.set_threads(max(1, int(cpus)))


# -- connecting -----------------------------------------------------------------------------

def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError as exc:
        raise BrandLensError(RAY_MISSING.format(reason=exc)) from exc
    return ray


def _check_reachable(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` or ``ray://HOST:PORT`` address whose port does not answer.

    ``ray.init`` retries an unreachable GCS for minutes; a plain TCP connect tells at once.
    """
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # port out of range or not a number
        raise BrandLensError(RAY_UNREACHABLE.format(address=address, reason=f"bad address ({exc})")) from exc
    if not host or port is None:
        raise BrandLensError(
            RAY_UNREACHABLE.format(address=address, reason="expected HOST:PORT, ray://HOST:PORT or 'auto'")
        )
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:  # refused, unreachable, unknown host, timeout
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise BrandLensError(RAY_UNREACHABLE.format(address=address, reason=reason)) from exc


def connect_ray(address: str | None = None) -> bool:
    """Join (``address``) or start (``None``) Ray; return whether this call started it.

    When Ray is already initialised in this process, it is used as it is (an explicit
    ``address`` is still checked to answer).

    Raises
    ------
    BrandLensError
        When Ray is not installed or the address cannot be reached.
    """
    ray = _import_ray()
    if address is not None:
        _check_reachable(address)
    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS") or None
    if target is not None and address is None:
        _check_reachable(target)
    kwargs: dict[str, Any] = {
        "ignore_reinit_error": True,
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": "warning",
    }
    if target in (None, "local"):  # a new local Ray: the cores this process may use
        kwargs["num_cpus"] = cpu_cores()
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, TimeoutError) as exc:
        raise BrandLensError(RAY_UNREACHABLE.format(address=target or "local", reason=exc)) from exc
    return True


# -- the engine -------------------------------------------------------------------------------

def _cluster_error(spec: str, exc: BaseException) -> BrandLensError:
    """A one-line error for a failure on the cluster (Ray keeps only the text of an actor's exception)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    last = lines[-1] if lines else type(exc).__name__
    for prefix in ("analytics.core.errors.BrandLensError: ", "BrandLensError: "):
        if last.startswith(prefix):
            last = last[len(prefix):]
    return BrandLensError(f"Ray scoring with model {spec!r} failed on the cluster: {last}")


def score_workspace_ray(
    target: duckdb.DuckDBPyConnection | Workspace,
    spec: str,
    *,
    address: str | None = None,
    num_workers: int | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    chunk_size: int = 2048,
    cpu_backend: str | None = None,
    progress: ProgressCallback | None = None,
) -> ScoreSummary:
    """Score every post of the workspace that model ``spec`` has not scored yet, on Ray.

    Parameters
    ----------
    target : duckdb.DuckDBPyConnection or Workspace
        An open, writable workspace, or a :class:`analytics.store.sharing.WorkspaceFile`
        (read once, then each scored chunk committed on a short connection).
        An open, writable workspace (on the driver; the actors never see it).
    spec : str
        ``"default"``, ``"vader"``, a Hugging Face model id or a local directory, as for
        :func:`analytics.models.load_model`; it is the model id stored with predictions.
    address : str, optional
        The cluster: ``None`` starts a local Ray (or joins ``RAY_ADDRESS``), ``"auto"``,
        ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` join an existing one. A Ray already
        initialised in this process is used as it is.
    num_workers : int, optional
        Actors, each holding one model. Default: the cluster's GPUs when the model runs
        on GPUs, else one per :data:`CPUS_PER_WORKER` cluster CPUs.
    batch_size : int, optional
        Texts per forward pass inside an actor (default: the model's own).
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``auto`` and ``cuda``: one GPU per actor when the cluster has GPUs (``cuda``
        without GPUs warns and runs on CPUs). VADER always runs on CPUs.
    chunk_size : int, default 2048
        Posts per actor call and per written transaction.
    cpu_backend : {"auto", "torch", "int8", "onnx", "onnx-int8"}, optional
        CPU arithmetic for transformer models (default: :func:`analytics.models.load_model`'s).
    progress : callable, optional
        ``progress(done, total, message)`` after each written chunk.

    Returns
    -------
    ScoreSummary
        As :func:`analytics.scoring.local.score_workspace`; ``seconds`` includes starting Ray
        and the actors when this call starts them.

    Raises
    ------
    BrandLensError
        When Ray is not installed, the cluster cannot be reached, or the model cannot be
        loaded by the actors.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be 'default', 'vader', a Hugging Face model id or a directory, got {spec!r}")
    spec = spec.strip()
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ValueError(f"address must be None, 'auto', 'HOST:PORT' or 'ray://HOST:PORT', got {address!r}")
    check_choice("device", device, DEVICES)
    if cpu_backend is not None:
        check_choice("cpu_backend", cpu_backend, ("auto", *CPU_BACKENDS))
    check_positive_int("num_workers", num_workers, optional=True)
    check_positive_int("batch_size", batch_size, optional=True)
    check_positive_int("chunk_size", chunk_size)
    start = time.perf_counter()
    ray = _import_ray()
    workspace = as_workspace(target)
    started = connect_ray(address)
    try:
        with workspace.reading() as con:
            todo, already = count_unscored(con, spec)
        report(progress, 0, todo, f"{spec}: {already} already scored")
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        use_gpu = spec != "vader" and device != "cpu" and gpus > 0
        if device == "cuda" and not use_gpu and spec != "vader":
            warnings.warn(
                "CUDA was asked for but the Ray cluster has no GPUs; scoring runs on CPUs",
                DeviceFallbackWarning,
                stacklevel=2,
            )
        cpus = max(1.0, float(resources.get("CPU", 1.0)))
        workers = num_workers or (gpus if use_gpu else max(1, int(cpus) // CPUS_PER_WORKER))
        if todo == 0:
            return ScoreSummary(spec, 0, already, time.perf_counter() - start, "cuda" if use_gpu else "cpu")
        done = _run(
            ray,
            workspace,
            spec,
            todo=todo,
            workers=workers,
            cpus_per_worker=0.0 if use_gpu else cpus / workers,
            use_gpu=use_gpu,
            device="cpu" if not use_gpu else device,
            batch_size=batch_size,
            cpu_backend=cpu_backend,
            chunk_size=chunk_size,
            progress=progress,
        )
    finally:
        if started:
            ray.shutdown()
    return ScoreSummary(
        model=spec,
        scored=done,
        already_scored=already,
        seconds=time.perf_counter() - start,
        device="cuda" if use_gpu else "cpu",
    )


def _run(
    ray: Any,
    workspace: Workspace,
    spec: str,
    *,
    todo: int,
    workers: int,
    cpus_per_worker: float,
    use_gpu: bool,
    device: str,
    batch_size: int | None,
    cpu_backend: str | None,
    chunk_size: int,
    progress: ProgressCallback | None,
) -> int:
    import pyarrow as pa

    # the whole unscored set goes to the object store first: the DuckDB result must be
    # closed before predictions are written on the same connection
    with workspace.reading() as con:
        refs = [ray.put(pa.Table.from_batches([b])) for b in unscored_record_batches(con, spec, batch_size=chunk_size)]
        artifact = model_artifact(con, spec) if is_workspace_model(spec) else None
    if not refs:
        return 0
    context = ray.data.DataContext.get_current()
    quiet = {"enable_progress_bars": False, "print_on_execution_start": False, "enable_auto_log_stats": False}
    saved = {k: getattr(context, k) for k in quiet}
    for k, v in quiet.items():  # our progress callback reports; Ray Data's bars would interleave
        setattr(context, k, v)
    dataset = ray.data.from_arrow_refs(refs).map_batches(
        ScorerActor,
        fn_constructor_kwargs={"spec": spec, "device": device, "batch_size": batch_size, "cpu_backend": cpu_backend,
                               "artifact": artifact},
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_size=chunk_size,
        batch_format="pyarrow",
        num_cpus=cpus_per_worker,
        num_gpus=1 if use_gpu else 0,
    )
    done = 0
    batches = iter(dataset.iter_batches(batch_size=chunk_size, batch_format="pyarrow"))
    try:
        while True:
            try:
                scored = next(batches)
            except StopIteration:
                break
            except Exception as exc:  # raised on the cluster: an actor failed to load or to score
                raise _cluster_error(spec, exc) from exc
            proba = np.column_stack([scored.column(c).to_numpy() for c in PROBABILITY_COLUMNS])
            with workspace.writing() as con, deferred_interrupts() as held:
                done += write_predictions(con, spec, scored.column("post_id").to_pylist(), proba)
                held.committed = f"{done:,} of {todo:,} posts were scored and committed"
            report(progress, done, todo, spec)
    except BaseException as exc:  # Ctrl-C/SIGTERM, also when DuckDB turned it into "Query interrupted"
        interrupt = interrupt_from(exc)
        if interrupt is None:
            raise
        raise interrupted_with(interrupt, f"{done:,} of {todo:,} posts were scored and committed") from None
    finally:
        for k, v in saved.items():
            setattr(context, k, v)
    return done
