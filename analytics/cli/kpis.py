"""``brandlens kpis``: volume, share of voice and sentiment shares per brand, raw and corrected."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    from analytics.brand.periods import PERIODS
    from analytics.quantify import DEFAULT_METHOD, METHODS

    parser = subparsers.add_parser(
        "kpis",
        help="brand KPIs with 95%% intervals, raw and corrected for the model's measured error",
        description=(
            "Per brand (and period): volume, share of voice, negative/neutral/positive shares and net "
            "sentiment, each raw (classify and count) and corrected for the model's confusion on the "
            "workspace's labelled posts, with 95% bootstrap intervals."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--by", choices=["brand"], default="brand", help="grouping (default: brand)")
    parser.add_argument("--period", choices=PERIODS, default="all", help="time granularity (default: all)")
    parser.add_argument("--model", default=None,
                        help="model id whose predictions to use (default: 'default' when scored, else the most used)")
    parser.add_argument("--method", choices=list(METHODS), default=DEFAULT_METHOD,
                        help=f"correction method (default: {DEFAULT_METHOD})")
    parser.add_argument("--brand", action="append", dest="brands", metavar="BRAND",
                        help="only this brand (repeatable; share of voice is within the chosen brands)")
    parser.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from analytics import store
    from analytics.brand.kpis import brand_kpis
    from analytics.store.lookups import default_model_id

    path = store.resolve_workspace(args.workspace)
    with open_workspace(path, mode="read") as con:
        result = brand_kpis(con, args.model or default_model_id(con), brands=args.brands, period=args.period, method=args.method,
                            n_boot=args.n_boot, random_state=args.seed)
    if args.json:
        print_json(result.to_records())
        return 0
    print(result.correction.text(), file=sys.stderr)
    header = f"{'brand':<20} {'period':<10} {'n':>8} {'SoV':>6}  {'negative raw':>22}  {'negative corr.':>22}  {'net corr.':>22}"
    print(header)
    for g in result.groups:
        neg, net = g.share["negative"], g.net_sentiment
        period = g.period.date().isoformat() if g.period is not None else "all"
        print(
            f"{g.brand:<20} {period:<10} {g.n:>8} {g.share_of_voice:>6.1%}  "
            f"{_fmt(neg.raw):>22}  {_fmt(neg.corrected):>22}  {_fmt(net.corrected):>22}"
            + (f"  {g.too_few}" if g.too_few else "")  # not a headline figure: say so beside it
        )
    return 0


def _fmt(e) -> str:
    return f"{e.value:.3f} [{e.ci95[0]:.3f}, {e.ci95[1]:.3f}]"
