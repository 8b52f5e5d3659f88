"""``brandlens ingest FILE``: load an export into a workspace, losing no row.

Every row read ends stored, as a duplicate of a stored post, or in the ``quarantine``
table with its reason; the summary shows the counts (``--json`` prints them as one object
with the keys ``rows_read``, ``stored``, ``duplicates``, ``quarantined``,
``quarantine_reasons``, ``source``, ``workspace``, plus ``run_id``, ``file``, ``mapping``,
``warnings`` and ``seconds``). A file that cannot be read is refused with a message that
names the file, row and column, exit status 2, and the workspace unchanged.
"""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json, workspace_file

_FIELDS_HELP = (
    "text, brand, time, label, label_confidence, id, aspect, region, timezone, language, author, group"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="load a CSV/TSV, Excel, JSON Lines or Parquet export into the workspace",
        description=(
            "Load an export. The column mapping is guessed from names and content; --map overrides it "
            "field by field. Rows that cannot be stored go to the quarantine table with their reason; "
            "the whole file is one transaction."
        ),
    )
    parser.add_argument("file", help="the export file")
    add_workspace_argument(parser)
    parser.add_argument(
        "--map", dest="mapping", default=None, metavar="FIELD=COL,...",
        help=f"override the guessed mapping, e.g. text=body,time=posted; fields: {_FIELDS_HELP}; "
        "FIELD= (empty) leaves a field unmapped",
    )
    parser.add_argument("--brand", default=None, help="one brand for every row (when the file has no brand column)")
    parser.add_argument("--source", default=None, help="source name, part of every post id (default: the file name)")
    parser.add_argument(
        "--time-format", default=None, metavar="FMT",
        help="strftime pattern of the time column, e.g. '%%d/%%m/%%Y %%H:%%M' (also ISO8601, epoch-seconds; "
        "several joined by | are tried in turn for each value); needed only when day and month order cannot be "
        "told from the data",
    )
    parser.add_argument("--chunk-rows", type=positive_int, default=100_000, help="rows read per chunk (default: 100000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import duckdb
    from tqdm import tqdm

    from analytics import store
    from analytics.core.errors import BrandLensError
    from analytics.ingest import ingest_file, parse_mapping_spec

    try:
        mapping = parse_mapping_spec(args.mapping) if args.mapping else None
    except ValueError as exc:
        raise BrandLensError(str(exc)) from None
    if args.chunk_rows < 1:
        raise BrandLensError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    path = store.resolve_workspace(args.workspace)
    bar = tqdm(desc=f"ingest {args.file}", unit="B", unit_scale=True, disable=args.no_progress,
               file=sys.stderr, dynamic_ncols=True, leave=False)

    def progress(done: int, total: int, message: str) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    if path.exists() and not mapping:
        from analytics.labelling.imports import import_labels, is_label_file

        with open_workspace(path, mode="write") as con:
            if is_label_file(con, args.file):  # a labelling round-trip: post ids and labels of this workspace
                bar.close()
                result = import_labels(con, args.file)
                if args.json:
                    print_json({**result.to_dict(), "kind": "labels"})
                else:
                    print(f"{result.file}: {result.rows_read:,} rows read: {result.stored:,} labels stored as "
                          f"corrections, {result.empty:,} left blank, {len(result.problems):,} rejected")
                    for problem in result.problems[:20]:
                        print(f"  row {problem['row']}, column {problem['column']!r}: {problem['reason']}", file=sys.stderr)
                return 0
    try:
        summary = ingest_file(
            workspace_file(str(path), create=True), args.file, mapping=mapping, brand=args.brand,
            source=args.source, time_format=args.time_format, progress=progress, chunk_rows=args.chunk_rows,
        )
    except duckdb.IOException as exc:
        raise BrandLensError(f"workspace {path} cannot be opened for writing ({exc})") from None
    except ValueError as exc:
        if isinstance(exc, BrandLensError):
            raise
        raise BrandLensError(str(exc)) from None
    finally:
        bar.close()
    if args.json:
        print_json(summary.to_dict())
        return 0
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{summary.file} -> {summary.workspace} (source {summary.source!r}, run {summary.run_id})")
    print(f"  rows read    {summary.rows_read:>10,}")
    print(f"  stored       {summary.stored:>10,}")
    print(f"  duplicates   {summary.duplicates:>10,}")
    print(f"  quarantined  {summary.quarantined:>10,}")
    for reason, count in summary.quarantine_reasons.items():
        print(f"    {reason:<24}{count:>8,}")
    print("  mapping      " + ", ".join(f"{k}={v}" for k, v in summary.mapping.items()))
    return 0
