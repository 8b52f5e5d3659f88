"""Guess which column of an export holds the text, brand, time, label and the rest.

A column's *name* proposes fields: an exact synonym scores 3, a name ending in a synonym
(``airline_sentiment`` -> label, ``tweet_created`` -> time, ``negativereason`` -> aspect)
scores 2, a name containing one scores 1. Its *content* then has to agree: a time column
must mostly parse as dates, a label column must mostly map to classes, a brand column must
have few distinct values, a confidence column must hold numbers in [0, 1], and the text
column must hold the longest free text. Fields are assigned greedily, best score first,
one column per field. A name that says brand (``product_name``, ``company``) is never taken
as the author, whatever else it contains; a brand column may hold many names (a catalogue of
products) as long as they repeat, or however rarely they repeat when the column is named
exactly for brands (``brand``, ``product``). A column named as labels (``label``,
``sentiment``, ``polarity``) whose values are only partly readable labels is still the label
column: its unreadable values are quarantined with their rows and :func:`mapping_notes` says
so, as an explicit ``--map`` does.

The guess is a starting point: callers pass an explicit mapping (``--map text=COL``) to
override any field, or map a field to ``""`` to leave it unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analytics.ingest.dates import infer_time_format
from analytics.ingest.labels import infer_label_scale, normalise_labels

FIELDS: tuple[str, ...] = (
    "text", "brand", "time", "label", "label_confidence", "id", "aspect",
    "region", "timezone", "language", "author", "group",
)
"""Fields a column can be mapped to; only ``text`` is required."""

TARGET_HELP: dict[str, str] = {
    "text": "The post or review itself: the only required column.",
    "brand": "Who the post is about: a brand, product or company name. Share of voice and every per-brand "
             "chart group by it.",
    "time": "When the post was written (any common date format); charts and alerts need it.",
    "label": "A sentiment label given by people (negative/neutral/positive, or words and scores that mean them); "
             "it measures the model and corrects the KPIs.",
    "label_confidence": "How sure the labeller was (0 to 1, e.g. a crowd's agreement); low-confidence labels "
                        "can be left out of evaluation.",
    "id": "The source's own post id, to recognise the same post in a later export.",
    "aspect": "A reason, topic or category the source gives (e.g. 'late flight', a product condition); "
              "used as topics.",
    "region": "Where the author is (country, region, store): fairness checks compare the model's errors by it.",
    "timezone": "The author's time zone, when times are local.",
    "language": "The post's language as the source gives it (otherwise it is detected).",
    "author": "Who wrote it (a user name); stored only as a salted hash, never shown.",
    "group": "Any other grouping to compare the model's errors by (e.g. a customer segment).",
}
"""One sentence per mapping target, shown beside its box on the Data page."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "text": ("text", "tweet", "tweettext", "fulltext", "body", "content", "message", "review",
             "reviewtext", "comment", "post", "posttext", "sentence", "caption"),
    "brand": ("brand", "airline", "company", "brandname", "product", "organisation", "organization",
              "account", "merchant", "store", "carrier"),
    "time": ("createdat", "created", "date", "time", "timestamp", "datetime", "postedat", "posted",
             "publishedat", "published", "tweetcreated", "reviewdate"),
    "label": ("sentiment", "label", "rating", "stars", "polarity", "score", "class"),
    "label_confidence": ("confidence", "labelconfidence", "sentimentconfidence"),
    "id": ("id", "tweetid", "postid", "reviewid", "messageid", "statusid"),
    "aspect": ("reason", "negativereason", "aspect", "topic", "category", "issue"),
    "region": ("location", "region", "country", "city", "state", "userlocation", "tweetlocation"),
    "timezone": ("timezone", "usertimezone", "tz", "timezonename"),
    "language": ("lang", "language", "languagecode"),
    "author": ("name", "author", "user", "username", "screenname", "handle", "authorname", "reviewer"),
    "group": ("segment", "group"),
}

_SAMPLE = 1000


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


def name_score(column: str, field: str) -> float:
    """How strongly a column name suggests ``field`` (0 none, 1 contains, 2 ends with, 3 exact).

    Examples
    --------
    >>> name_score("airline_sentiment", "label"), name_score("airline_sentiment", "brand")
    (2.0, 1.0)
    """
    norm, tokens = _normalise(column), _tokens(column)
    best = 0.0
    for synonym in SYNONYMS[field]:
        if norm == synonym:
            return 3.0
        if len(synonym) <= 3:  # short synonyms (id, tz) only as whole words
            if tokens and tokens[-1] == synonym:
                best = max(best, 2.0)
            elif synonym in tokens:
                best = max(best, 1.0)
        elif norm.endswith(synonym):
            best = max(best, 2.0)
        elif synonym in norm:
            best = max(best, 1.0)
    return best


def _filled(values: pd.Series) -> pd.Series:
    strings = values.astype(str).str.strip()
    return strings[strings != ""]


def _content_ok(field: str, values: pd.Series, n_rows: int) -> bool:
    filled = _filled(values)
    if field == "text":
        return filled.empty or (filled.str.len().mean() >= 3 and pd.to_numeric(filled, errors="coerce").isna().mean() > 0.5)
    if filled.empty:
        return field not in ("time", "label", "label_confidence")
    if field == "time":
        try:
            return infer_time_format(filled) is not None
        except ValueError:
            return True  # dates, only ambiguous: still the time column
    if field == "label":
        _, unknown = normalise_labels(filled, scale=infer_label_scale(filled))
        return float(unknown.mean()) <= 0.5
    if field == "label_confidence":
        numbers = pd.to_numeric(filled, errors="coerce")
        return bool(numbers.notna().mean() >= 0.9 and numbers.between(0, 1).mean() >= 0.9)
    if field == "brand":
        distinct = filled.nunique()
        return distinct <= 3 or distinct <= 0.5 * max(len(filled), 1)  # names that repeat, however many
    if field in ("timezone", "language", "group"):
        return filled.nunique() <= max(10, 0.5 * len(filled))
    return True


_LABEL_NAMES = ("sentiment", "label", "polarity")
"""Names that mean sentiment labels and nothing else (``rating``, ``score``, ``class`` may mean other things)."""


def _named_as_labels(column: str) -> bool:
    norm = _normalise(column)
    return any(norm.endswith(name) for name in _LABEL_NAMES)


def _short_names(values: pd.Series) -> bool:
    """Whether the values look like names (short), not free text."""
    filled = _filled(values)
    return filled.empty or float(filled.str.len().mean()) <= 40


def _label_share(values: pd.Series) -> float:
    """Share of the non-empty values that read as labels (0 when there are none)."""
    filled = _filled(values)
    if filled.empty:
        return 0.0
    _, unknown = normalise_labels(filled, scale=infer_label_scale(filled))
    return 1.0 - float(unknown.mean())


def _text_by_content(frame: pd.DataFrame, taken: set[str]) -> str | None:
    best, best_len = None, 0.0
    for column in frame.columns:
        if column in taken:
            continue
        filled = _filled(frame[column])
        if filled.empty or pd.to_numeric(filled, errors="coerce").notna().mean() > 0.5:
            continue
        mean_len = float(filled.str.len().mean())
        if mean_len > best_len and filled.str.contains(" ", regex=False).mean() > 0.3:
            best, best_len = column, mean_len
    return best if best_len >= 15 else None


def _time_by_content(frame: pd.DataFrame, taken: set[str]) -> str | None:
    for column in frame.columns:
        filled = _filled(frame[column])
        if column in taken or filled.empty or filled.str.len().max() > 40:
            continue
        try:
            fmt = infer_time_format(filled)
        except ValueError:
            return str(column)  # dates whose day/month order is ambiguous: still the time column
        if fmt is not None and fmt.parsed_share >= 0.9:
            return str(column)
    return None


def _label_by_content(frame: pd.DataFrame, taken: set[str]) -> str | None:
    """A column of label *words* (numbers are too ambiguous to guess without a name)."""
    for column in frame.columns:
        filled = _filled(frame[column])
        if column in taken or filled.empty or pd.to_numeric(filled, errors="coerce").notna().any():
            continue
        _, unknown = normalise_labels(filled)
        if float(unknown.mean()) <= 0.05:
            return str(column)
    return None


def guess_mapping(df: pd.DataFrame) -> dict[str, str]:
    """Guess ``field -> column`` for a frame read from an export.

    Parameters
    ----------
    df : pandas.DataFrame
        The first rows of the file (strings); up to 1,000 rows are looked at.

    Returns
    -------
    dict
        Field name (see :data:`FIELDS`) to column name, only for the fields found.

    Examples
    --------
    >>> frame = pd.DataFrame({"tweet_id": ["1"], "airline_sentiment": ["negative"],
    ...                       "airline": ["Delta"], "text": ["@delta late again"],
    ...                       "tweet_created": ["24-02-2015 11.35"]})
    >>> guess_mapping(frame) == {"text": "text", "brand": "airline", "time": "tweet_created",
    ...                          "label": "airline_sentiment", "id": "tweet_id"}
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    sample = df.iloc[:_SAMPLE]
    n_rows = len(sample)
    fill = {c: float((sample[c].astype(str).str.strip() != "").mean()) if n_rows else 1.0 for c in sample.columns}
    proposals: list[tuple[float, float, str, str]] = []
    for column in sample.columns:
        brand_named = name_score(str(column), "brand") > 0
        for field in FIELDS:
            score = name_score(str(column), field)
            if field == "author" and brand_named:
                continue  # "product_name", "company_user": a brand-like name is never the author
            if score > 0:
                proposals.append((score, fill[column], field, str(column)))
    proposals.sort(key=lambda p: (-p[0], -p[1], FIELDS.index(p[2])))
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for score, _, field, column in proposals:
        if field in mapping or column in taken:
            continue
        if field == "label_confidence":
            continue  # decided once the label is known
        if not _content_ok(field, sample[column], n_rows) and not (
                field == "label" and _named_as_labels(column) and _label_share(sample[column]) > 0) and not (
                field == "brand" and score >= 3 and _short_names(sample[column])):
            continue  # (a column named as labels with some readable labels stays the label column; a column
            # named exactly "brand"/"product"/"company" holding names is the brand, however rarely they repeat)
        mapping[field] = column
        taken.add(column)
    if "text" not in mapping:
        column = _text_by_content(sample, taken)
        if column is not None:
            mapping["text"] = column
            taken.add(column)
    if "time" not in mapping:
        column = _time_by_content(sample, taken)
        if column is not None:
            mapping["time"] = column
            taken.add(column)
    if "label" not in mapping:
        column = _label_by_content(sample, taken)
        if column is not None:
            mapping["label"] = column
            taken.add(column)
    if "label" in mapping:
        label_norm = _normalise(mapping["label"])
        candidates = [
            (2 if label_norm in _normalise(c) else 1, c)
            for c in sample.columns
            if c not in taken and name_score(str(c), "label_confidence") >= 2
            and _content_ok("label_confidence", sample[c], n_rows)
        ]
        if candidates:
            mapping["label_confidence"] = max(candidates, key=lambda t: t[0])[1]
    return {field: mapping[field] for field in FIELDS if field in mapping}


def mapping_notes(df: pd.DataFrame, mapping: Mapping[str, str]) -> list[str]:
    """What a person should know about a file's columns and their mapping, one sentence each.

    Columns without a header (named ``column_N`` by the reader), a label column whose values
    are partly unreadable (those rows are quarantined), a column named as labels left out
    because none of its values reads as one, a brand-like column that is not the brand.

    Examples
    --------
    >>> frame = pd.DataFrame({"text": ["good app", "bad app"], "column_2": ["x", "y"], "label": ["positive", "meh"]})
    >>> for note in mapping_notes(frame, guess_mapping(frame)): print(note)
    column 2 has no header: it is named 'column_2'
    column 'label': 1 of 2 values read here are not labels (e.g. 'meh'); their rows are quarantined as 'unknown label' (map label= to ignore the column)
    """
    notes: list[str] = []
    names = [str(c) for c in df.columns]
    blank = [i + 1 for i, name in enumerate(names) if name == f"column_{i + 1}"]
    if blank and len(blank) == len(names):
        notes.append(f"the file has no header row: its columns are named column_1 to column_{len(names)}")
    else:
        notes += [f"column {i} has no header: it is named 'column_{i}'" for i in blank]
    sample = df.iloc[:_SAMPLE]
    label = mapping.get("label")
    if label is not None and label in sample.columns:
        filled = _filled(sample[label])
        labels, unknown = normalise_labels(filled, scale=infer_label_scale(filled))
        if unknown.any():
            examples = ", ".join(repr(v) for v in pd.unique(filled[unknown])[:3])
            notes.append(f"column {label!r}: {int(unknown.sum()):,} of {len(filled):,} values read here are not "
                         f"labels (e.g. {examples}); their rows are quarantined as 'unknown label' "
                         "(map label= to ignore the column)")
    for column in names:
        if column in mapping.values() or column not in sample.columns:
            continue
        if label is None and _named_as_labels(column) and not _filled(sample[column]).empty:
            examples = ", ".join(repr(v) for v in pd.unique(_filled(sample[column]))[:3])
            notes.append(f"column {column!r} is named like labels but none of its values reads as one "
                         f"(e.g. {examples}); it is kept in extra, not used as labels")
        if "brand" not in mapping and name_score(column, "brand") > 0:
            distinct = _filled(sample[column]).nunique()
            notes.append(f"column {column!r} looks like the brand by its name but its {distinct:,} values "
                         "rarely repeat; map brand= to use it")
    return notes


def parse_mapping_spec(spec: str) -> dict[str, str]:
    """Parse ``"text=COL,brand=COL"`` (the CLI's ``--map``) into a dict.

    An empty value (``label=``) leaves that field unmapped.

    Examples
    --------
    >>> parse_mapping_spec("text=body, time=posted at")
    {'text': 'body', 'time': 'posted at'}
    """
    mapping: dict[str, str] = {}
    for part in [p for p in spec.split(",") if p.strip()]:
        if "=" not in part:
            raise ValueError(f"--map entry {part.strip()!r} is not FIELD=COLUMN")
        field, column = (s.strip() for s in part.split("=", 1))
        if field not in FIELDS:
            raise ValueError(f"--map field {field!r} is not one of {list(FIELDS)}")
        mapping[field] = column
    return mapping


def resolve_mapping(
    columns: list[str], guessed: Mapping[str, str], explicit: Mapping[str, str | None] | None
) -> dict[str, str]:
    """Merge an explicit mapping over the guess and check every column exists.

    Raises
    ------
    ValueError
        For an unknown field or a column the file does not have (the message names both).
    """
    mapping = dict(guessed)
    for field, column in (explicit or {}).items():
        if field not in FIELDS:
            raise ValueError(f"mapping field {field!r} is not one of {list(FIELDS)}")
        if not column:
            mapping.pop(field, None)
            continue
        if column not in columns:
            raise ValueError(f"mapping {field}={column!r}: the file has no column {column!r} (columns: {columns})")
        for other, used in list(mapping.items()):
            if used == column and other != field:
                mapping.pop(other)
        mapping[field] = column
    return {field: mapping[field] for field in FIELDS if field in mapping}
