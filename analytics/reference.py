"""Readers for the public reference data sets used to train, test and probe models.

The files live outside the repository (``../shared/data`` or a path the user gives); these
functions read them into DataFrames with the columns ``id``, ``label`` and ``text``
(plus the set's own columns) and apply the cleaning each set needs.

* SemEval-2017 Task 4A (``semeval2017/*.tsv``): ``tweet_id<TAB>label<TAB>text``, with
  literal escapes such as ``\\u2019`` in the text and ids repeated across files.
  ``twitter-2016test-A.tsv`` is the test set (SemEval-2016 Task 4A's); it is never
  trained on, and its ids are removed from the training pool.
* The airline brand export (``airline/Tweets.csv``): text with crowd labels and their
  confidence.
* The Equity Evaluation Corpus (``eec/Equity-Evaluation-Corpus.csv``).
* VADER's ground-truth sets (Hutto & Gilbert, ICWSM 2014; ``hutto_ICWSM_2014/`` in the sdist
  of PyPI ``vaderSentiment==3.3.2``, MIT): tweets and review and editorial snippets, each
  rated by about 20 people on -4..4. General training data beside the SemEval pool.
"""

from __future__ import annotations

import ast
import codecs
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from analytics.core.errors import InputFileError
from analytics.core.labels import CLASSES

SEMEVAL_TEST_FILE = "twitter-2016test-A.tsv"
AIRLINE_COLUMNS = ("text", "airline_sentiment", "airline_sentiment_confidence", "airline")

_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}|\\\\|\\n|\\t|\\\"|\\'")


def _unescape_semeval(text: str) -> str:
    """Undo the SemEval TSV files' own quoting (``\\u2019``, ``\\"``, ``\\'``, ``\\\\``, ``\\n``).

    A property of those files, not of exports in general: posts ingested from users' files
    go through :func:`analytics.ingest.text.decode_escapes`, which leaves ordinary
    backslashes alone. The shipped model was trained on texts read this way.
    """
    return _ESCAPE.sub(lambda m: codecs.decode(m.group(0), "unicode_escape"), text)


def _read_semeval_file(path: Path) -> pd.DataFrame:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            tweet_id, label, text = parts[0], parts[1].strip(), "\t".join(parts[2:]).strip()
            if text.startswith('"') and text.endswith('"') and len(text) > 1:
                text = text[1:-1]
            rows.append((tweet_id, label, _unescape_semeval(text), path.name))
    return pd.DataFrame(rows, columns=["id", "label", "text", "file"])


def load_semeval(root: str | Path, *, split: str = "train") -> pd.DataFrame:
    """SemEval-2017 Task 4A tweets as a DataFrame with columns ``id, label, text, file``.

    Parameters
    ----------
    root : path
        The ``semeval2017`` folder.
    split : {"train", "test"}
        ``"test"`` is ``twitter-2016test-A.tsv`` as released (20,632 rows, the 76 repeated
        ids kept, as the official scorer counts them); ``"train"`` is every other file,
        deduplicated by id, without any id that the test set holds.

    Returns
    -------
    DataFrame
        Labels are in :data:`analytics.core.labels.CLASSES`; ``text`` has its escapes decoded
        (apply :func:`normalise_tweet` before a model reads it).
    """
    root = Path(root)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"SemEval folder {root} does not exist")
    test = _read_semeval_file(root / SEMEVAL_TEST_FILE)
    if split == "test":
        frame = test
    else:
        files = sorted(p for p in root.glob("*.tsv") if p.name != SEMEVAL_TEST_FILE)
        if not files:
            raise FileNotFoundError(f"no SemEval training files in {root}")
        frame = pd.concat([_read_semeval_file(p) for p in files], ignore_index=True)
        frame = frame.drop_duplicates("id")
        frame = frame[~frame["id"].isin(set(test["id"]))]
    frame = frame[frame["label"].isin(CLASSES)]
    return frame.reset_index(drop=True)


def train_validation_split(
    frame: pd.DataFrame, *, validation_size: float = 0.1, random_state: int = 13
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded split stratified by label: the validation part is never trained on."""
    train, validation = train_test_split(
        frame, test_size=validation_size, random_state=random_state, stratify=frame["label"]
    )
    return train.reset_index(drop=True), validation.reset_index(drop=True)


def load_airline(path: str | Path) -> pd.DataFrame:
    """The airline export's text, crowd label and its confidence, and the airline.

    Columns: ``text, label, label_confidence, airline``. This reader is for evaluating
    models on the file directly; workspaces read it through :mod:`analytics.ingest`.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:  # spreadsheet exports are often saved as Windows-1252
        frame = pd.read_csv(path, encoding="cp1252", dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in AIRLINE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(f"{path.name} lacks the column(s) {missing} of the airline export", file=str(path))
    out = pd.DataFrame(
        {
            "text": frame["text"],
            "label": frame["airline_sentiment"].str.strip().str.lower(),  # rows with other labels are dropped
            "label_confidence": pd.to_numeric(frame["airline_sentiment_confidence"], errors="coerce"),
            "airline": frame["airline"],
        }
    )
    return out[out["label"].isin(CLASSES) & (out["text"].str.strip() != "")].reset_index(drop=True)


VADER_SETS = ("tweets", "amazonReviewSnippets", "nytEditorialSnippets")
"""The VADER ground-truth sets BrandLens trains on. ``movieReviewSnippets`` exists too and is
left out: movie reviews are the long-review benchmark's domain, which must stay unseen."""


def _plurality_of_signs(ratings: list[float]) -> str | None:
    """The class most raters' signs agree on (below 0, 0, above 0); ``None`` on a tie."""
    counts = np.array([sum(r < 0 for r in ratings), sum(r == 0 for r in ratings), sum(r > 0 for r in ratings)])
    top = np.flatnonzero(counts == counts.max())
    return CLASSES[top[0]] if len(top) == 1 and counts.max() > 0 else None


def _vader_reader(root: Path, probe: str) -> tuple[Callable[[str], str], str]:
    """Read VADER's files from the ``hutto_ICWSM_2014`` folder under ``root``, or straight from
    the ``hutto_ICWSM_2014.tar.gz`` the sdist ships them in; returns the reader and where it reads."""
    if root.is_dir():
        found = sorted(root.rglob(probe))
        if found:
            folder = found[0].parent
            return (lambda name: (folder / name).read_text(encoding="utf-8", errors="replace")), str(folder)
        archives = sorted(root.rglob("hutto_ICWSM_2014.tar.gz"))
        if archives:
            with tarfile.open(archives[0]) as tar:
                members = {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers()
                           if m.isfile() and m.name.endswith(".txt")}
            if probe in members:
                def read_member(name: str) -> str:
                    if name not in members:
                        raise FileNotFoundError(f"{archives[0]} holds no {name}")
                    return members[name].decode("utf-8", errors="replace")

                return read_member, str(archives[0])
    raise FileNotFoundError(f"no VADER ground-truth files ({probe}, or hutto_ICWSM_2014.tar.gz holding them) under {root}")


def load_vader_ground_truth(root: str | Path, *, sets: tuple[str, ...] = VADER_SETS) -> pd.DataFrame:
    """VADER's human-rated sets as three-class labels: columns ``id, label, text, file, raters``.

    Each text's label is the plurality of its raters' signs (negative, zero, positive), the
    way a crowd label is taken, so no threshold on the mean rating is chosen here; texts
    whose raters tie are left out. ``root`` is the ``hutto_ICWSM_2014`` folder, any folder
    above it, or the unpacked sdist, whose ``hutto_ICWSM_2014.tar.gz`` is read as it is.
    Raises :class:`FileNotFoundError` if the files are not there and
    :class:`~analytics.core.errors.InputFileError`, naming file and row, on a malformed row.
    """
    read, where = _vader_reader(Path(root), f"{sets[0]}_anonDataRatings.txt")
    frames = []
    for name in sets:
        texts: dict[str, str] = {}
        for line in read(f"{name}_GroundTruth.txt").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                texts[parts[0].strip()] = "\t".join(parts[2:]).strip()
        rows = []
        ratings_file = f"{name}_anonDataRatings.txt"
        for number, line in enumerate(read(ratings_file).splitlines(), 1):
            parts = line.split("\t")
            if len(parts) < 4:
                continue
            try:
                ratings = [float(r) for r in ast.literal_eval(parts[3].strip())]
            except (ValueError, SyntaxError, TypeError) as exc:
                raise InputFileError("the raters' ratings are not a list of numbers", file=f"{where}/{ratings_file}",
                                     row=number, column="ratings") from exc
            rows.append((f"{name}:{parts[0].strip()}", _plurality_of_signs(ratings), texts.get(parts[0].strip(), ""),
                         ratings_file, len(ratings)))
        frames.append(pd.DataFrame(rows, columns=["id", "label", "text", "file", "raters"]))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["label"].notna() & (frame["text"].str.strip() != "")]
    return frame.drop_duplicates("text").reset_index(drop=True)


def load_eec(path: str | Path) -> pd.DataFrame:
    """The Equity Evaluation Corpus with its columns in snake case.

    Columns: ``id, sentence, template, person, gender, race, emotion, emotion_word``
    (``race`` and ``emotion`` are empty for sentences that name none).
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower().replace(" ", "_") for c in frame.columns]
    return frame.rename(columns={"id": "id"})


def sample_indices(n: int, k: int, *, random_state: int = 0) -> np.ndarray:
    """``k`` distinct sorted indices out of ``n``, seeded (fixed evaluation samples)."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=min(k, n), replace=False))
