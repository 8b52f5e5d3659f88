"""Fine-tuning the default model: LoRA, top layers, or the full encoder, on any backbone.

All three variants share one loop: class-weighted cross-entropy (the SemEval pool has
2.8x more positive than negative tweets), AdamW with linear warm-up and decay, batches
drawn from length buckets with dynamic padding, and model selection on a fixed
validation split by F1^PN (the mean F1 of the positive and negative classes, SemEval
2016 Task 4A's official measure).

On CUDA the forward passes run under bf16 autocast (fp16 where bf16 is missing) with
fp32 weights and loss; on the CPU in fp32. A run is bounded by epochs, ``max_steps`` and a
wall-clock ``max_minutes`` (the budget used to compare variants fairly), and can hand
every improvement to a callback (the pipeline's checkpoints).

The ``top-layers`` variant runs the frozen lower layers once over every text and keeps
their token states in memory (fp16); each step then costs only the top layers. This is
the same computation as running the whole network with those layers frozen, about
``n_layers / n_top_layers`` times cheaper.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from analytics.models.text import normalise_tweet
from analytics.core.progress import ProgressCallback, report
from analytics.core.labels import CLASSES
from analytics.models.backbones import DEFAULT_BACKBONE, backbone
from analytics.models.network import VARIANTS, EncoderClassifier, build_classifier

NEGATIVE, POSITIVE = CLASSES.index("negative"), CLASSES.index("positive")


@dataclass
class TrainingConfig:
    """Hyper-parameters of one run; written into the model card as they are."""

    variant: str = "top-layers"
    encoder: str = DEFAULT_BACKBONE  # a name of analytics.models.backbones.BACKBONES
    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None  # encoder parameters; None: the variant's default
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 64
    n_top_layers: int = 2
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    evaluations_per_epoch: int = 4
    max_minutes: float | None = None  # wall-clock budget, caching included; the run stops after an evaluation
    seed: int = 13

    def encoder_learning_rate(self) -> float:
        defaults = {"lora": 5e-4, "top-layers": 1e-4, "full": 5e-5}
        return self.learning_rate if self.learning_rate is not None else defaults[self.variant]


@dataclass
class TrainingResult:
    """The selected model and what the run measured."""

    model: nn.Module
    best_validation_f1_pn: float
    best_step: int
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    trainable_parameters: int = 0

    def summary(self) -> dict[str, object]:
        return {
            "best_validation_f1_pn": self.best_validation_f1_pn,
            "best_step": self.best_step,
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
            "trainable_parameters": self.trainable_parameters,
            "history": self.history,
        }


def f1_pn(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of the F1 of the negative and the positive class (neutral counts only as an error)."""
    return float(f1_score(y_true, y_pred, labels=[NEGATIVE, POSITIVE], average="macro", zero_division=0))


def _tokenize(tokenizer, texts: Sequence[str], max_length: int, instruction: str = "") -> list[list[int]]:
    encoded = tokenizer([instruction + normalise_tweet(t) for t in texts], truncation=True, max_length=max_length)
    return encoded["input_ids"]


def _pad(sequences: Sequence[list[int]] | Sequence[torch.Tensor], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask


def _pad_states(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(s.shape[0] for s in states)
    out = torch.zeros((len(states), length, states[0].shape[1]), dtype=torch.float32)
    mask = torch.zeros((len(states), length), dtype=torch.long)
    for row, s in enumerate(states):
        out[row, : s.shape[0]] = s.float()
        mask[row, : s.shape[0]] = 1
    return out, mask


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within windows of 50 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _prepare_model(config: TrainingConfig) -> nn.Module:
    model = build_classifier(config.encoder)
    if config.variant == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=["query", "key", "value", "dense"],
        )
        model = get_peft_model(model, lora)
        for p in model.base_model.model.head.parameters():
            p.requires_grad = True
    elif config.variant == "top-layers":
        n_layers = len(model.encoder.encoder.layer)
        for p in model.encoder.parameters():
            p.requires_grad = False
        for layer in model.encoder.encoder.layer[n_layers - config.n_top_layers :]:
            for p in layer.parameters():
                p.requires_grad = True
    elif config.variant != "full":
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {config.variant!r}")
    return model


def _head(model: nn.Module) -> nn.Module:
    return model.base_model.model.head if hasattr(model, "base_model") and hasattr(model.base_model, "model") else model.head


def train_classifier(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    validation_texts: Sequence[str],
    validation_labels: Sequence[str],
    config: TrainingConfig,
    *,
    progress: ProgressCallback | None = None,
    on_improve: Callable[[nn.Module, dict[str, float]], None] | None = None,
) -> TrainingResult:
    """Fine-tune a classifier on ``config.encoder`` with ``config`` and return the best model on the validation split.

    Parameters
    ----------
    train_texts, train_labels, validation_texts, validation_labels : sequences of str
        Raw texts (normalised here with :func:`normalise_tweet`) and labels in :data:`CLASSES`.
    config : TrainingConfig
        ``max_steps``, ``epochs`` and ``max_minutes`` bound the run, whichever comes first.
    progress : callable, optional
        ``(done, total, message)`` after every step.
    on_improve : callable, optional
        Called as ``on_improve(model, record)`` each time the validation F1^PN improves, so
        a long run leaves its best model on disk even if it is stopped.

    Returns
    -------
    TrainingResult
    """
    if config.variant not in VARIANTS:
        raise ValueError(f"config.variant must be one of {list(VARIANTS)}, got {config.variant!r}")
    if len(train_texts) != len(train_labels) or len(validation_texts) != len(validation_labels):
        raise ValueError("train_texts/train_labels and validation_texts/validation_labels must have equal lengths")
    if not train_texts or not validation_texts:
        raise ValueError("training and validation texts must not be empty")
    from transformers import get_linear_schedule_with_warmup

    from analytics.models.network import encoder_tokenizer

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    tokenizer = encoder_tokenizer(config.encoder)
    instruction = backbone(config.encoder).instruction
    y_train = np.array([CLASSES.index(label) for label in train_labels])
    y_val = np.array([CLASSES.index(label) for label in validation_labels])
    train_ids = _tokenize(tokenizer, train_texts, config.max_length, instruction)
    val_ids = _tokenize(tokenizer, validation_texts, config.max_length, instruction)
    lengths = np.array([len(s) for s in train_ids])

    model = _prepare_model(config).to(device)
    base: EncoderClassifier = model.base_model.model if config.variant == "lora" else model
    n_layers = len(base.encoder.encoder.layer)
    n_lower = n_layers - config.n_top_layers if config.variant == "top-layers" else 0

    train_cache = val_cache = None
    if n_lower:
        report(progress, 0, 1, "caching frozen lower-layer states")
        train_cache = _cache_states(base, train_ids, n_lower)
        val_cache = _cache_states(base, val_ids, n_lower)

    weights = compute_class_weight("balanced", classes=np.arange(len(CLASSES)), y=y_train)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))
    head_params = list(_head(model).parameters())
    head_ids = {id(p) for p in head_params}
    encoder_params = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.encoder_learning_rate()},
            {"params": head_params, "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
        foreach=True,
    )
    steps_per_epoch = int(np.ceil(len(train_ids) / config.batch_size))
    total_steps = int(round(config.epochs * steps_per_epoch))
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    eval_every = max(1, steps_per_epoch // max(1, config.evaluations_per_epoch))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    deadline = started + 60.0 * config.max_minutes if config.max_minutes is not None else float("inf")
    best_f1, best_step, best_state, history = -1.0, 0, None, []
    step = 0
    out_of_time = False
    while step < total_steps and not out_of_time:
        model.train()
        for batch in bucketed_batches(lengths, config.batch_size, rng):
            if step >= total_steps or out_of_time:
                break
            labels = torch.as_tensor(y_train[batch], device=device)
            with _autocast(device):
                if n_lower:
                    states, mask = _pad_states([train_cache[i] for i in batch])
                    logits = base.upper_forward(states.to(device), mask.to(device), n_lower)
                else:
                    ids, mask = _pad([train_ids[i] for i in batch], tokenizer.pad_token_id)
                    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device))
            loss = loss_fn(logits.float(), labels)
            optimizer_step(loss, encoder_params + head_params, optimizer, scheduler)
            step += 1
            out_of_time = time.perf_counter() >= deadline
            if step % eval_every == 0 or step == total_steps or out_of_time:
                predicted = _predict(model, base, val_ids, val_cache, n_lower, tokenizer.pad_token_id).argmax(1)
                score = f1_pn(y_val, predicted)
                record = {"step": step, "epoch": round(step / steps_per_epoch, 3), "loss": float(loss.detach()),
                          "validation_f1_pn": score, "seconds": round(time.perf_counter() - started, 1)}
                history.append(record)
                if score > best_f1:
                    best_f1, best_step = score, step
                    best_state = copy.deepcopy({k: v for k, v in model.state_dict().items()})
                    if on_improve is not None:
                        on_improve(model.eval(), record)
                model.train()
            report(progress, step, total_steps, f"loss {float(loss.detach()):.3f} best val F1^PN {max(best_f1, 0):.3f}")
    if best_state is None:
        raise ValueError("training ran no step: raise max_steps, epochs or max_minutes")
    model.load_state_dict(best_state)
    model.to("cpu").eval()
    return TrainingResult(model, best_f1, best_step, step, time.perf_counter() - started, history, trainable)


@torch.inference_mode()
def _cache_states(model: EncoderClassifier, ids: list[list[int]], n_lower: int, batch_size: int = 128) -> list[torch.Tensor]:
    model.eval()
    order = np.argsort([len(s) for s in ids], kind="stable")
    cache: list[torch.Tensor | None] = [None] * len(ids)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        input_ids, mask = _pad([ids[i] for i in batch])
        device = next(model.parameters()).device
        with _autocast(device):
            states = model.lower_states(input_ids.to(device), mask.to(device), n_lower).to("cpu", torch.float16)
        for row, i in enumerate(batch):
            cache[i] = states[row, : len(ids[i])].clone()
    return cache  # type: ignore[return-value]


@torch.inference_mode()
def _predict(model: nn.Module, base: EncoderClassifier, ids: list[list[int]], cache: list[torch.Tensor] | None,
             n_lower: int, pad_id: int, batch_size: int = 128) -> np.ndarray:
    model.eval()
    order = np.argsort([len(s) for s in ids], kind="stable")
    out = np.zeros((len(ids), len(CLASSES)), dtype=np.float32)
    device = next(base.parameters()).device
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        with _autocast(device):
            if n_lower:
                states, mask = _pad_states([cache[i] for i in batch])
                logits = base.upper_forward(states.to(device), mask.to(device), n_lower)
            else:
                input_ids, mask = _pad([ids[i] for i in batch], pad_id)
                logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device))
        out[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out


def optimizer_step(loss: torch.Tensor, params: list, optimizer, scheduler) -> None:
    """Backward, clip the gradient norm to 1, step the optimizer and the schedule, clear the gradients."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def _autocast(device: torch.device | str):
    """bf16 autocast on CUDA (fp16 where the GPU lacks bf16); a no-op context on the CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def config_dict(config: TrainingConfig) -> dict[str, object]:
    return {**asdict(config), "encoder_learning_rate": config.encoder_learning_rate()}
