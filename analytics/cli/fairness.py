"""``brandlens fairness``: EEC gender/race probe per model, or grouped metrics over a workspace column."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, positive_int, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fairness",
        help="counterfactual gender/race probe on the EEC, or metrics by group of a workspace",
        description=(
            "--eec PATH: score the Equity Evaluation Corpus with each --model and report the mean paired "
            "gap in P(positive)-P(negative) (female minus male, African-American minus European) with a "
            "bootstrap 95%% interval over pairs and a Wilcoxon signed-rank p-value, overall and per emotion. "
            "--group COL: accuracy, macro-F1, recall per class and share predicted negative by group of the "
            "workspace's labelled posts (Fairlearn MetricFrame)."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--eec", default=None, help="path to Equity-Evaluation-Corpus.csv")
    parser.add_argument("--model", action="append", default=None,
                        help="model spec, repeatable (default: default)")
    parser.add_argument("--group", default=None, help="workspace group column for grouped metrics")
    parser.add_argument("--min-group-size", type=positive_int, default=30, help="smaller groups are flagged, not ranked")
    parser.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.models import load_model
    from analytics.core.progress import tqdm_progress

    if args.eec is None and args.group is None:
        raise BrandLensError("give --eec PATH and/or --workspace W --group COL")
    if args.n_boot < 1:
        raise BrandLensError(f"--n-boot must be positive, got {args.n_boot}")
    specs = args.model or ["default"]
    payload: dict[str, object] = {}
    if args.eec is not None:
        from analytics.fairness.eec import load_corpus, run_probe

        corpus = load_corpus(args.eec)
        models = []
        for spec in specs:
            model = load_model(spec)
            with tqdm_progress(f"EEC {spec}", unit="sentences", disable=False) as progress:
                result = run_probe(model, corpus, n_boot=args.n_boot, progress=progress)
            entry = result.to_dict()
            entry["model"] = spec
            models.append(entry)
        payload["models"] = models
    if args.group is not None:
        from analytics import store
        from analytics.fairness.grouped import workspace_group_metrics

        path = store.resolve_workspace(args.workspace)
        with open_workspace(path, mode="read") as con:
            grouped = {}
            for spec in specs:
                result = workspace_group_metrics(
                    con, model_id=spec, group=args.group, min_group_size=args.min_group_size, n_boot=args.n_boot
                )
                grouped[spec] = result.to_dict()
        payload["grouped"] = {"group": args.group, "by_model": grouped}
    if args.json:
        print_json(payload)
        return 0
    for entry in payload.get("models", []):
        print(f"model {entry['model']} ({entry['n_sentences']} sentences)")
        for attr in ("gender", "race"):
            g = entry[attr]
            lo, hi = g["mean_gap"]["ci95"]
            print(f"  {attr:<7} pairs={g['n_pairs']:>4} gap={g['mean_gap']['value']:+.4f} "
                  f"[{lo:+.4f}, {hi:+.4f}] p={g['p_value']}")
        for emotion, d in entry["by_emotion"].items():
            parts = [f"{a} {d[a]['mean_gap']['value']:+.4f}" for a in ("gender", "race") if a in d]
            print(f"    {emotion:<8} " + "  ".join(parts))
    if "grouped" in payload:
        for spec, res in payload["grouped"]["by_model"].items():
            print(f"model {spec}: grouped by {args.group}")
            import pandas as pd

            print(pd.DataFrame(res["by_group"]).to_string())
    return 0
