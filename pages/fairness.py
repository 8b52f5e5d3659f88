"""Fairness: for whom does the model fail — groups of this workspace, the EEC probe, brand swaps, mitigation."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.evaluation import labelled_predictions
from analytics.figures import fairness as charts
from analytics.store import GROUP_COLUMNS, lookups
from dashboard.loaders import cached_model, shown
from dashboard.state import current_filters
from dashboard.workspace import model_list, workspace_connection

DEFAULT_EEC = (Path(os.environ["BRANDLENS_REFERENCE_DATA"]) / "eec" / "Equity-Evaluation-Corpus.csv"
               if os.environ.get("BRANDLENS_REFERENCE_DATA") else None)
# The EEC under $BRANDLENS_REFERENCE_DATA when it is set; else the path field starts empty.
GROUP_METRICS = ["accuracy", "macro_f1", "recall_negative", "recall_neutral", "recall_positive",
                 "share_predicted_negative"]


@st.cache_data(show_spinner="Loading labelled posts…")
def load_labelled(workspace: str, model_id: str) -> pd.DataFrame:
    return labelled_predictions(workspace_connection(workspace).cursor(), model_id)


@st.cache_data(show_spinner="Grouped metrics with bootstrap intervals…")
def grouped(frame: pd.DataFrame, group: str, min_size: int):
    from analytics.fairness.grouped import grouped_metrics

    return grouped_metrics(frame["gold"], frame["predicted"], groups=frame[group], group_name=group,
                           min_group_size=min_size, n_boot=200)


def model_for(spec: str):
    """The model shared with the other pages (one cached copy per spec and workspace)."""
    return cached_model(spec, "auto", current_filters().workspace)


@st.cache_data(show_spinner=False)
def eec_probe(path: str, spec: str) -> dict:
    from analytics.fairness.eec import load_corpus, run_probe

    bar = st.progress(0.0, text=f"Scoring EEC with {spec}…")
    result = run_probe(model_for(spec), load_corpus(path),
                       progress=lambda d, t, m: bar.progress(d / t, text=f"{spec}: {d}/{t} sentences"))
    bar.empty()
    out = result.to_dict()
    out["model"] = spec
    return out


def _group_metrics(filters, models: list[str]) -> None:
    model_id = filters.model_id if filters.model_id in models else models[0]
    c1, c2, c3 = st.columns(3)
    group = c1.selectbox("Group column", list(GROUP_COLUMNS) + ["brand", "source"], key="fair_group")
    model_id = c2.selectbox("Model", models, index=models.index(model_id), key="fair_model")
    min_size = c3.number_input("Minimum group size", min_value=1, value=30, key="fair_min")
    frame = load_labelled(filters.workspace, model_id)
    if frame.empty or frame[group].isna().all():
        st.info(f"No labelled posts with a value in '{group}' for model {markdown_text(model_id)}.")
        return
    res = grouped(frame, group, int(min_size))
    st.dataframe(res.by_group, width="stretch")
    dpd = res.demographic_parity_difference
    st.caption("Each row a group with 95% intervals (_lo, _hi); too_small = fewer posts than the minimum: shown, "
               f"not ranked. Demographic parity difference (predicted negative): {dpd.value:.3f} "
               f"[{dpd.ci95[0]:.3f}, {dpd.ci95[1]:.3f}]; equalized odds difference (negative vs rest): "
               f"{res.equalized_odds_difference.value:.3f}.")
    metric = st.selectbox("Metric", GROUP_METRICS, key="fair_metric")
    st.plotly_chart(charts.group_metric_bars(res, metric=metric), width="stretch")
    st.caption(f"{metric} per {group} with 95% bootstrap intervals (200 resamples); hatched = too small to rank.")
    st.subheader("Mitigation (measured on a held-out half)")
    try:
        from analytics.fairness.mitigation import compare_mitigations

        st.dataframe(compare_mitigations(frame, group=group), width="stretch")
        st.caption("Accuracy and parity difference of predicted negative, before and after a per-group "
                   "threshold (ThresholdOptimizer) and a re-weighted re-trained head.")
    except ValueError as exc:
        st.info(f"Mitigation not measured: {exc}")


def _eec_probe() -> None:
    default_path = str(DEFAULT_EEC.resolve()) if DEFAULT_EEC and DEFAULT_EEC.exists() else ""
    path = st.text_input("Path to Equity-Evaluation-Corpus.csv", value=default_path, key="fair_eec_path")
    if not path or not Path(path).is_file():
        st.info("EEC file not found. Get Equity-Evaluation-Corpus.csv (Kiritchenko & Mohammad 2018) from "
                "https://saifmohammad.com/WebPages/Biases-SA.html and give its path above.")
        return
    if not st.button("Run the probe (default and VADER)", key="fair_eec_run"):
        return
    results = []
    for spec in ("default", "vader"):
        try:
            results.append(eec_probe(path, spec))
        except (BrandLensError, ValueError) as exc:
            st.warning(f"{spec}: {exc}")
    if not results:
        return
    for attribute in ("gender", "race"):
        st.plotly_chart(charts.eec_gap_chart(results, attribute=attribute), width="stretch")
        st.caption(f"Mean paired {attribute} gap in P(positive)-P(negative) per emotion, 95% bootstrap "
                   "interval over pairs; 0 = no gap.")
    st.dataframe(pd.DataFrame([{"model": r["model"], "attribute": a, "pairs": r[a]["n_pairs"],
                                "gap": r[a]["mean_gap"]["value"], "ci95": r[a]["mean_gap"]["ci95"],
                                "p (Wilcoxon)": r[a]["p_value"]} for r in results for a in ("gender", "race")]))


def _brand_swaps(filters, con) -> None:
    if not st.button("Swap brands in a sample of 200 posts", key="fair_swap_run"):
        return
    from analytics.fairness.counterfactual import counterfactual_swaps

    spec = filters.model_id or "default"
    res = counterfactual_swaps(model_for(spec), lookups.sample_texts(con, 200), brands=lookups.brands(con))
    if not res:
        st.info("No post in the sample names a brand or an identity term.")
    for kind, r in res.items():
        d = r.to_dict()
        st.metric(f"{kind}: mean |Δscore| ({d['n_swaps']} swaps)", f"{d['mean_abs_delta']['value']:.3f}",
                  help=f"95% CI {d['mean_abs_delta']['ci95']}; label flips {d['label_flip_share']['value']:.1%}")
        st.dataframe(shown(con, r.examples[["original", "swapped", "delta", "flip"]], ("original", "swapped")),
                     width="stretch")
        st.caption("The largest score moves when only the brand/identity term changes.")


def main() -> None:
    st.title("Fairness")
    st.caption("For whom does the model fail: metrics by group of this workspace, a counterfactual gender/race "
               "probe on the Equity Evaluation Corpus, brand/identity swaps in your posts, and what mitigation does.")
    filters = current_filters()
    con = workspace_connection(filters.workspace).cursor()
    models = model_list(workspace_connection(filters.workspace), filters.workspace)
    st.header("Metrics by group")
    try:
        if not models:
            st.info("No predictions in this workspace yet: score it on the Models page.")
        else:
            _group_metrics(filters, models)
        st.header("Equity Evaluation Corpus probe")
        _eec_probe()
        st.header("Brand and identity swaps in your posts")
        _brand_swaps(filters, con)
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))


main()
