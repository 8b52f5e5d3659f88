"""Inference speed: our scoring engine against a naive ``transformers.pipeline`` baseline.

Measures, in one run and on the same CPU cores, texts per second over the SemEval-2016
task 4A test tweets (20,000 by default):

* **naive**: ``pipeline("text-classification", model=M, tokenizer=T, top_k=None)`` called
  one text at a time, where M holds the very same weights (the default model's network
  wrapped as a ``transformers`` ``PreTrainedModel``; a Hugging Face model as it is);
* **engine**: :func:`analytics.scoring.local.score_texts` with the loaded model (sorted by
  length, dynamic padding, ``inference_mode``, threads = cores), once per CPU backend
  (``torch`` fp32, dynamic ``int8``, and ``onnx``: ONNX Runtime fp32).

Each measurement runs in its own subprocess so that its peak memory (``ru_maxrss``) is its
own. Also printed: the engine's useful arithmetic rate against a ``torch`` fp32 matrix
multiply measured on the same cores (FLOPs per text = 2 x body parameters x tokens +
4 x layers x hidden x tokens^2 for attention + 2 x head parameters), the agreement of each
backend's labels with fp32, and F1^PN (mean F1 of positive and negative) on the texts scored.

Usage::

    nice -n 10 .venv/bin/python benchmarks/inference.py                 # 20,000 tweets
    nice -n 10 .venv/bin/python benchmarks/inference.py --n 2000 --naive-n 500

``--naive-n`` measures the one-at-a-time baseline on the first N texts only (its rate is
per text, so the ratio stays comparable; the table says so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "semeval2017"


# -- data ---------------------------------------------------------------------------------

def load_test_tweets(data: Path, n: int) -> tuple[list[str], list[str]]:
    """The first ``n`` SemEval-2016 4A test tweets and their labels (decoded, deduplicated)."""
    from analytics.reference import load_semeval

    frame = load_semeval(data, split="test")
    frame = frame.iloc[:n]
    return list(frame["text"]), list(frame["label"])


# -- workers (each in its own process) ------------------------------------------------------

def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_matmul(args: argparse.Namespace) -> dict:
    """fp32 GFLOP/s of torch matrix multiplies on this process's cores."""
    import torch

    from analytics.models.devices import cpu_cores

    torch.set_num_threads(cpu_cores())
    out = {}
    for name, (m, k, n) in {"square 1024": (1024, 1024, 1024), "ffn 2048x384x1536": (2048, 384, 1536)}.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(5):
            reps = 10
            t = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            best = min(best, (time.perf_counter() - t) / reps)
        out[name] = 2 * m * k * n / best / 1e9
    return {"gflops": out, "threads": torch.get_num_threads()}


def _flops_per_text(module, token_counts: np.ndarray) -> tuple[float, dict]:
    """Useful FLOPs for texts of the given token counts (special tokens included)."""
    config = module.config
    body = head = 0
    for name, p in module.named_parameters():
        if "embeddings" in name:
            continue
        if any(h in name for h in ("pooler", "classifier", "score", "head.")):
            head += p.numel()
        else:
            body += p.numel()
    layers, hidden = int(config.num_hidden_layers), int(config.hidden_size)
    L = token_counts.astype(np.float64)
    total = (2 * body * L + 4 * layers * hidden * L**2 + 2 * head).sum()
    return float(total), {"body_params": body, "head_params": head, "layers": layers, "hidden": hidden}


def _load(args: argparse.Namespace, *, device: str, cpu_backend: str):
    """``load_model(--model)``, or a MiniLM artifact directory given with ``--artifact``."""
    if args.artifact:
        from analytics.models.finetuned import load_finetuned

        return load_finetuned(artifact_dir=args.artifact, device=device, batch_size=args.batch_size,
                           cpu_backend=cpu_backend)
    from analytics.models import load_model

    return load_model(args.model, device=device, batch_size=args.batch_size, cpu_backend=cpu_backend)


def worker_engine(args: argparse.Namespace) -> dict:
    from analytics.scoring.local import score_texts

    texts, _ = load_test_tweets(Path(args.data), args.n)
    model = _load(args, device=args.device, cpu_backend=args.backend)
    score_texts(model, texts[:128])  # warm-up: allocator, kernels
    t = time.perf_counter()
    proba = score_texts(model, texts)
    seconds = time.perf_counter() - t
    np.save(args.out, proba)
    result = {"seconds": seconds, "texts": len(texts), "peak_mib": _peak_mib(), "device": model.device}
    if hasattr(model, "encode") and args.backend == "torch":  # int8 layers hide their weights
        counts = np.array([len(ids) for ids in model.encode(texts)]) + (model.max_length - model.window_tokens)
        flops, shape = _flops_per_text(_plain_module(model), counts)
        result.update(flops=flops, tokens=int(counts.sum()), **shape)
    return result


def _plain_module(model):
    """The model's torch module, unquantised (a peft wrapper merged)."""
    module = getattr(model, "module", None)
    if hasattr(module, "merge_and_unload"):
        module = module.merge_and_unload()
    return module


def as_pipeline_model(model):
    """Our model's very weights as a ``transformers`` classifier that ``pipeline`` accepts.

    A Hugging Face model is used as is; a custom network (the default MiniLM: encoder,
    mean pooling, linear head) is wrapped in a ``PreTrainedModel`` whose ``forward``
    calls it, with ``id2label`` from the model's label mapping.
    """
    import copy

    from transformers import PreTrainedModel
    from transformers.modeling_outputs import SequenceClassifierOutput

    module = _plain_module(model)
    if isinstance(module, PreTrainedModel):
        return module
    config = copy.deepcopy(module.config)
    config.id2label = dict(enumerate(model.labels.source_classes))
    config.label2id = {c: i for i, c in config.id2label.items()}
    config.num_labels = len(config.id2label)

    class Wrapped(PreTrainedModel):
        config_class = type(config)
        base_model_prefix = "inner"
        _supports_sdpa = True  # the inner network keeps its own attention settings
        _supports_attention_backend = True

        def __init__(self, cfg, inner):
            super().__init__(cfg)
            self.inner = inner

        def forward(self, input_ids=None, attention_mask=None, **_):
            return SequenceClassifierOutput(logits=self.inner(input_ids=input_ids, attention_mask=attention_mask))

    return Wrapped(config, module).eval()


def worker_naive(args: argparse.Namespace) -> dict:
    """The model's weights through ``pipeline("text-classification")``, one text per call."""
    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from analytics.models.devices import cpu_cores

    hf_logging.set_verbosity_error()
    torch.set_num_threads(cpu_cores())
    texts, _ = load_test_tweets(Path(args.data), args.n)
    model = _load(args, device="cpu", cpu_backend="torch")
    clf = pipeline("text-classification", model=as_pipeline_model(model), tokenizer=model.tokenizer,
                   top_k=None, device=-1)
    prep = getattr(model, "preprocess", None) or (lambda t: t)
    if args.model == "default" or args.artifact:  # the default model normalises tweets in predict_proba
        from analytics.models.text import normalise_tweet as prep
    for text in texts[:8]:
        clf(prep(text))
    t = time.perf_counter()
    outputs = [clf(prep(text)) for text in texts]
    seconds = time.perf_counter() - t
    outputs = [o[0] if o and isinstance(o[0], list) else o for o in outputs]  # [[...]] in some versions
    labels = [max(o, key=lambda d: d["score"])["label"] for o in outputs]
    Path(args.out).write_text(json.dumps(labels), encoding="utf-8")
    return {"seconds": seconds, "texts": len(texts), "peak_mib": _peak_mib(), "device": "cpu"}


WORKERS = {"matmul": worker_matmul, "engine": worker_engine, "naive": worker_naive}


def _spawn(kind: str, **options) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind]
    for k, v in options.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the run --------------------------------------------------------------------------------

def f1_pn(y_true: list[str], y_pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=["positive", "negative"], average="macro"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inference speed: engine vs naive pipeline")
    parser.add_argument("--n", type=int, default=20000, help="test tweets to score (default: 20000)")
    parser.add_argument("--naive-n", type=int, default=None, help="tweets for the one-at-a-time baseline (default: --n)")
    parser.add_argument("--model", default="default", help="model spec (default: default)")
    parser.add_argument("--artifact", default=None,
                        help="a MiniLM artifact directory to measure instead of --model (e.g. a candidate)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--backends", default="torch,int8,onnx,onnx-int8",
                        help="CPU backends to measure (default: torch,int8,onnx,onnx-int8)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="SemEval-2017 4A folder")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return 0
    if not (Path(args.data) / "twitter-2016test-A.tsv").exists():
        print(f"reference data {args.data} is absent; pass --data", file=sys.stderr)
        return 1
    naive_n = min(args.naive_n or args.n, args.n)
    texts, gold = load_test_tweets(Path(args.data), args.n)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    common = dict(model=args.model, data=args.data, batch_size=args.batch_size, artifact=args.artifact)

    with tempfile.TemporaryDirectory(prefix="brandlens-bench-") as tmp:
        print(f"machine: {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; "
              f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
        matmul = _spawn("matmul")
        print(f"matmul fp32 GFLOP/s: {matmul['gflops']}", file=sys.stderr)
        naive = _spawn("naive", n=naive_n, out=str(Path(tmp) / "naive.json"), **common)
        naive_labels = json.loads((Path(tmp) / "naive.json").read_text())
        print(f"naive: {naive}", file=sys.stderr)
        engines = {}
        for b in backends:
            engines[b] = _spawn("engine", backend=b, n=args.n, device=args.device,
                                out=str(Path(tmp) / f"{b}.npy"), **common)
            engines[b]["proba"] = np.load(Path(tmp) / f"{b}.npy")
            print(f"engine {b}: { {k: v for k, v in engines[b].items() if k != 'proba'} }", file=sys.stderr)

    from analytics.core.labels import CLASSES

    peak = max(matmul["gflops"].values())
    naive_rate = naive["texts"] / naive["seconds"]
    ref_labels = None
    rows = [("naive pipeline, 1 text/call", naive["texts"], naive["seconds"], naive_rate, 1.0, naive["peak_mib"],
             None, None, f1_pn(gold[:naive_n], [str(x).lower() for x in naive_labels]), None)]
    for b, r in engines.items():
        labels = [CLASSES[i] for i in r["proba"].argmax(axis=1)]
        if ref_labels is None:
            ref_labels = labels
            naive_agree = float(np.mean([a == str(x).lower() for a, x in zip(labels, naive_labels)]))
        rate = r["texts"] / r["seconds"]
        flops = r.get("flops", next((e["flops"] for e in engines.values() if "flops" in e), float("nan")))
        gflops = flops / r["seconds"] / 1e9  # the same useful work whatever the arithmetic
        agree = float(np.mean([a == c for a, c in zip(labels, ref_labels)]))
        rows.append((f"engine, {b} on {r['device']}", r["texts"], r["seconds"], rate, rate / naive_rate, r["peak_mib"],
                     gflops, gflops / peak, f1_pn(gold, labels), agree))

    print()
    print(f"Inference over SemEval-2016 4A test tweets, model {args.artifact or args.model!r} "
          f"(naive baseline on the first {naive_n:,} of {args.n:,} texts)")
    first = next((e for e in engines.values() if "tokens" in e), {})
    if "tokens" in first:
        print(f"tokens: {first['tokens']:,} ({first['tokens'] / first['texts']:.1f} per text incl. special tokens); "
              f"body params {first['body_params']:,}; FLOPs/text {first['flops'] / first['texts'] / 1e6:.1f} M; "
              f"matmul peak (best torch fp32 mm on these cores) {peak:.1f} GFLOP/s")
    header = (f"{'engine':<30} {'texts':>7} {'seconds':>8} {'texts/s':>8} {'vs naive':>8} {'peak MiB':>9} "
              f"{'GFLOP/s':>8} {'% peak':>7} {'F1^PN':>6} {'agree fp32':>10}")
    print(header)
    print("-" * len(header))
    for name, n, s, rate, ratio, mib, gf, share, f1, agree in rows:
        print(f"{name:<30} {n:>7,} {s:>8.1f} {rate:>8.1f} {ratio:>7.2f}x {mib:>9.0f} "
              f"{'' if gf is None else f'{gf:.1f}':>8} {'' if share is None else f'{share:.0%}':>7} {f1:>6.3f} "
              f"{'' if agree is None else f'{agree:.2%}':>10}")
    if ref_labels is not None:
        print(f"engine ({backends[0]}) labels agree with the naive pipeline's on {naive_agree:.2%} of the shared texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
