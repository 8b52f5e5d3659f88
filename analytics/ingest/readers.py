"""Read export files as chunks of string columns, whatever their format.

Formats are told by content first and extension second: Parquet (``PAR1``), Excel
(``.xlsx`` zip or legacy ``.xls``), JSON Lines (first character ``{``), otherwise delimited
text. For delimited text the encoding is detected over the *whole* file (UTF-8 with or
without BOM, UTF-16 with BOM, else cp1252, else latin-1), so a stray cp1252 byte at row
900,000 cannot fail an ingest halfway; the delimiter (``,`` ``\\t`` ``;`` ``|``) is chosen by the
most consistent field count over the first lines. Binary content and quoted fields that never
close (a truncated file) are refused with the file and row named.

A first row holding a long number (an id) or a sentence is data, not a header: such files
get the column names ``column_1``, ``column_2``, ...

Every reader yields :class:`Chunk` objects: a DataFrame whose columns are all ``str``
(missing values as ``""``), the 1-based data row number of each row (header excluded),
and the records that could not be split into the header's columns. CSV and Parquet are
streamed (Arrow batches), JSON Lines in line chunks; Excel and JSON arrays (``[{...}, ...]``
in a ``.json`` file) are read whole (a sheet holds at most 1,048,576 rows).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.core.errors import InputFileError

READABLE_SUFFIXES: tuple[str, ...] = (
    ".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".xls", ".jsonl", ".ndjson", ".json", ".parquet", ".pq",
)
"""File name endings of exports the readers take (the format itself is told from the content)."""

DEFAULT_CHUNK_ROWS = 100_000
_SNIFF_BYTES = 64 * 1024
_SCAN_BYTES = 16 * 1024 * 1024
_QUOTE_SAMPLE_BYTES = 1024 * 1024
_MIN_BLOCK_BYTES = 4 * 1024 * 1024
_MAX_BLOCK_BYTES = 64 * 1024 * 1024
DELIMITERS = (",", "\t", ";", "|")


@dataclass
class InvalidRecord:
    """A record that does not split into the header's columns."""

    row_number: int | None
    text: str
    reason: str


@dataclass
class Chunk:
    """A block of rows read from a file."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    invalid: list[InvalidRecord] = field(default_factory=list)
    bytes_read: int = 0


@dataclass(frozen=True)
class TextLayout:
    """How a delimited text file is written."""

    encoding: str
    delimiter: str
    quoting: bool = True


def _name(path: Path) -> str:
    return str(path)


def detect_format(path: Path) -> str:
    """``"parquet"``, ``"excel"``, ``"jsonl"`` or ``"csv"`` for a file, by content then extension."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0") or (head.startswith(b"PK\x03\x04") and suffix in (".xlsx", ".xlsm", ".xls", "")):
        return "excel"
    if head.startswith(b"PK\x03\x04"):
        raise InputFileError(
            "this is a zip archive, not a table; unpack it or save it as CSV, Excel, JSON Lines or Parquet",
            file=_name(path),
        )
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "csv"


def _check_not_binary(path: Path, sample: bytes, encoding: str) -> None:
    if encoding.startswith("utf-16"):
        return
    nul = sample.find(b"\x00")
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
    if nul >= 0 or (sample and controls / len(sample) > 0.01):
        offset = nul if nul >= 0 else next(i for i, b in enumerate(sample) if b < 32 and b not in (9, 10, 12, 13))
        raise InputFileError(
            f"binary content (byte 0x{sample[offset]:02x} at offset {offset}); "
            "this is not a CSV/TSV text file — expected CSV, TSV, Excel, JSON Lines or Parquet",
            file=_name(path),
        )


MIXED = "utf-8+cp1252"
"""The "encoding" of a file whose lines are UTF-8 except some in Windows-1252/latin-1: decoded line by line."""


def _line_encodings(path: Path) -> tuple[bool, list[int]]:
    """``(has_utf8_text, non_utf8_lines)``: whether some line is non-ASCII UTF-8, and the 1-based lines that are not UTF-8."""
    utf8_text, bad = False, []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_text = True
            except UnicodeDecodeError:
                bad.append(number)
    return utf8_text, bad


def non_utf8_lines(path: str | os.PathLike[str]) -> list[int]:
    """The lines of a :data:`MIXED` file that were read as Windows-1252 (empty for any other file)."""
    file = Path(path)
    try:
        if detect_format(file) not in ("csv", "jsonl") or detect_encoding(file) != MIXED:
            return []
    except InputFileError:
        return []
    return _line_encodings(file)[1]


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return line.decode("cp1252")
        except UnicodeDecodeError:
            return line.decode("latin-1")


class _PerLineUtf8(io.RawIOBase):
    """A :data:`MIXED` file as UTF-8 bytes: each line decoded on its own (UTF-8, else Windows-1252, else latin-1)."""

    def __init__(self, path: Path) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._pending = bytearray()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        want = len(buffer)
        while len(self._pending) < want:
            line = self._handle.readline()
            if not line:
                break
            self.bytes_read += len(line)
            self._pending += _decode_line(line).encode("utf-8")
        n = min(want, len(self._pending))
        buffer[:n] = self._pending[:n]
        del self._pending[:n]
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()


def detect_encoding(path: Path) -> str:
    """The encoding that decodes the whole file: utf-8-sig, utf-8, utf-16, cp1252 or latin-1.

    A file that is UTF-8 except for some lines (an export appended to by another tool) is
    :data:`MIXED`: read line by line, never decoded whole as Windows-1252, which would turn
    every UTF-8 ``é`` into ``Ã©``.
    """
    cached = _detect_encoding(path, *_stamp(path))
    return cached


def utf16_without_bom(sample: bytes) -> str | None:
    r"""``"utf-16-le"`` or ``"utf-16-be"`` for text saved as UTF-16 without its BOM, else ``None``.

    Mostly-Latin text in UTF-16 has a NUL in every other byte, on one side only; binary
    files have NULs on both.

    Examples
    --------
    >>> utf16_without_bom("text,brand\nhello,A\n".encode("utf-16-le")), utf16_without_bom(b"text\n")
    ('utf-16-le', None)
    """
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    share_even, share_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if share_odd > 0.6 and share_even < 0.05:
        return "utf-16-le"
    if share_even > 0.6 and share_odd < 0.05:
        return "utf-16-be"
    return None


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=16)
def _detect_encoding(path: Path, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    bomless = utf16_without_bom(head)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif bomless:
        candidates = [bomless]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig", "cp1252", "latin-1"]
    else:
        candidates = ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                while block := handle.read(_SCAN_BYTES):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if encoding.startswith("utf-16"):
                raise InputFileError(f"undecodable UTF-16 text ({exc.reason})", file=_name(path)) from None
            if encoding.startswith("utf-8") and _line_encodings(path)[0]:
                return MIXED  # UTF-8 text and lines that are not: each line decoded on its own
            continue
        return encoding
    raise InputFileError("the text encoding could not be detected", file=_name(path))  # latin-1 never fails


def detect_delimiter(sample: str, *, suffix: str = "") -> str:
    """The delimiter whose field count is most consistent over the sample's records.

    Examples
    --------
    >>> detect_delimiter("a;b;c\\n1;2;3\\n4;5;6\\n")
    ';'
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-record
    text = "".join(lines[:500])
    best, best_score = ("\t" if suffix in (".tsv", ".tab") else ","), 0.0
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = counts.count(mode) / len(counts) + (0.001 if delimiter == best else 0.0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_names(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = str(raw).strip() or f"column_{i + 1}"
        candidate, k = name, 2
        while candidate in seen:
            candidate, k = f"{name}_{k}", k + 1
        seen.add(candidate)
        out.append(candidate)
    return out


def _check_quotes(path: Path, layout: TextLayout) -> None:
    """Refuse files in which a quoted field never closes (usually a truncated file)."""
    quotes = 0
    encoding = "utf-8" if layout.encoding == MIXED else layout.encoding
    quote = '"'.encode(encoding.replace("-sig", "")) if not encoding.startswith("utf-16") else None
    if quote is None:
        return
    with open(path, "rb") as handle:
        while block := handle.read(_SCAN_BYTES):
            quotes += block.count(quote)
    if quotes % 2 == 0:
        return
    # An odd number of quotes is allowed inside unquoted fields (5" screen); let pandas' tokenizer decide.
    import pandas.errors

    try:
        for _ in pd.read_csv(
            path, sep=layout.delimiter, encoding=encoding, dtype=str, usecols=[0],
            chunksize=200_000, keep_default_na=False, on_bad_lines="skip", encoding_errors="replace",
        ):
            pass
    except pandas.errors.ParserError as exc:
        match = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if match:
            raise InputFileError(
                "a quoted field opens here and never closes (the file looks truncated or has a stray quote)",
                file=_name(path), row=int(match.group(1)),
            ) from None
        raise InputFileError(f"the file cannot be parsed as CSV ({exc})", file=_name(path)) from None


def inspect_text(path: Path) -> TextLayout:
    """Detect encoding and delimiter of a delimited text file; refuse binary and truncated files.

    The result is remembered for the file's path, size and modification time, so a preview
    followed by an ingest scans a large file once.
    """
    stat = path.stat()
    return _inspect_text(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _inspect_text(path: Path, size: int, mtime_ns: int) -> TextLayout:
    if size == 0:
        raise InputFileError("the file is empty (0 bytes); nothing to ingest", file=_name(path))
    with open(path, "rb") as handle:
        sample = handle.read(_SNIFF_BYTES)
    encoding = ("utf-16" if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                else utf16_without_bom(sample) or "utf-8")
    _check_not_binary(path, sample, encoding)
    encoding = detect_encoding(path)
    text = sample.decode("utf-8" if encoding == MIXED else encoding, errors="ignore")
    if not text.strip():
        raise InputFileError("the file holds only whitespace; nothing to ingest", file=_name(path))
    delimiter = detect_delimiter(text, suffix=path.suffix.lower())
    quoting = True
    if delimiter == "\t":
        with open(path, "rb") as handle:
            quoting = uses_quoting(handle.read(_QUOTE_SAMPLE_BYTES).decode(
                "utf-8" if encoding == MIXED else encoding, errors="ignore"))
    layout = TextLayout(encoding=encoding, delimiter=delimiter, quoting=quoting)
    if quoting:
        _check_quotes(path, layout)
    return layout


def uses_quoting(sample: str, *, delimiter: str = "\t") -> bool:
    r"""Whether a tab-separated sample uses CSV quoting.

    Plain TSV (as research corpora are written) has no quoting: a text may start with a
    quote it never closes. When every line splits into the same number of fields at the
    tabs and some field opens a quote it does not close, quotes are plain characters.

    Examples
    --------
    >>> uses_quoting('1\tneutral\t"Hello there\n2\tpositive\tok"\n')
    False
    >>> uses_quoting('id\ttext\n1\t"two\nlines"\n')
    True
    """
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-line
    lines = [line for line in lines if line]
    if not lines:
        return True
    counts = [line.count(delimiter) for line in lines]
    mode = max(set(counts), key=counts.count)
    if counts.count(mode) < 0.99 * len(counts):
        return True
    for line in lines:
        for value in line.split(delimiter):
            if value.startswith('"') and (len(value) == 1 or not value.endswith('"')):
                return False
    return True


class _CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes handed out (for progress)."""

    def __init__(self, path: Path) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._handle.readinto(buffer)
        self.bytes_read += n or 0
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()


def _numbers_for_valid(count: int, start_valid: int, invalid_rows: list[int]) -> np.ndarray:
    """Data row numbers of valid rows ``start_valid .. start_valid + count - 1`` given the invalid rows."""
    k = np.arange(start_valid, start_valid + count, dtype=np.int64)
    if not invalid_rows:
        return k + 1
    bad = np.sort(np.asarray(invalid_rows, dtype=np.int64))
    valid_before = bad - np.arange(1, len(bad) + 1)  # valid rows preceding each invalid row
    return k + 1 + np.searchsorted(valid_before, k, side="right")


def _iter_csv(path: Path, layout: TextLayout, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    mixed = layout.encoding == MIXED
    arrow_encoding = "utf8" if layout.encoding in ("utf-8", "utf-8-sig", MIXED) else layout.encoding
    source = (lambda: _PerLineUtf8(path)) if mixed else (lambda: _CountingFile(path))
    parse = (
        dict(delimiter=layout.delimiter, newlines_in_values=True, double_quote=True)
        if layout.quoting
        else dict(delimiter=layout.delimiter, quote_char=False, newlines_in_values=False)
    )
    try:
        with pacsv.open_csv(
            io.BufferedReader(source()) if mixed else str(path),
            read_options=pacsv.ReadOptions(encoding=arrow_encoding, block_size=1 << 16, use_threads=False),
            parse_options=pacsv.ParseOptions(**parse, invalid_row_handler=lambda row: "skip"),
        ) as probe:
            raw_names = list(probe.schema.names)
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"the header cannot be read ({exc})", file=_name(path), row=0) from None
    headerless = _looks_like_data(raw_names)
    names = [f"column_{i + 1}" for i in range(len(raw_names))] if headerless else _unique_names(raw_names)
    invalid: list[InvalidRecord] = []
    invalid_seen: set[int] = set()

    def on_invalid(row) -> str:  # type: ignore[no-untyped-def]
        number = None if row.number is None else row.number - (0 if headerless else 1)  # Arrow counts the header
        if number is not None and number in invalid_seen:  # read again after a larger block was needed
            return "skip"
        if number is not None:
            invalid_seen.add(number)
        invalid.append(
            InvalidRecord(number, row.text, f"wrong number of fields ({row.actual_columns} instead of {row.expected_columns})")
        )
        return "skip"

    # Arrow parses blocks of bytes; a record must fit in one, so blocks are at least
    # _MIN_BLOCK_BYTES (any legal row: 32,767 characters a field). Blocks are then cut into
    # chunks of chunk_rows rows, so memory and progress follow chunk_rows. A longer record
    # (a 50 MB line, quarantined later as an over-long field) reopens the file with larger
    # blocks, up to _MAX_BLOCK_BYTES, skipping the rows already read: a preview of 50 rows
    # and a full ingest read the same file the same way.
    avg_row = max(40, path.stat().st_size // max(1, _estimate_rows(path)))
    block = int(min(max(chunk_rows * avg_row, _MIN_BLOCK_BYTES), _MAX_BLOCK_BYTES))

    def open_reader(block_size: int):  # type: ignore[no-untyped-def]
        counting = source()
        reader = pacsv.open_csv(
            io.BufferedReader(counting, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(
                encoding=arrow_encoding, block_size=block_size, use_threads=False, column_names=names,
                skip_rows=0 if headerless else 1,
            ),
            parse_options=pacsv.ParseOptions(**parse, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
        return counting, reader

    counting, reader = open_reader(block)
    valid_seen = 0
    skip = 0  # valid rows a reopened reader gives again
    reported = 0
    invalid_rows: list[int] = []
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                row = valid_seen + len(invalid_rows) + 1
                if "straddl" in str(exc) and block < _MAX_BLOCK_BYTES:
                    counting.close()
                    block = min(block * 8, _MAX_BLOCK_BYTES)
                    counting, reader = open_reader(block)
                    skip = valid_seen
                    continue
                if "straddl" in str(exc):
                    raise InputFileError(
                        f"a record longer than {block // 2**20} MiB starts near here; the file probably has "
                        "a stray quote that runs over many lines", file=_name(path), row=row,
                    ) from None
                raise InputFileError(f"the file cannot be parsed ({exc})", file=_name(path), row=row) from None
            new_invalid = invalid[reported:]
            reported = len(invalid)
            invalid_rows.extend(r.row_number for r in new_invalid if r.row_number is not None)
            frame = batch.to_pandas()
            frame.columns = names
            if skip:
                dropped = min(skip, len(frame))
                frame = frame.iloc[dropped:].reset_index(drop=True)
                skip -= dropped
                if frame.empty and not new_invalid:
                    continue
            numbers = _numbers_for_valid(len(frame), valid_seen, invalid_rows)
            valid_seen += len(frame)
            for start in range(0, max(len(frame), 1), chunk_rows):
                part = frame.iloc[start : start + chunk_rows].reset_index(drop=True)
                yield Chunk(part, numbers[start : start + chunk_rows], new_invalid if start == 0 else [],
                            counting.bytes_read)
        if invalid[reported:]:
            yield Chunk(pd.DataFrame({n: pd.Series([], dtype=object) for n in names}),
                        np.zeros(0, dtype=np.int64), invalid[reported:], counting.bytes_read)
    finally:
        counting.close()


def _looks_like_data(names: list[str]) -> bool:
    """Whether a first row is data rather than a header: a long id-like number or a sentence in it."""
    return any(re.fullmatch(r"[+-]?\d{4,}(?:\.\d+)?", n.strip()) or len(n) > 60 for n in names)


def _estimate_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        sample = handle.read(_SNIFF_BYTES)
    lines = sample.count(b"\n")
    if lines <= 1:
        return 1
    return max(1, int(path.stat().st_size / (len(sample) / lines)))


def _to_string(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as strings, missing values as ``""``; datetimes in ISO 8601 (with offset if aware)."""
    out = {}
    for i, column in enumerate(frame.columns):
        series = frame.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(series):
            aware = getattr(series.dt, "tz", None) is not None
            strings = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%f" + ("%z" if aware else ""))
            out[i] = strings.where(series.notna(), "")
        elif series.dtype == object:
            out[i] = series.map(_to_string)
        else:
            out[i] = series.astype(str).where(series.notna(), "")
    result = pd.DataFrame(out, index=frame.index)
    result.columns = _unique_names([str(c) for c in frame.columns])
    return result


def _iter_parquet(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises several types for broken files
        raise InputFileError(f"not a readable Parquet file ({exc})", file=_name(path)) from None
    done = 0
    for batch in handle.iter_batches(batch_size=chunk_rows):
        frame = _as_strings(batch.to_pandas())
        numbers = np.arange(done + 1, done + len(frame) + 1, dtype=np.int64)
        done += len(frame)
        yield Chunk(frame, numbers)


def _iter_excel(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False)
    except Exception as exc:  # openpyxl/xlrd raise many types for broken files
        raise InputFileError(f"not a readable Excel workbook ({exc})", file=_name(path)) from None
    frame = _as_strings(frame.fillna(""))
    for start in range(0, max(len(frame), 1), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        yield Chunk(part.reset_index(drop=True), np.arange(start + 1, start + len(part) + 1, dtype=np.int64))


def _json_problem(exc: BaseException) -> str:
    """What is wrong with a JSON text, in words (decode errors, numbers too long, nesting too deep)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg})"
    if isinstance(exc, RecursionError):
        return "invalid JSON (nested too deeply to read)"
    if "integer string conversion" in str(exc):
        return "invalid JSON (a number with more digits than can be read: more than 4,300)"
    return f"invalid JSON ({exc})"


def _json_record(text: str) -> object:
    """One JSON value; raises ``ValueError`` or ``RecursionError`` for text that cannot be read or stored.

    A value must also write back as JSON (an unmapped object goes to ``extra``), so nesting
    too deep to write back is refused here, with its row, rather than later with a traceback.
    """
    value = json.loads(text)
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        json.dumps(value, default=str)
    return value


def _iter_json_array(path: Path, encoding: str, chunk_rows: int) -> Iterator[Chunk]:
    try:
        with _open_text(path, encoding) as handle:
            records = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"invalid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})", file=_name(path)) from None
    except (ValueError, RecursionError) as exc:  # a number of > 4,300 digits, nesting too deep
        raise InputFileError(_json_problem(exc), file=_name(path)) from None
    if not isinstance(records, list):
        raise InputFileError("a JSON file must hold an array of objects (or one object a line)", file=_name(path))
    for start in range(0, len(records), chunk_rows):
        part = records[start : start + chunk_rows]
        good = [(start + i + 1, r) for i, r in enumerate(part) if isinstance(r, dict)]
        invalid = [InvalidRecord(start + i + 1, json.dumps(r), "not a JSON object") for i, r in enumerate(part) if not isinstance(r, dict)]
        frame = _as_strings(pd.DataFrame.from_records([r for _, r in good])) if good else pd.DataFrame()
        yield Chunk(frame, np.asarray([n for n, _ in good], dtype=np.int64), invalid)


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    """``path`` as text: a :data:`MIXED` file decoded line by line, any other in its one encoding."""
    if encoding == MIXED:
        return io.TextIOWrapper(io.BufferedReader(_PerLineUtf8(path)), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding)  # noqa: SIM115


def _iter_jsonl(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    encoding = detect_encoding(path)
    with _open_text(path, encoding) as handle:
        first = handle.read(4096).lstrip("\ufeff \t\r\n")[:1]
    if first == "[":
        yield from _iter_json_array(path, encoding, chunk_rows)
        return
    row = 0
    with _open_text(path, encoding) as handle:
        while True:
            lines: list[tuple[int, str]] = []
            for line in handle:
                row += 1
                if line.strip():
                    lines.append((row, line))
                if len(lines) >= chunk_rows:
                    break
            if not lines:
                return
            records, numbers, invalid = [], [], []
            try:
                records = [_json_record(text) for _, text in lines]
                numbers = [n for n, _ in lines]
            except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; each line on its own now
                records, numbers = [], []
                for n, text in lines:
                    try:
                        value = _json_record(text)
                    except (ValueError, RecursionError) as exc:
                        invalid.append(InvalidRecord(n, text.rstrip("\n"), _json_problem(exc)))
                        continue
                    records.append(value)
                    numbers.append(n)
            good = [(n, r) for n, r in zip(numbers, records) if isinstance(r, dict)]
            invalid += [InvalidRecord(n, json.dumps(r), "not a JSON object") for n, r in zip(numbers, records) if not isinstance(r, dict)]
            frame = _as_strings(pd.DataFrame.from_records([r for _, r in good])) if good else pd.DataFrame()
            yield Chunk(frame, np.asarray([n for n, _ in good], dtype=np.int64), invalid)


def iter_chunks(path: str | os.PathLike[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
    """Yield the file's rows as :class:`Chunk` objects of about ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or path-like
        A CSV/TSV, Excel, JSON Lines or Parquet file.
    chunk_rows : int, default 100_000
        Rows per chunk (CSV chunks are sized by bytes, so this is approximate).

    Raises
    ------
    InputFileError
        When the file is missing, empty, binary, truncated or otherwise unreadable.
    """
    file = Path(path)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if not file.exists():
        raise InputFileError("no such file", file=str(file))
    if file.is_dir():
        raise InputFileError("is a directory, not a file", file=str(file))
    if file.stat().st_size == 0:
        raise InputFileError("the file is empty (0 bytes); nothing to ingest", file=str(file))
    kind = detect_format(file)
    if kind == "parquet":
        yield from _iter_parquet(file, chunk_rows)
    elif kind == "excel":
        yield from _iter_excel(file, chunk_rows)
    elif kind == "jsonl":
        yield from _iter_jsonl(file, chunk_rows)
    else:
        yield from _iter_csv(file, inspect_text(file), chunk_rows)


def read_head(path: str | os.PathLike[str], *, n_rows: int = 1000) -> pd.DataFrame:
    """The first ``n_rows`` rows of a file as strings (for previews and mapping guesses)."""
    frames, total = [], 0
    for chunk in iter_chunks(path, chunk_rows=max(n_rows, 1)):
        frames.append(chunk.frame)
        total += len(chunk.frame)
        if total >= n_rows:
            break
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).iloc[:n_rows]
