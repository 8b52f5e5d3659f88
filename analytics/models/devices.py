"""Choosing where models run: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``."""

from __future__ import annotations

import os
import warnings

from analytics.core.errors import BrandLensError

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")

CUDA_ABSENT = (
    "CUDA was asked for but no CUDA GPU is available here ({reason}); "
    "scoring runs on the CPU instead. Pass --device cpu (or auto) to silence this."
)
"""Warning text when ``cuda`` falls back to the CPU (tests match it)."""

CUDA_REQUIRED = "CUDA was asked for but no CUDA GPU is available here ({reason}); use --device cpu or auto"
"""Error text when ``cuda`` is required (``strict=True``) and absent."""


class DeviceFallbackWarning(UserWarning):
    """A device was asked for that is absent; the work runs on the CPU instead."""


def _cuda_absent_reason() -> str | None:
    import torch

    if not torch.backends.cuda.is_built():
        return f"this torch build ({torch.__version__}) has no CUDA support"
    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False: no driver or no visible GPU"
    return None


def resolve_device(device: str = "auto", *, strict: bool = False) -> str:
    """Return the device to run on, ``"cpu"`` or ``"cuda"``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``auto`` picks CUDA when a GPU is visible, else the CPU. ``cuda`` is a request:
        when no GPU is there, the CPU is used and a :class:`DeviceFallbackWarning` says
        why (or, with ``strict=True``, a :class:`BrandLensError` is raised).
    strict : bool, default False
        Raise instead of falling back.

    Returns
    -------
    str
        ``"cpu"`` or ``"cuda"``.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {list(DEVICES)}, got {device!r}")
    if device == "cpu":
        return "cpu"
    reason = _cuda_absent_reason()
    if reason is None:
        return "cuda"
    if device == "auto":
        return "cpu"
    if strict:
        raise BrandLensError(CUDA_REQUIRED.format(reason=reason))
    warnings.warn(CUDA_ABSENT.format(reason=reason), DeviceFallbackWarning, stacklevel=2)
    return "cpu"


CPU_THREADS_ENV = "BRANDLENS_CPU_THREADS"
"""Environment variable capping the CPU threads a model uses (e.g. ``1`` for a scoring job run beside
the dashboard, or for each of several processes sharing a few cores: two processes of two threads each
on two cores lose about a fifth of ONNX Runtime's throughput to contention)."""


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total), at most
    ``$BRANDLENS_CPU_THREADS`` when that is set to a positive whole number."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cores = max(1, os.cpu_count() or 1)
    cap = os.environ.get(CPU_THREADS_ENV, "").strip()
    if not cap:
        return cores
    if not cap.isdigit() or int(cap) < 1:
        raise BrandLensError(f"${CPU_THREADS_ENV} must be a positive whole number of threads, got {cap!r}")
    return min(cores, int(cap))
