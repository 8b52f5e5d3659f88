"""``brandlens report``: the brand report as a self-contained HTML file or a PDF."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the brand report (HTML with interactive charts, or PDF)",
        description="Headline figures against the previous period, KPIs with 95% intervals raw and corrected, "
        "and the charts, as one self-contained HTML file or a PDF (chosen by the --out suffix).",
    )
    add_workspace_argument(parser)
    parser.add_argument("--out", required=True, help="output file: report.html or report.pdf")
    parser.add_argument("--brand", default=None, help="our brand (default: workspace setting, else the biggest)")
    parser.add_argument("--competitor", action="append", dest="competitors", metavar="BRAND",
                        help="a competitor to compare with (repeatable; default: every other brand)")
    parser.add_argument("--period", choices=["day", "week", "month"], default="week",
                        help="granularity of the charts and length of the headline period (default: week)")
    parser.add_argument("--model", default=None,
                        help="model id whose predictions to use (default: 'default' when scored, else the most used)")
    parser.add_argument("--method", default=None, help="correction method (default: the KPI default)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analytics import store
    from analytics.core.errors import BrandLensError
    from analytics.store.lookups import default_model_id
    from analytics.quantify import DEFAULT_METHOD
    from analytics.brand.report import FORMATS, build_report, write_report

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise BrandLensError(f"--out {out} must end in .html or .pdf")
    path = store.resolve_workspace(args.workspace)
    brands = list(args.competitors) if args.competitors else None
    with open_workspace(path, mode="read") as con:
        report = build_report(con, args.model or default_model_id(con), our_brand=args.brand, brands=brands,
                              period=args.period, method=args.method or DEFAULT_METHOD)
    write_report(report, out)
    if args.json:
        print_json({"out": str(out), "format": out.suffix.lower().lstrip("."), "brand": report.summary.our_brand,
                    "charts": len(report.figures())})
    else:
        print(f"wrote {out}")
    return 0

