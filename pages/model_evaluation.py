"""Model evaluation: how far to trust the numbers the other pages show, on this workspace's labels."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text, spreadsheet_csv
from analytics.store.catalog import label as workspace_label
from analytics.evaluation import (
    SLICE_DIMENSIONS,
    accuracy_by_coverage,
    confident_mistakes,
    evaluate_predictions,
    labelled_predictions,
    compare_models,
    probabilities,
    slice_metrics,
)
from analytics.evaluation.metrics import MIN_BOOTSTRAP_N, PROPORTIONS
from analytics.figures import evaluation as charts
from analytics.models.languages import language_note
from dashboard import keys
from dashboard.loaders import shown
from dashboard.workspace import model_list, workspace_connection
from dashboard.links import explain_button
from dashboard.state import current_filters


@st.cache_data(show_spinner="Loading labelled posts…")
def load_labelled(workspace: str, model_id: str, brands: tuple[str, ...], min_confidence: float | None,
                  start, end) -> pd.DataFrame:
    con = workspace_connection(workspace).cursor()
    return labelled_predictions(con, model_id, brand=list(brands) or None,
                                min_label_confidence=min_confidence, start=start, end=end)


@st.cache_data(show_spinner="Bootstrapping intervals…")
def evaluate(frame: pd.DataFrame):
    return evaluate_predictions(frame["gold"].to_numpy(), probabilities(frame), n_boot=1000)


@st.cache_data(show_spinner=False)
def slices(frame: pd.DataFrame, dimension: str):
    return slice_metrics(frame, dimension)


def main() -> None:
    st.title("Model evaluation")
    st.caption("How well the sentiment model agrees with the labelled posts of this workspace — every figure "
               "with a 95% bootstrap interval. The same numbers: `brandlens evaluate --json`.")
    f = current_filters()
    con = workspace_connection(f.workspace).cursor()
    models = model_list(workspace_connection(f.workspace), f.workspace)
    if not models:
        st.info("No predictions yet: score the workspace on the **Models** page first.")
        return

    brands = f.brands
    focus = st.session_state.get(keys.EVALUATION_BRAND)
    if focus:
        brands = (focus,)
        left, right = st.columns([4, 1])
        left.info(f"Showing the model's evaluation on **{markdown_text(focus)}** only (opened from the Brand monitor).")
        if right.button("Show all brands"):
            st.session_state[keys.EVALUATION_BRAND] = None
            st.rerun()

    controls = st.columns(3)
    chosen = controls[0].multiselect("Models", models, default=[f.model_id] if f.model_id in models else models[:1])
    confident_only = controls[1].toggle("Confident labels only", help="Only labels whose annotator confidence is at least the threshold")
    threshold = controls[2].slider("Label confidence ≥", 0.0, 1.0, 0.8, 0.05, disabled=not confident_only)
    min_confidence = threshold if confident_only else None
    if not chosen:
        st.info("Pick at least one model.")
        return

    frames = {m: load_labelled(f.workspace, m, tuple(brands), min_confidence, f.start_datetime, f.end_exclusive) for m in chosen}
    if all(frame.empty for frame in frames.values()):
        st.info("No labelled posts match these filters. Ingest a file with a label column, or correct labels in the "
                "**Post explorer**: corrections count as gold labels here.")
        return

    try:
        results = {m: evaluate(frame) for m, frame in frames.items() if not frame.empty}
    except (BrandLensError, ValueError) as exc:
        st.error(str(exc))
        return

    main_model = chosen[0]
    main, frame = results[main_model], frames[main_model]
    origins = frame["gold_origin"].value_counts().to_dict()
    st.caption(f"{main.n:,} labelled posts ({', '.join(f'{markdown_text(k)} {v:,}' for k, v in origins.items())}); "
               f"brands: {', '.join(map(markdown_text, brands)) if brands else 'all'}.")
    st.caption(markdown_text(language_note(frame["detected_language"].tolist(), main_model)))

    cards = st.columns(5)
    for column, name in zip(cards, ["accuracy", "macro_f1", "f1_pn", "cohen_kappa", "roc_auc_macro"]):
        estimate = main.metrics[name]
        if estimate.missing:  # withheld for the sample size (or undefined here): say why, not a number
            column.metric(charts.METRIC_LABELS[name], "—", help=estimate.text())
            column.caption(estimate.text())
            continue
        if estimate.note:  # a figure without an interval (every resample alike) says so
            column.metric(charts.METRIC_LABELS[name], f"{estimate.value:.3f}", help=estimate.note)
            column.caption(estimate.note)
            continue
        column.metric(charts.METRIC_LABELS[name], f"{estimate.value:.3f}",
                      help=f"95% interval {estimate.ci95[0]:.3f} – {estimate.ci95[1]:.3f}")
        column.caption(f"95% CI {estimate.ci95[0]:.3f}–{estimate.ci95[1]:.3f}"
                       + (" (Wilson)" if name in PROPORTIONS else ""))
    if main.n < MIN_BOOTSTRAP_N:
        st.warning(f"Only {main.n} labelled posts: accuracy has a Wilson interval, the other figures need "
                   f"{MIN_BOOTSTRAP_N} — label {MIN_BOOTSTRAP_N - main.n} more random posts on the Labelling page.")
    elif main.n < 100:
        st.warning(f"Only {main.n} labelled posts: the intervals are wide; treat these figures as a rough guide.")

    st.subheader("Models side by side")
    st.caption("Each figure with its 95% interval. Higher is better, except calibration error and Brier score.")
    st.dataframe(charts.metrics_table(results), width="stretch")
    if len(results) >= 2:
        a, b = list(results)[:2]
        comparison = compare_models(frames[a], frames[b], model_a=a, model_b=b)
        if comparison.n_common:
            st.caption(f"Paired bootstrap on the {comparison.n_common:,} posts both models scored: {a} minus {b}.")
            st.dataframe(pd.DataFrame([{"metric": charts.METRIC_LABELS[d.metric], "difference": d.difference.text(".3f"),
                                        "p-value": None if d.difference.missing else round(d.p_value, 4)}
                                       for d in comparison.differences]), hide_index=True)
    gold, proba = frame["gold"].to_numpy(), probabilities(frame)
    row1 = st.columns(2)
    with row1[0]:
        st.plotly_chart(charts.roc_figure(gold, proba), width="stretch")
        st.caption("How well each class is told apart from the others at every threshold; the closer to the top-left, the better.")
    with row1[1]:
        st.plotly_chart(charts.pr_figure(gold, proba), width="stretch")
        st.caption("Precision against recall per class: how many flagged posts are right vs how many right posts are found.")
    row2 = st.columns(2)
    with row2[0]:
        normalise = st.toggle("Normalise rows", value=False)
        st.plotly_chart(charts.confusion_figure(main.confusion, normalise=normalise), width="stretch")
        st.caption("Gold label (rows) against the model's label (columns); the diagonal is where they agree.")
    with row2[1]:
        st.plotly_chart(charts.reliability_figure(gold, proba), width="stretch")
        st.caption(f"Does a 70% confident answer come true 70% of the time? ECE {main.metrics['ece'].text('.3f')}.")

    st.subheader("Where it fails: slices")
    dimension = st.selectbox("Slice by", SLICE_DIMENSIONS)
    report = slices(frame, dimension)
    st.plotly_chart(charts.slice_figure(report.by_group, dimension), width="stretch")
    st.caption("Macro F1 per slice with its 95% interval, worst first; pale bars are slices under 30 posts, too small to rank.")
    st.dataframe(report.by_group.round(3), hide_index=True, width="stretch")

    st.subheader("Most confident mistakes")
    st.caption("Posts where the model was surest and wrong — often label noise, sarcasm or domain words.")
    mistakes = confident_mistakes(frame, k=10)
    if mistakes.empty:
        st.success("No mistakes on these posts.")
    for i, row in shown(con, mistakes).iterrows():
        text, who = st.columns([6, 1])
        text.markdown(f"**gold {row['gold']} · predicted {row['predicted']} ({row['probability']:.0%})** — {markdown_text(row['brand'])}")
        text.text(row["text"])
        with who:
            explain_button(row["post_id"], key=f"explain_{i}")

    st.subheader("Confidence and human review")
    coverage = accuracy_by_coverage(frame)
    st.plotly_chart(charts.coverage_figure(coverage), width="stretch")
    st.caption("If posts below a confidence go to a person, how accurate is the rest? Read off the share you can afford to review.")

    payload = {"workspace": workspace_label(f.workspace), "n_labelled": main.n,
               "models": [{"model": m, **r.to_dict()} for m, r in results.items()]}
    downloads = st.columns(2)
    downloads[0].download_button("Download metrics (JSON)", json.dumps(payload, indent=2), "evaluation.json", "application/json")
    downloads[1].download_button("Download metrics (CSV)", spreadsheet_csv(charts.metrics_table(results), index=True),
                                 "evaluation.csv", "text/csv")


main()
