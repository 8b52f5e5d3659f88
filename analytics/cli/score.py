"""``brandlens score``: fill predictions for a workspace's unscored posts with one model."""

from __future__ import annotations

import argparse
import sys

from analytics.cli import add_json_argument, add_workspace_argument, positive_int, print_json, workspace_file

ENGINES: dict[str, str] = {
    "local": "this process (sorted batches, dynamic padding)",
    "ray": "Ray Data actors, one model each, on a local or existing Ray cluster (pip install 'brandlens[ray]')",
}
"""Scoring engines by name; another engine registers itself here with a runner in ``_RUNNERS``."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from analytics.models.transformer import CPU_BACKENDS

    parser = subparsers.add_parser(
        "score",
        help="score the workspace's unscored posts with a sentiment model",
        description=(
            "Read the posts that MODEL has not scored yet, in chunks, and write their predictions "
            "(one transaction per chunk: a second run scores nothing, a killed run resumes). "
            "Texts longer than the model's window are scored window by window, never truncated."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument(
        "--model", default="default",
        help="'default' (our classifier on multilingual-e5-small), 'minilm-v1' (the default before BrandLens 2), 'vader', a Hugging Face model id or a local model directory (default: default)",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CUDA when a GPU is visible, else CPU (default: auto)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="texts per forward pass (default: 64 CPU, 256 CUDA)")
    parser.add_argument("--chunk-size", type=positive_int, default=2048, help="posts committed together (default: 2048)")
    parser.add_argument("--cpu-backend", choices=["auto", *CPU_BACKENDS], default="auto",
                        help="CPU arithmetic for transformer models (default: auto = onnx-int8 for the default "
                             "model, the measured fastest at equal accuracy, see benchmarks/inference.py; "
                             "torch fp32 for other models)")
    parser.add_argument("--engine", choices=sorted(ENGINES), default="local",
                        help="where scoring runs: local (this process) or ray (default: local)")
    parser.add_argument("--address", default=None,
                        help="with --engine ray: the cluster, 'auto', HOST:PORT or ray://HOST:PORT "
                             "(default: $RAY_ADDRESS, else a local Ray on this machine)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="with --engine ray: actors, one model each (default: one per GPU, else one per 2 CPUs)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run_local(args: argparse.Namespace, workspace, model, progress):  # noqa: ANN001 - CLI glue
    from analytics.scoring.local import score_workspace

    return score_workspace(workspace, model, batch_size=args.batch_size, chunk_size=args.chunk_size, progress=progress)


def run_ray(args: argparse.Namespace, workspace, model, progress):  # noqa: ANN001 - CLI glue
    from analytics.scoring.ray_engine import score_workspace_ray

    return score_workspace_ray(
        workspace, args.model, address=args.address, num_workers=args.workers, batch_size=args.batch_size,
        device=args.device, chunk_size=args.chunk_size, cpu_backend=args.cpu_backend, progress=progress,
    )


_RUNNERS = {"local": run_local, "ray": run_ray}


def run(args: argparse.Namespace) -> int:
    import warnings

    from analytics.models import DeviceFallbackWarning, load_model
    from analytics.core.progress import tqdm_progress

    if args.engine != "ray" and (args.address is not None or args.workers is not None):
        from analytics.core.errors import BrandLensError

        raise BrandLensError("--address and --workers need --engine ray")
    workspace = workspace_file(args.workspace)
    with workspace.reading() as con:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeviceFallbackWarning)
            # the ray engine loads the model in its actors, not here
            model = None if args.engine == "ray" else load_model(
                args.model, device=args.device, batch_size=args.batch_size, cpu_backend=args.cpu_backend, con=con
            )
    for w in caught:
        if issubclass(w.category, DeviceFallbackWarning):
            print(f"brandlens score: warning: {w.message}", file=sys.stderr)
    model_id = args.model.strip() if model is None else model.model_id
    with tqdm_progress(f"scoring with {model_id}", unit="posts") as bar:
        summary = _RUNNERS[args.engine](args, workspace, model, bar)
    if args.json:
        print_json({**summary.to_dict(), "engine": args.engine})
    else:
        rate = summary.scored / summary.seconds if summary.seconds > 0 else 0.0
        print(
            f"{summary.model}: scored {summary.scored} posts ({summary.already_scored} already scored) "
            f"in {summary.seconds:.1f} s on {summary.device} ({rate:.0f} posts/s)"
        )
    return 0
