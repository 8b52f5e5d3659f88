"""The model layer: HF label mapping, VADER mapping, long-text windows, devices, determinism.

Hugging Face models here are tiny randomly initialised BERTs with their own WordPiece
vocabulary, saved to a temporary directory and loaded back through the real
``from_pretrained`` path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analytics.core.errors import BrandLensError
from analytics.models import ModelInfo, available_models, load_model
from analytics.models.devices import CUDA_ABSENT, CUDA_REQUIRED, DeviceFallbackWarning, resolve_device
from analytics.models.labels import label_mapping
from analytics.models.windows import split_windows, windowed_proba
from analytics.core.labels import CLASSES

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = ["good", "bad", "great", "awful", "the", "movie", "was", "not", "very", "ok", "i", "it",
         "love", "hate", "service", "flight", "late", "again", "thanks", "today"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s", "##ing"]
SENTENCES = ["the movie was good", "i hate it", "the flight was late again", "not very ok", "thanks", ""]


def make_tiny_model(
    directory: Path,
    id2label: dict[int, str],
    *,
    seed: int = 0,
    max_length: int = 16,
) -> Path:
    """Save a 1-layer BERT classifier (large random weights, so outputs differ by text) to ``directory``."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    try:  # transformers 5 takes the vocabulary itself, 4.x a file
        tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)}, model_max_length=max_length)
    except TypeError:
        tokenizer = BertTokenizer(vocab_file=str(directory / "vocab.txt"), model_max_length=max_length)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, num_labels=len(id2label), initializer_range=0.5,
        id2label=dict(id2label), label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).eval().save_pretrained(directory)
    return directory


def raw_softmax(directory: Path, texts: list[str]) -> np.ndarray:
    """The model's own softmax output, one text at a time, straight from transformers."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    rows = []
    with torch.inference_mode():
        for t in texts:
            enc = tok(t, return_tensors="pt")
            rows.append(torch.softmax(model(**enc).logits.float(), dim=-1)[0].numpy())
    return np.array(rows, dtype=np.float64)


# -- label mapping ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "names",
    [
        ("negative", "neutral", "positive"),
        ("positive", "negative", "neutral"),
        ("Neutral", "POSITIVE", "Negative"),
        ("neu", "pos", "neg"),
    ],
)
def test_three_class_model_is_permuted_by_id2label(tmp_path: Path, names: tuple[str, ...]) -> None:
    d = make_tiny_model(tmp_path / "m", dict(enumerate(names)))
    model = load_model(str(d), device="cpu")
    got = model.predict_proba(SENTENCES)
    raw = raw_softmax(d, SENTENCES)
    canonical = [n.lower()[:3] for n in names]
    expected = raw[:, [canonical.index(c[:3]) for c in CLASSES]]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert model.model_id == str(d)
    assert tuple(model.classes_) == CLASSES


def test_generic_labels_follow_the_documented_index_order(tmp_path: Path) -> None:
    d = make_tiny_model(tmp_path / "m", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    got = load_model(str(d), device="cpu").predict_proba(SENTENCES)
    np.testing.assert_allclose(got, raw_softmax(d, SENTENCES), atol=1e-5)


@pytest.mark.parametrize("names", [("negative", "positive"), ("POSITIVE", "NEGATIVE"), ("LABEL_0", "LABEL_1")])
def test_two_class_model_gets_neutral_from_the_shared_mass(tmp_path: Path, names: tuple[str, ...]) -> None:
    d = make_tiny_model(tmp_path / "m", dict(enumerate(names)))
    got = load_model(str(d), device="cpu").predict_proba(SENTENCES)
    raw = raw_softmax(d, SENTENCES)
    pos_col = 0 if names[0].lower() == "positive" else 1
    q_pos, q_neg = raw[:, pos_col], raw[:, 1 - pos_col]
    np.testing.assert_allclose(got[:, 1], 2 * np.minimum(q_pos, q_neg), atol=1e-5)
    np.testing.assert_allclose(got[:, 2], np.maximum(0, q_pos - q_neg), atol=1e-5)
    np.testing.assert_allclose(got[:, 0], np.maximum(0, q_neg - q_pos), atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-9)


def test_two_class_rule_at_its_landmarks() -> None:
    m = label_mapping({0: "negative", 1: "positive"})
    q_pos = np.array([0.0, 0.2, 0.25, 0.5, 0.7, 0.76, 1.0])
    out = m.to_classes(np.column_stack([1 - q_pos, q_pos]))
    np.testing.assert_allclose(out[3], [0.0, 1.0, 0.0])  # undecided: all neutral
    np.testing.assert_allclose(out[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[-1], [0.0, 0.0, 1.0])
    assert [CLASSES[i] for i in out.argmax(axis=1)] == [
        "negative", "negative", "negative", "neutral", "neutral", "positive", "positive"
    ]
    assert np.all(np.diff(out[:, 2]) >= 0) and np.all(np.diff(out[:, 0]) <= 0)


@pytest.mark.parametrize(
    "id2label, message",
    [
        ({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}, "cannot map"),
        ({0: "joy", 1: "anger"}, "cannot map"),
        ({0: "negative", 1: "neutral"}, "must output negative and positive"),
        ({0: "negative", 1: "neg", 2: "positive"}, "names a class twice"),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3"}, "4 unnamed outputs"),
    ],
)
def test_unmappable_labels_are_refused_with_their_names(id2label: dict[int, str], message: str) -> None:
    with pytest.raises(BrandLensError, match=message):
        label_mapping(id2label, where="model x")


def test_string_keys_from_config_json_are_read() -> None:
    assert label_mapping({"1": "positive", "0": "negative"}).source_classes == ("negative", "positive")


def test_missing_directory_and_non_hf_directory_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BrandLensError, match="no config.json"):
        load_model(str(tmp_path), device="cpu")
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(BrandLensError, match="is a file"):
        load_model(str(f), device="cpu")


def test_load_model_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        load_model("vader", device="gpu")
    with pytest.raises(ValueError, match="batch_size"):
        load_model("vader", batch_size=0)
    with pytest.raises(ValueError, match="spec"):
        load_model("")


# -- long texts ---------------------------------------------------------------------------

def test_split_windows_covers_every_token_with_the_overlap() -> None:
    ids = list(range(23))
    windows = split_windows(ids, size=8, overlap=2)
    assert all(len(w) <= 8 for w in windows)
    assert sorted(set().union(*map(set, windows))) == ids
    for a, b in zip(windows, windows[1:]):
        assert a[-2:] == b[:2]
    with pytest.raises(ValueError, match="overlap"):
        split_windows(ids, size=4, overlap=4)


def test_windowed_proba_weights_windows_by_length() -> None:
    def fake(windows: list[list[int]]) -> np.ndarray:  # class 0 for ids < 100, class 2 otherwise
        return np.array([[1.0, 0.0, 0.0] if w[0] < 100 else [0.0, 0.0, 1.0] for w in windows])

    out = windowed_proba([[1] * 4 + [200] * 2], fake, size=4, overlap=0)
    np.testing.assert_allclose(out, [[4 / 6, 0.0, 2 / 6]])


def test_long_text_is_windowed_not_truncated(tmp_path: Path) -> None:
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"}, max_length=16)
    model = load_model(str(d), device="cpu")
    assert model.max_length == 16 and model.window_tokens == 14
    head = "the movie was good " * 5  # 20 tokens: already longer than one window
    a = model.predict_proba([head + "i love it " * 6])[0]
    b = model.predict_proba([head + "i hate the flight " * 6])[0]
    assert not np.allclose(a, b, atol=1e-6), "the tail of a long text must change its score"
    cut_a = model.predict_proba([head + "i love it " * 6], window=False)[0]
    cut_b = model.predict_proba([head + "i hate the flight " * 6], window=False)[0]
    np.testing.assert_allclose(cut_a, cut_b, atol=1e-6)  # explicit truncation only sees the head
    # windowed score = length-weighted mean of the windows' own scores
    ids = model.encode([head + "i love it " * 6])[0]
    windows = split_windows(ids, size=model.window_tokens, overlap=model.overlap)
    parts = model.predict_proba_ids(windows)
    weights = np.array([len(w) for w in windows], dtype=float)
    np.testing.assert_allclose(a, (parts * weights[:, None]).sum(0) / weights.sum(), atol=1e-6)


def test_window_scoring_in_score_texts_matches_the_model(tmp_path: Path) -> None:
    from analytics.scoring.local import score_texts

    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"}, max_length=16)
    model = load_model(str(d), device="cpu")
    texts = ["good", "the movie was good " * 9]
    np.testing.assert_allclose(score_texts(model, texts), model.predict_proba(texts), atol=1e-9)
    with pytest.raises(ValueError, match="not one string"):
        score_texts(model, "good")


# -- devices ------------------------------------------------------------------------------

def test_cuda_falls_back_to_cpu_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.warns(DeviceFallbackWarning, match="CUDA was asked for but no CUDA GPU is available"):
        assert resolve_device("cuda") == "cpu"
    with pytest.raises(BrandLensError, match="use --device cpu or auto"):
        resolve_device("cuda", strict=True)
    assert "{reason}" in CUDA_ABSENT and "{reason}" in CUDA_REQUIRED


def test_model_loaded_for_cuda_without_gpu_runs_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    with pytest.warns(DeviceFallbackWarning):
        model = load_model(str(d), device="cuda")
    assert model.device == "cpu"
    assert model.predict_proba(["good"]).shape == (1, 3)


def test_cli_prints_the_fallback_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from analytics import store
    from analytics.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    ws = tmp_path / "w.duckdb"
    with store.open_workspace(ws):
        pass
    assert main(["score", "--workspace", str(ws), "--model", str(d), "--device", "cuda", "--json"]) == 0
    out = capsys.readouterr()
    assert "CUDA was asked for" in out.err
    assert '"device": "cpu"' in out.out


def test_cpu_threads_env_caps_the_threads_a_model_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys) -> None:
    from analytics import store
    from analytics.cli import main
    from analytics.models.devices import CPU_THREADS_ENV, cpu_cores

    monkeypatch.delenv(CPU_THREADS_ENV, raising=False)
    cores = cpu_cores()
    monkeypatch.setenv(CPU_THREADS_ENV, "1")
    assert cpu_cores() == 1
    monkeypatch.setenv(CPU_THREADS_ENV, str(cores + 5))
    assert cpu_cores() == cores  # a cap, never more threads than cores
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(CPU_THREADS_ENV, "1")
        model = load_model(str(make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})),
                           device="cpu")
        assert model.predict_proba(["good"]).shape == (1, 3) and torch.get_num_threads() == 1
        monkeypatch.setenv(CPU_THREADS_ENV, "two")
        ws = tmp_path / "w.duckdb"
        with store.open_workspace(ws):
            pass
        assert main(["score", "--workspace", str(ws), "--model", str(tmp_path / "m"), "--json"]) != 0
        err = capsys.readouterr().err
        assert "BRANDLENS_CPU_THREADS must be a positive whole number" in err and "Traceback" not in err
    finally:
        torch.set_num_threads(before)


# -- determinism --------------------------------------------------------------------------

def test_scores_are_deterministic_and_independent_of_batching(tmp_path: Path) -> None:
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    texts = SENTENCES * 7
    a = load_model(str(d), device="cpu").predict_proba(texts)
    b = load_model(str(d), device="cpu", batch_size=3).predict_proba(texts)
    c = load_model(str(d), device="cpu").predict_proba(list(reversed(texts)))[::-1]
    assert np.array_equal(a, load_model(str(d), device="cpu").predict_proba(texts))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)
    np.testing.assert_allclose(a, raw_softmax(d, texts), atol=1e-5)  # padding never leaks into a score


def test_int8_backend_stays_close_to_fp32(tmp_path: Path) -> None:
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    fp32 = load_model(str(d), device="cpu", cpu_backend="torch").predict_proba(SENTENCES)
    int8 = load_model(str(d), device="cpu", cpu_backend="int8")
    assert int8.cpu_backend == "int8"
    np.testing.assert_allclose(int8.predict_proba(SENTENCES), fp32, atol=0.05)


# -- VADER --------------------------------------------------------------------------------

def test_vader_probabilities_sum_to_one_and_follow_the_lexicon() -> None:
    vader = load_model("vader")
    p = vader.predict_proba(["I love this, great service!", "This is awful, I hate it.", "The flight leaves at 5", ""])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert p[0].argmax() == 2 and p[1].argmax() == 0
    assert p[0, 2] > p[2, 2] > p[1, 2]


def test_vader_mapping_is_monotone_in_compound() -> None:
    from analytics.models.vader import VaderMapping

    mapping = VaderMapping.load()
    compound = np.linspace(-1, 1, 201)
    for pos, neu, neg in [(0.0, 1.0, 0.0), (0.3, 0.5, 0.2), (0.1, 0.6, 0.3)]:
        x = np.column_stack([compound, np.full_like(compound, pos), np.full_like(compound, neu), np.full_like(compound, neg)])
        p = mapping.predict_proba(x)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(np.diff(p[:, 2]) >= -1e-12), "P(positive) must not fall as compound rises"
        assert np.all(np.diff(p[:, 0]) <= 1e-12), "P(negative) must not rise as compound rises"


def test_fit_vader_mapping_learns_from_labels(tmp_path: Path) -> None:
    from analytics.models.vader import VaderMapping, VaderSentiment, fit_vader_mapping

    texts = ["I love it", "great, thanks!", "awesome flight", "terrible delay", "I hate this", "awful service",
             "the flight is at 5", "we land in Boston", "gate changed to B4"] * 4
    labels = (["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3) * 4
    mapping = fit_vader_mapping(texts, labels, C=10.0, fitted_on={"data": "unit test"})
    assert mapping.fitted_on["data"] == "unit test" and mapping.fitted_on["n_texts"] == 36
    path = mapping.save(tmp_path / "mapping.json")
    model = VaderSentiment(mapping=VaderMapping.load(path))
    pred = [CLASSES[i] for i in model.predict_proba(texts[:9]).argmax(axis=1)]
    assert pred == labels[:9]
    with pytest.raises(ValueError, match="no examples of"):
        fit_vader_mapping(texts[:6], labels[:6])
    with pytest.raises(ValueError, match="outside"):
        fit_vader_mapping(["a"], ["happy"])


def test_broken_vader_mapping_file_is_a_clear_error(tmp_path: Path) -> None:
    from analytics.models.vader import VaderMapping

    bad = tmp_path / "mapping.json"
    bad.write_text('{"coef": [[1, 2]], "intercept": [0]}', encoding="utf-8")
    with pytest.raises(BrandLensError, match="coef must be 3 x 4"):
        VaderMapping.load(bad)
    with pytest.raises(BrandLensError, match="missing"):
        VaderMapping.load(tmp_path / "absent.json")


def test_lexicon_contributions_apply_vader_modifiers() -> None:
    vader = load_model("vader")
    plain = dict(vader.lexicon_contributions("the service is good"))
    negated = dict(vader.lexicon_contributions("the service is not good"))
    boosted = dict(vader.lexicon_contributions("the service is very good"))
    assert plain["the"] == 0.0 and plain["good"] > 0
    assert negated["good"] < 0
    assert boosted["good"] > plain["good"]
    assert [t for t, _ in vader.lexicon_contributions("GREAT flight :)")] == ["GREAT", "flight", ":)"]


# -- listing ------------------------------------------------------------------------------

def test_available_models_lists_default_vader_and_extra_dirs(tmp_path: Path) -> None:
    d = make_tiny_model(tmp_path / "m", {0: "negative", 1: "positive"})
    (d / "MODEL_CARD.md").write_text("# tiny\n", encoding="utf-8")
    infos = available_models(extra_dirs=[d])
    assert [i.id for i in infos[:2]] == ["default", "vader"]
    assert all(isinstance(i, ModelInfo) for i in infos)
    vader = infos[1]
    assert vader.available and vader.card_text and "VADER" in vader.card_text
    extra = infos[-1]
    assert extra.id == str(d) and extra.kind == "huggingface" and extra.card_text == "# tiny\n"
    assert set(extra.to_dict()) == {"id", "kind", "description", "card_path", "available", "problem"}



def test_default_model_without_its_artifact_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analytics.models as models

    monkeypatch.setattr(models, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(BrandLensError, match="brandlens train"):
        load_model("default", device="cpu")
    assert not models.available_models()[0].available


def test_onnx_backend_matches_torch_and_reuses_its_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    d = make_tiny_model(tmp_path / "m", {0: "positive", 1: "negative", 2: "neutral"}, max_length=16)
    texts = SENTENCES + ["the movie was good " * 9]  # a long text: windows go through ONNX too
    torch_model = load_model(str(d), device="cpu", cpu_backend="torch")
    reference = torch_model.predict_proba(texts)
    model = load_model(str(d), device="cpu", cpu_backend="onnx")
    assert model.cpu_backend == "onnx"
    assert model.module is None, "the graph holds the weights: no torch copy is kept beside it"
    np.testing.assert_allclose(model.predict_proba(texts), reference, atol=1e-5)
    exported = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(exported) == 1
    import onnx

    traced = {node.op_type for node in onnx.load(str(exported[0])).graph.node}
    assert "Softmax" in traced and "IsNaN" not in traced, "attention is traced the plain way, without fused SDPA's NaN guard"
    from analytics.models.onnx import eager_attention

    with eager_attention(torch_model.module):
        assert torch_model.module.config._attn_implementation == "eager"
    assert torch_model.module.config._attn_implementation == "sdpa", "the export's plain attention is undone afterwards"
    inode = exported[0].stat().st_ino  # an export is written beside and renamed over: a new file
    load_model(str(d), device="cpu", cpu_backend="onnx")
    assert exported[0].stat().st_ino == inode, "a second load reuses the cached export"


def test_onnx_int8_backend_stays_close_to_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    d = make_tiny_model(tmp_path / "m", {0: "positive", 1: "negative", 2: "neutral"}, max_length=16)
    reference = load_model(str(d), device="cpu", cpu_backend="torch").predict_proba(SENTENCES)
    model = load_model(str(d), device="cpu", cpu_backend="onnx-int8")
    assert model.cpu_backend == "onnx-int8"
    quantised = model.predict_proba(SENTENCES)
    np.testing.assert_allclose(quantised.sum(axis=1), 1.0, atol=1e-5)
    # a tiny random network's logits are large, so int8 moves them more than the real model's
    # (benchmarks/inference.py measures the label agreement and F1 of the real one)
    assert 0 < np.abs(quantised - reference).max() < 0.15
    assert sorted(p.name.split(".", 1)[1] for p in (tmp_path / "cache" / "onnx").glob("*.onnx")) == [
        "int8pc.onnx", "onnx"], "the fp32 export and its int8 quantisation are both cached"
    import torch

    before = torch.get_num_threads()
    try:
        model.set_threads(1)  # what a Ray actor does with the CPUs it was given
        assert model._runner.session.get_session_options().intra_op_num_threads == 1
        assert torch.get_num_threads() == 1
        np.testing.assert_allclose(model.predict_proba(SENTENCES), quantised, atol=1e-6)
    finally:
        torch.set_num_threads(before)


def test_auto_cpu_backend_quantises_only_the_measured_default_model() -> None:
    from importlib.util import find_spec

    from analytics.models import resolve_cpu_backend

    has_onnx = bool(find_spec("onnxruntime") and find_spec("onnx"))
    assert resolve_cpu_backend(None, default_model=True) == ("onnx-int8" if has_onnx else "torch")
    assert resolve_cpu_backend("auto", default_model=False) == "torch"
    assert resolve_cpu_backend("onnx", default_model=False) == "onnx"
    assert resolve_cpu_backend("torch", default_model=True) == "torch"
    with pytest.raises(ValueError, match="cpu_backend"):
        resolve_cpu_backend("fp8", default_model=True)


def test_onnx_int8_splits_a_massive_channel_into_an_exact_fp32_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed-forward channel that fires far above the others (transformers' "massive activations") sets the
    per-batch int8 scale of the down-projection; split into an fp32 branch, the graph computes the same
    function in fp32 and int8 stays closer to it."""
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    import onnxruntime as ort
    from transformers import BertForSequenceClassification, BertTokenizer

    from analytics.models.onnx import OUTLIER_BRANCH, OnnxRunner, outlier_channels, split_outlier_channels

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path / "cache"))
    d = make_tiny_model(tmp_path / "m", {0: "positive", 1: "negative", 2: "neutral"}, max_length=16)
    module = BertForSequenceClassification.from_pretrained(d).eval()
    with torch.no_grad():  # channel 5 now peaks at about 200 on every token, the others at a few units
        block = module.bert.encoder.layer[0]
        block.intermediate.dense.bias[5] = 200.0
        block.output.dense.weight[:, 5] *= 0.02
    enc = BertTokenizer.from_pretrained(d)(SENTENCES[:-1] + ["thanks the movie was not good"], padding=True,
                                           return_tensors="np")
    feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64)}

    fp32 = OnnxRunner(module, threads=1)
    found = outlier_channels(fp32.path, feed)
    assert [(name.split("/")[-4:-2], channels) for name, channels in found.items()] == [(["layer.0", "intermediate"], [5])]
    split = split_outlier_channels(fp32.path, tmp_path / "split.onnx", found)
    reference = ort.InferenceSession(str(fp32.path)).run(None, feed)[0]
    np.testing.assert_allclose(ort.InferenceSession(str(split)).run(None, feed)[0], reference, atol=1e-4)

    plain = OnnxRunner(module, threads=1, quantize=True)
    branched = OnnxRunner(module, threads=1, quantize=True, calibration=feed)
    assert branched.path != plain.path, "each int8 recipe has its own cache entry"
    nodes = onnx.load(str(branched.path)).graph.node
    assert {n.op_type for n in nodes if OUTLIER_BRANCH in n.name and "MatMul" in n.op_type} == {"MatMul"}, \
        "the branch stays fp32"
    assert any(n.op_type == "MatMulInteger" for n in nodes if OUTLIER_BRANCH not in n.name)
    ids, mask = torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])
    error_plain = np.abs(plain(ids, mask).numpy() - reference).max()
    error_split = np.abs(branched(ids, mask).numpy() - reference).max()
    assert error_split < error_plain / 3, (error_split, error_plain)
