"""Scale: 1,000,000 posts scored by the local engine and by Ray, by number of workers; the GPU path.

Measured in one run, each measurement in its own subprocess (so that its peak memory is its
own), on a workspace of synthetic posts built with DuckDB SQL (tweet-like texts of 3 to 30
words):

* **VADER on N posts** (default 1,000,000): :func:`analytics.scoring.local.score_workspace`
  (the baseline) against :func:`analytics.scoring.ray_engine.score_workspace_ray` with 1 and 2
  actors on a local Ray. Ray's start-up (``ray.init``) is timed apart; the scoring time
  includes reading the posts as Arrow batches, starting the actors (each loads the model)
  and writing every prediction back, one transaction per chunk.
* **The default model on a subset** (``--model-n``, default 20,000): the same engines;
  the time for 1,000,000 posts is *extrapolated* from the measured rate (a transformer on
  two shared CPU cores needs hours for 1M posts; the table marks extrapolated rows).
* **GPU** (only when CUDA is present): texts/s of the default model and of a
  bert-base-sized classifier with random weights (``BertConfig()`` defaults, 110M
  parameters), fp32 against bf16, over ``--gpu-n`` texts, and the time for 1M posts.

Peak memory: ``ru_maxrss`` of the measuring process and of its waited-for children, and
the peak of the summed RSS of its whole process tree (driver, raylet, GCS, actors) sampled
every 0.2 s, which is what Ray costs in memory on one machine.

Usage::

    nice -n 10 .venv/bin/python benchmarks/scale.py                       # 1M posts, workers 1 2
    nice -n 10 .venv/bin/python benchmarks/scale.py --n 200000 --model-n 5000
    .venv/bin/python benchmarks/scale.py --skip-vader --gpu-n 50000        # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ONE_MILLION = 1_000_000

WORDS = (
    "love hate great awful fine broken fast slow ok the phone service battery screen price support "
    "delivery refund app update crash camera store staff waiting again never always best worst really "
    "not very so just new old my our their @user http://url #brand today yesterday lol thanks"
).split()


# -- the workspace ------------------------------------------------------------------------------

def build_workspace(path: Path, n: int) -> float:
    """``n`` synthetic posts, 3 to 30 words each; returns the seconds it took."""
    from analytics import store

    start = time.perf_counter()
    with store.open_workspace(path) as con:
        con.execute(
            """
            INSERT INTO posts (post_id, source, text, original_text, ingest_run)
            SELECT printf('p%09d', i), 'bench', t, t, 'bench'
            FROM (
                SELECT i, array_to_string(
                    list_transform(range(3 + (hash(i) % 28)::INT), lambda j: ?[1 + (hash(i * 31 + j) % ?)::INT]), ' '
                ) AS t
                FROM range(?) r(i)
            )
            """,
            [list(WORDS), len(WORDS), n],
        )
    return time.perf_counter() - start


# -- measuring inside a child process --------------------------------------------------------------

class TreeMemory:
    """Peak of the summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self._proc, *self._proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def worker_score(args: argparse.Namespace) -> dict:
    """Score the workspace ``args.ws`` with one engine; print what it cost."""
    from analytics import store

    startup = 0.0
    with TreeMemory() as mem:
        if args.engine == "local":
            from analytics.models import load_model
            from analytics.scoring.local import score_workspace

            t = time.perf_counter()
            model = load_model(args.spec, device=args.device)
            load = time.perf_counter() - t
            with store.open_workspace(Path(args.ws)) as con:
                summary = score_workspace(con, model)
            seconds = summary.seconds + load  # the Ray actors load their model inside the timed call too
        else:
            import ray

            from analytics.models.devices import cpu_cores
            from analytics.scoring.ray_engine import score_workspace_ray

            t = time.perf_counter()
            ray.init(num_cpus=cpu_cores(), include_dashboard=False, log_to_driver=False, logging_level="warning")
            startup = time.perf_counter() - t
            with store.open_workspace(Path(args.ws)) as con:
                summary = score_workspace_ray(con, args.spec, num_workers=args.workers[0], device=args.device)
            seconds = summary.seconds
            ray.shutdown()
    return {
        "scored": summary.scored,
        "seconds": seconds,
        "startup": startup,
        "device": summary.device,
        "maxrss_self_mib": _maxrss_mib(resource.RUSAGE_SELF),
        "maxrss_children_mib": _maxrss_mib(resource.RUSAGE_CHILDREN),
        "tree_peak_mib": mem.peak / 2**20,
    }


def worker_gpu(args: argparse.Namespace) -> dict:
    """texts/s on CUDA: the default model and a random bert-base, fp32 and bf16."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from analytics.models import load_model
    from analytics.models.labels import label_mapping
    from analytics.models.transformer import TransformerSentiment
    from analytics.scoring.local import score_texts
    from analytics.models.network import encoder_dir

    texts = synthetic_texts(args.gpu_n)
    out: dict[str, dict] = {}
    from analytics.models.backbones import DEFAULT_BACKBONE

    models = {f"default ({DEFAULT_BACKBONE})": lambda: load_model("default", device="cuda")}

    def bert_base() -> TransformerSentiment:
        torch.manual_seed(0)
        config = BertConfig(num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"})
        module = BertForSequenceClassification(config)  # random weights: speed only
        tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir()))  # BERT uncased vocabulary, 30,522 tokens
        return TransformerSentiment(
            module, tokenizer, model_id="bert-base-random", labels=label_mapping(config.id2label, where="bert-base"),
            device="cuda", max_length=128,
        )

    models["bert-base, random weights (110M)"] = bert_base
    for name, make in models.items():
        try:
            model = make()
        except Exception as exc:  # noqa: BLE001
            out[name] = {"error": str(exc)}
            continue
        for dtype_name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
            model.module = model.module.to(dtype=dtype)
            score_texts(model, texts[:2048])  # warm-up: kernels, allocator
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            t = time.perf_counter()
            score_texts(model, texts)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - t
            out[f"{name} {dtype_name}"] = {
                "texts": len(texts),
                "seconds": seconds,
                "gpu_peak_mib": torch.cuda.max_memory_allocated() / 2**20,
                "gpu": torch.cuda.get_device_name(0),
            }
        del model
        torch.cuda.empty_cache()
    return out


def synthetic_texts(n: int) -> list[str]:
    """The same texts as :func:`build_workspace` makes, in memory."""
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        """
        SELECT array_to_string(list_transform(range(3 + (hash(i) % 28)::INT), lambda j: ?[1 + (hash(i * 31 + j) % ?)::INT]), ' ')
        FROM range(?) r(i) ORDER BY i
        """,
        [list(WORDS), len(WORDS), n],
    ).fetchall()
    return [r[0] for r in rows]


# -- the driver ------------------------------------------------------------------------------------

def child(argv: list[str], *, timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAY_DEDUP_LOGS": "0"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(lines[-1])


def measure_engines(base: Path, tmp: Path, spec: str, n: int, workers: list[int], timeout: float) -> list[dict]:
    rows = []
    configs = [("local", None)] + [("ray", w) for w in workers]
    for engine, w in configs:
        ws = tmp / f"{spec}-{engine}-{w}.duckdb"
        shutil.copy(base, ws)
        argv = ["--_worker", "score", "--ws", str(ws), "--spec", spec, "--engine", engine, "--device", "cpu"]
        if w is not None:
            argv += ["--workers", str(w)]
        print(f"  {spec}: {engine} {'' if w is None else f'{w} worker(s)'} on {n:,} posts ...", file=sys.stderr, flush=True)
        result = child(argv, timeout=timeout)
        result.update(workload=spec, engine=engine, workers=w or "-", n=n)
        rows.append(result)
        ws.unlink(missing_ok=True)
    return rows


def print_table(rows: list[dict]) -> None:
    w = max([34, *(len(r["workload"]) for r in rows)])
    header = (
        f"{'workload':<{w}} {'engine':<6} {'workers':>7} {'posts':>9} {'seconds':>8} {'posts/s':>8} "
        f"{'vs local':>8} {'Ray start s':>11} {'1M posts':>14} {'tree peak MiB':>13} {'max proc MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    base_rate: dict[str, float] = {}
    for r in rows:
        if "error" in r:
            print(f"{r['workload']:<{w}} {r['engine']:<6} {r['workers']!s:>7} {r['n']:>9,} error: {r['error']}")
            continue
        rate = r["scored"] / r["seconds"] if r["seconds"] > 0 else float("nan")
        if r["engine"] == "local":
            base_rate[r["workload"]] = rate
        ratio = rate / base_rate[r["workload"]] if r["workload"] in base_rate else float("nan")
        million = ONE_MILLION / rate if rate > 0 else float("nan")
        mark = "" if r["n"] >= ONE_MILLION else " (extrap.)"
        proc = max(r["maxrss_self_mib"], r["maxrss_children_mib"])
        print(
            f"{r['workload']:<{w}} {r['engine']:<6} {r['workers']!s:>7} {r['scored']:>9,} {r['seconds']:>8.1f} "
            f"{rate:>8.0f} {ratio:>7.2f}x {r['startup']:>11.1f} {million / 60:>8.1f} min{mark:<0} "
            f"{r['tree_peak_mib']:>13.0f} {proc:>12.0f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=ONE_MILLION, help="posts for the VADER comparison (default 1,000,000)")
    parser.add_argument("--model-n", type=int, default=20_000, help="posts for the default model on CPU (default 20,000)")
    parser.add_argument("--gpu-n", type=int, default=50_000, help="texts for the GPU section (default 50,000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray actor counts (default: 1 2)")
    parser.add_argument("--skip-vader", action="store_true")
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement (default 3600)")
    # internal: one measurement in a child process
    parser.add_argument("--_worker", choices=["score", "gpu"], help=argparse.SUPPRESS)
    parser.add_argument("--ws", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._worker == "score":
        print(json.dumps(worker_score(args)))
        return 0
    if args._worker == "gpu":
        print(json.dumps(worker_gpu(args)))
        return 0

    import torch

    from analytics.models import DEFAULT_MODEL_DIR
    from analytics.models.devices import cpu_cores

    print(f"# scale benchmark: {cpu_cores()} CPU cores, torch {torch.__version__}, "
          f"CUDA {'yes: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'absent'}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="brandlens-scale-") as d:
        tmp = Path(d)
        if not args.skip_vader:
            base = tmp / "base.duckdb"
            built = build_workspace(base, args.n)
            print(f"# built a workspace of {args.n:,} posts in {built:.1f} s "
                  f"({base.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
            rows += measure_engines(base, tmp, "vader", args.n, args.workers, args.timeout)
            base.unlink()
        if not args.skip_model:
            if DEFAULT_MODEL_DIR.is_dir() and any(DEFAULT_MODEL_DIR.iterdir()):
                base = tmp / "subset.duckdb"
                build_workspace(base, args.model_n)
                rows += measure_engines(base, tmp, "default", args.model_n, args.workers, args.timeout)
            else:
                print(f"# default model: skipped, its artifact {DEFAULT_MODEL_DIR} is absent")
    from analytics.models import resolve_cpu_backend
    from analytics.models.backbones import DEFAULT_BACKBONE

    served_as = resolve_cpu_backend(None, default_model=True)  # what both engines load by default
    for r in rows:
        if r["workload"] == "vader":
            r["workload"] = "VADER (lexicon), CPU"
        elif r["workload"] == "default":
            r["workload"] = f"default {DEFAULT_BACKBONE} {served_as}, CPU"
    print()
    print_table(rows)
    print()
    print("posts/s: posts scored / seconds, reading and writing included (Ray: actors' start included, "
          "ray.init apart); vs local: rate against the local engine on the same posts in this run; "
          "1M posts: measured when posts >= 1M, else extrapolated from the rate; tree peak: summed RSS of "
          "the measuring process and all its descendants (driver, raylet, GCS, actors); max proc: largest "
          "ru_maxrss of one process (self or waited-for children).")

    if torch.cuda.is_available():
        print()
        print("## GPU: texts/s (score_texts on in-memory texts: sorted, dynamic padding, inference_mode)")
        result = child(["--_worker", "gpu", "--gpu-n", str(args.gpu_n)], timeout=args.timeout)
        if "error" in result:
            print(f"GPU section failed: {result['error']}")
        else:
            print(f"{'model':<44} {'texts':>7} {'seconds':>8} {'texts/s':>9} {'1M posts':>10} {'GPU peak MiB':>12}")
            for name, r in result.items():
                if "error" in r:
                    print(f"{name:<44} error: {r['error']}")
                    continue
                rate = r["texts"] / r["seconds"]
                print(f"{name:<44} {r['texts']:>7,} {r['seconds']:>8.2f} {rate:>9.0f} "
                      f"{ONE_MILLION / rate / 60:>6.1f} min {r['gpu_peak_mib']:>12.0f}")
            print(f"(GPU: {next(iter(result.values())).get('gpu', '?')}; 1M posts extrapolated from the rate)")
    else:
        print()
        print("## GPU: not run (no CUDA device here); on a GPU machine this section measures the default model "
              "and a random-weight bert-base, fp32 against bf16.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
