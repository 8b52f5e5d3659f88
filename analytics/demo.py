"""A synthetic, deterministic demo workspace: fictional brands, 90 days of posts, a planted crisis.

The generator writes posts from templates and vocabularies of our own
(``data/demo/vocabulary.json``), never from the reference data, and stores them through
the ordinary ingest path so that the demo exercises the same code as a user's export.

What it plants, so that every page has something true to find:

* one brand marked as ours, the others as competitors, each with its own sentiment level
  and a linear trend over the period, and weekly seasonality in volume (quieter weekends);
* a crisis: five days in which our brand's volume triples with posts about an app outage,
  nearly all negative (recorded in the setting ``demo_truth``);
* aspects (price, delivery, support, quality, app) left for topic discovery to find (the
  true aspect is kept in ``extra.aspect_truth``);
* a region column, authors (stored hashed), handles, e-mails and phone numbers of private
  persons for the masking to hide, and a few long reviews beyond a model's window;
* a labelled subset (15%) with a little label noise (5% of labels flipped) and an
  annotator confidence, and every post's true sentiment in ``extra.true_label``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.ingest import ingest_frame
from analytics.resources import data_path
from analytics.privacy import SALT_SETTING
from analytics.core.progress import ProgressCallback
from analytics.store import get_setting, set_setting
from analytics.core.labels import CLASSES

VOCABULARY_PATH = data_path("demo", "vocabulary.json")
"""The shipped vocabulary (``data/demo/vocabulary.json`` of the source tree)."""
DEMO_END = dt.date(2026, 10, 31)
"""Last day of the demo period (fixed, so that a seed always gives the same workspace)."""
LABELLED_SHARE = 0.15
LABEL_NOISE = 0.05
CRISIS_DAYS = 5
CRISIS_VOLUME = 3.0
LONG_REVIEW_SHARE = 0.01
ASPECT_WEIGHTS = {"price": 0.25, "delivery": 0.15, "support": 0.25, "quality": 0.2, "app": 0.15}


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    seed: int
    posts_generated: int
    stored: int
    labelled: int
    brands: list[str]
    our_brand: str
    start: str
    end: str
    crisis: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def load_vocabulary(path: Path = VOCABULARY_PATH) -> dict:
    """The generator's vocabulary (brands, aspects, phrases)."""
    return json.loads(path.read_text(encoding="utf-8"))


def _day_weights(days: int, start: dt.date) -> np.ndarray:
    weekday = np.array([(start + dt.timedelta(days=d)).weekday() for d in range(days)])
    return np.where(weekday >= 5, 0.7, 1.0) * np.linspace(0.9, 1.1, days)


def _sentiment_probabilities(brand: dict, t: float) -> np.ndarray:
    """(negative, neutral, positive) of a brand at time ``t`` in [0, 1]."""
    shift = brand["trend"] * (t - 0.5)
    positive = np.clip(brand["positive"] + shift, 0.05, 0.9)
    negative = np.clip(brand["negative"] - shift, 0.05, 0.9)
    neutral = max(0.05, 1.0 - positive - negative)
    p = np.array([negative, neutral, positive])
    return p / p.sum()


def _compose(rng: np.random.Generator, vocab: dict, *, brand: dict, sentiment: str, aspect: str, crisis: bool) -> str:
    if crisis:
        phrase = str(rng.choice(vocab["crisis"][sentiment if sentiment in ("negative", "neutral") else "neutral"]))
    else:
        phrase = str(rng.choice(vocab["aspects"][aspect][sentiment]))
    opener = str(rng.choice(vocab["openers"][sentiment])).format(handle=brand["handle"])
    closer = str(rng.choice(vocab["closers"][sentiment]))
    parts = [opener, phrase]
    if rng.random() < 0.2 and not crisis:
        other = str(rng.choice([a for a in vocab["aspects"] if a != aspect]))
        parts.append("and " + str(rng.choice(vocab["aspects"][other][sentiment])))
    if brand["handle"] not in opener:
        parts.append(rng.choice([brand["handle"], brand["name"], "#" + brand["name"].replace(" ", "")]))
    roll = rng.random()
    if roll < 0.05:
        parts.append(f"cc {rng.choice(vocab['people'])}")
    elif roll < 0.07:
        parts.append(f"email me at {rng.choice(vocab['emails'])}")
    elif roll < 0.08:
        parts.append(f"call me on {rng.choice(vocab['phones'])}")
    parts.append(closer)
    text = " ".join(p for p in parts if p)
    if rng.random() < LONG_REVIEW_SHARE:
        sentences = rng.choice(vocab["review_sentences"][sentiment], size=int(rng.integers(30, 50)))
        text = text + " " + " ".join(str(s) for s in sentences)
    return text


def demo_frame(*, seed: int = 7, n_posts: int = 20000, days: int = 90) -> tuple[pd.DataFrame, dict[str, object]]:
    """The demo posts as a DataFrame (before ingest) and the planted truth."""
    if n_posts < 100:
        raise ValueError(f"n_posts must be at least 100, got {n_posts}")
    if days < 28:
        raise ValueError(f"days must be at least 28 (the crisis and baselines need history), got {days}")
    vocab = load_vocabulary()
    rng = np.random.default_rng(seed)
    start = DEMO_END - dt.timedelta(days=days - 1)
    brands = vocab["brands"]
    ours = next(b for b in brands if b["ours"])
    crisis_first = days - 30
    crisis_days = range(crisis_first, crisis_first + CRISIS_DAYS)

    weights = np.outer([b["volume"] for b in brands], _day_weights(days, start))
    ours_row = brands.index(ours)
    weights[ours_row, list(crisis_days)] *= CRISIS_VOLUME
    cells = rng.multinomial(n_posts, (weights / weights.sum()).ravel()).reshape(weights.shape)

    aspects, aspect_p = list(ASPECT_WEIGHTS), np.array(list(ASPECT_WEIGHTS.values()))
    rows = []
    for b_index, brand in enumerate(brands):
        for day in range(days):
            count = int(cells[b_index, day])
            in_crisis = b_index == ours_row and day in crisis_days
            crisis_share = 1 - 1 / CRISIS_VOLUME if in_crisis else 0.0
            probs = _sentiment_probabilities(brand, day / (days - 1))
            for _ in range(count):
                is_crisis = rng.random() < crisis_share
                if is_crisis:
                    sentiment = "negative" if rng.random() < 0.88 else "neutral"
                    aspect = vocab["crisis"]["aspect"]
                else:
                    sentiment = CLASSES[int(rng.choice(3, p=probs))]
                    aspect = aspects[int(rng.choice(len(aspects), p=aspect_p))]
                seconds = int(rng.integers(0, 86400))
                created = dt.datetime.combine(start + dt.timedelta(days=day), dt.time()) + dt.timedelta(seconds=seconds)
                rows.append({
                    "text": _compose(rng, vocab, brand=brand, sentiment=sentiment, aspect=aspect, crisis=is_crisis),
                    "brand": brand["name"],
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": str(rng.choice(vocab["regions"], p=vocab["region_weights"])),
                    "author": f"customer{int(rng.integers(0, max(50, n_posts // 3)))}",
                    "true_label": sentiment,
                    "aspect_truth": "app outage" if is_crisis else aspect,
                })
    frame = pd.DataFrame(rows)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    labelled = rng.random(len(frame)) < LABELLED_SHARE
    noisy = labelled & (rng.random(len(frame)) < LABEL_NOISE)
    gold = frame["true_label"].where(labelled, "")
    flips = rng.integers(1, 3, size=len(frame))
    flipped = [CLASSES[(CLASSES.index(t) + f) % 3] for t, f in zip(frame["true_label"], flips)]
    frame["label"] = np.where(noisy, flipped, gold)
    frame["label_confidence"] = np.where(labelled, np.round(rng.uniform(0.6, 1.0, len(frame)), 3), np.nan)
    truth = {
        "brand": ours["name"],
        "start": str(start + dt.timedelta(days=crisis_first)),
        "end": str(start + dt.timedelta(days=crisis_first + CRISIS_DAYS - 1)),
        "topic": vocab["crisis"]["topic"],
        "keywords": vocab["crisis"]["keywords"],
        "metric": "volume and negative_share",
    }
    return frame, {"truth": truth, "start": str(start), "end": str(DEMO_END), "our_brand": ours["name"],
                   "brands": [b["name"] for b in brands]}


DEMO_MAPPING = {
    "text": "text", "brand": "brand", "time": "created_at", "label": "label",
    "label_confidence": "label_confidence", "region": "region", "author": "author",
    "id": None, "aspect": None, "timezone": None, "language": None, "group": None,
}


def generate_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    seed: int = 7,
    n_posts: int = 20000,
    days: int = 90,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Generate the demo posts and ingest them into the workspace behind ``con``.

    Deterministic: the same ``seed``, ``n_posts`` and ``days`` give the same posts and ids
    (in a fresh workspace the author salt is derived from the seed).
    Running it again on the same workspace adds nothing (every post is a duplicate).
    """
    if progress is not None:
        progress(0, n_posts, "writing posts")
    frame, meta = demo_frame(seed=seed, n_posts=n_posts, days=days)
    if not get_setting(con, SALT_SETTING):
        # Fictional authors: a salt derived from the seed makes author hashes, and so post ids,
        # the same in every workspace generated with this seed. A workspace that already has a
        # salt (real data) keeps it.
        set_setting(con, SALT_SETTING, hashlib.sha256(f"brandlens-demo-{seed}".encode()).hexdigest()[:32])
    summary = ingest_frame(con, frame, source="demo", mapping=DEMO_MAPPING, progress=progress)
    set_setting(con, "our_brand", str(meta["our_brand"]))
    set_setting(con, "demo_truth", json.dumps(meta["truth"]))
    return DemoSummary(
        seed=seed,
        posts_generated=len(frame),
        stored=summary.stored,
        labelled=int((frame["label"] != "").sum()),
        brands=list(meta["brands"]),
        our_brand=str(meta["our_brand"]),
        start=str(meta["start"]),
        end=str(meta["end"]),
        crisis=dict(meta["truth"]),
    )
