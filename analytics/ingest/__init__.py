"""Lossless ingest of messy exports: CSV/TSV, Excel, JSON Lines, Parquet.

Entry points: :func:`ingest_file`, :func:`ingest_frame`, :func:`read_preview` and
:func:`guess_mapping`; each ingest returns an :class:`IngestSummary`. The modules split the
work by responsibility: ``readers`` (formats, encodings, chunks), ``mapping`` (which column is
what), ``dates``, ``text``, ``labels``, ``ids`` and ``pipeline`` (checks, quarantine, insert).
"""

from analytics.ingest.mapping import FIELDS, guess_mapping, parse_mapping_spec
from analytics.ingest.pipeline import MAX_FIELD_CHARS, IngestSummary, ingest_file, ingest_frame, read_preview

__all__ = [
    "FIELDS",
    "MAX_FIELD_CHARS",
    "IngestSummary",
    "guess_mapping",
    "ingest_file",
    "ingest_frame",
    "parse_mapping_spec",
    "read_preview",
]
