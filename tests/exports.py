"""Exports unlike the demo: the shapes a new user's first file takes (issue 22).

The demo has 4 brands, 90 days, tweets and 2,940 labels; real exports do not. Each shape here is
a small CSV as an export tool writes it (header, quoting, its own column names), seeded, so a test
can run it through ingest -> score -> every page -> labelling queue -> adapt -> evaluate:

===================  ============================================================================
``one_brand``        one brand only (share of voice is 100% by definition), 90 days, labelled
``many_brands``      300 brands, most with one or two posts, a year, a third labelled
``one_day``          every post on the same day
``ten_years_gaps``   ten years with empty years between bursts (weekly lines must not join them)
``five_posts``       five posts
``long_texts``       product reviews of ~1,500-2,500 characters (several model windows each)
``no_labels``        no label column at all
``one_class``        every label ``positive``
``date_formats``     dates written four ways in one column (ISO, day-first, month names, epoch)
``empty_header``     a column whose header cell is empty
===================  ============================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHAPES: tuple[str, ...] = (
    "one_brand", "many_brands", "one_day", "ten_years_gaps", "five_posts", "long_texts", "no_labels",
    "one_class", "date_formats", "empty_header",
)

_PHRASES = {
    "negative": ("stopped working after a week", "the worst support I have ever had", "arrived broken and late",
                 "refund still not processed, awful", "terrible battery, total waste of money"),
    "neutral": ("arrived on Tuesday in a brown box", "I bought it for my father", "the manual is in three languages",
                "it comes in grey and blue", "I use it mostly in the evening"),
    "positive": ("works perfectly, love it", "excellent quality and great value", "the best purchase this year",
                 "fantastic support, fixed in minutes", "really happy with it, highly recommend"),
}
_CLASSES = ("negative", "neutral", "positive")
_FILLER = ("I have owned it for some months now and use it every day at home and at work. ",
           "Setting it up took a while because the instructions skip a few steps. ",
           "My partner tried it as well and had much the same experience overall. ",
           "Compared with the model we had before, the size and weight are about the same. ")


@dataclass(frozen=True)
class Export:
    """One generated export: its CSV bytes and what a test can expect of it."""

    shape: str
    data: bytes
    rows: int
    brands: int
    labelled: int
    """Rows carrying a label."""

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.shape}.csv"
        path.write_bytes(self.data)
        return path


def _text(rng: np.random.Generator, cls: str, i: int, *, long: bool = False) -> str:
    phrase = _PHRASES[cls][rng.integers(len(_PHRASES[cls]))]
    if not long:
        return f"{phrase} (order {i})"
    body = "".join(_FILLER[k % len(_FILLER)] for k in range(int(rng.integers(18, 30))))
    return f"Review {i}: {phrase}. {body}In the end: {phrase}."


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def export(shape: str, *, seed: int = 0) -> Export:
    """The CSV export of ``shape`` (one of :data:`SHAPES`)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 1, 5, 9)
    n, brands, label_every, long = 60, [f"Brand {c}" for c in "ABC"], 1, False
    times: list[dt.datetime]
    if shape == "one_brand":
        brands = ["Solo"]
    elif shape == "many_brands":
        n, label_every = 330, 3
        brands = [f"Product {k:03d}" for k in range(300)]
    elif shape == "five_posts":
        n = 5
    elif shape == "long_texts":
        n, long = 24, True
    elif shape in ("no_labels", "one_class", "date_formats", "empty_header"):
        n = 50
    elif shape == "one_day":
        n = 40
    elif shape == "ten_years_gaps":
        n, label_every = 120, 2
    if shape == "one_day":
        times = [dt.datetime(2026, 5, 4, 8) + dt.timedelta(minutes=7 * i) for i in range(n)]
    elif shape == "ten_years_gaps":  # bursts in 2016, 2019 and 2025-26, nothing between
        bursts = [dt.datetime(2016, 3, 1), dt.datetime(2019, 7, 1), dt.datetime(2025, 11, 1)]
        times = [bursts[i % 3] + dt.timedelta(days=int(rng.integers(0, 120)), hours=i % 24) for i in range(n)]
    elif shape == "many_brands":
        times = [start + dt.timedelta(days=int(rng.integers(0, 365)), hours=i % 24) for i in range(n)]
    else:
        times = [start + dt.timedelta(days=int(rng.integers(0, 90)), hours=i % 24) for i in range(n)]
    classes = [_CLASSES[int(k)] for k in rng.choice(3, size=n, p=[0.45, 0.25, 0.30])]
    if shape == "one_class":
        classes = ["positive"] * n
    brand_of = [brands[i % len(brands)] for i in range(n)]
    texts = [_text(rng, c, i, long=long) for i, c in enumerate(classes)]
    labels = [c if i % label_every == 0 else "" for i, c in enumerate(classes)]
    labelled = sum(1 for x in labels if x)

    if shape == "date_formats":
        def written(i: int, t: dt.datetime) -> str:
            return (t.isoformat(timespec="seconds"), t.strftime("%d/%m/%Y %H:%M"), t.strftime("%B %d, %Y"),
                    str(int(t.replace(tzinfo=dt.UTC).timestamp())))[i % 4]
        stamps = [written(i, t) for i, t in enumerate(times)]
    else:
        stamps = [t.strftime("%Y-%m-%d %H:%M:%S") for t in times]

    if shape == "no_labels":
        data = _csv(["review", "product", "date"], [[t, b, s] for t, b, s in zip(texts, brand_of, stamps)])
        labelled = 0
    elif shape == "empty_header":
        data = _csv(["text", "", "brand", "created_at", "sentiment"],
                    [[t, f"note {i}", b, s, lab] for i, (t, b, s, lab) in enumerate(zip(texts, brand_of, stamps, labels))])
    elif shape == "long_texts":
        data = _csv(["review_body", "product_title", "review_date", "sentiment"],
                    [[t, b, s, lab] for t, b, s, lab in zip(texts, brand_of, stamps, labels)])
    else:
        data = _csv(["text", "brand", "created_at", "sentiment"],
                    [[t, b, s, lab] for t, b, s, lab in zip(texts, brand_of, stamps, labels)])
    return Export(shape, data, n, len(set(brand_of)), labelled)
