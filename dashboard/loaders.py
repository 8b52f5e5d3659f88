"""Cached loaders at the page edge: brand KPIs, the executive summary, report files, models.

Connections travel as ``_``-prefixed arguments (not hashed); the workspace path
and every filter are the cache key.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from analytics.brand.kpis import BrandKPIs, brand_kpis, brand_kpis_with_totals, correction_labels
from analytics.brand.periods import auto_period
from analytics.brand.report import build_report, write_html, write_pdf
from analytics.brand.summary import ExecutiveSummary, executive_summary
from analytics import privacy
from analytics.evaluation.fit import ModelFit, model_fit
from analytics.models import ModelInfo, SentimentModel, available_models, load_model
from analytics.store import lookups

PAGE_N_BOOT = 500
"""Bootstrap resamples behind the pages' intervals (the CLI and report use 1,000)."""


@st.cache_data(show_spinner=False, max_entries=64)
def load_brand_kpis(
    _con: duckdb.DuckDBPyConnection,
    workspace: str,
    model_id: str,
    brands: tuple[str, ...],
    period: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    method: str,
) -> tuple[BrandKPIs, BrandKPIs]:
    """KPIs per brand over time (``period``) and over the whole range, for the chosen brands (one scan)."""
    return brand_kpis_with_totals(_con.cursor(), model_id, period=period, brands=list(brands), start=start,
                                  end=end, method=method, n_boot=PAGE_N_BOOT)


@st.cache_data(show_spinner=False, max_entries=32)
def load_summary(
    _con: duckdb.DuckDBPyConnection,
    workspace: str,
    model_id: str,
    our_brand: str,
    brands: tuple[str, ...],
    headline_start: dt.datetime,
    end: dt.datetime,
    range_start: dt.datetime,
    method: str,
) -> tuple[ExecutiveSummary, BrandKPIs]:
    """The executive summary of ``[headline_start, end)`` vs the same length before, and the KPIs of the
    whole selected range ``[range_start, end)`` on a readable time axis (:func:`auto_period`)."""
    cur = _con.cursor()
    labelled = correction_labels(cur, model_id)
    summary = executive_summary(cur, model_id, our_brand=our_brand, brands=list(brands), start=headline_start,
                                end=end, method=method, n_boot=PAGE_N_BOOT, labelled=labelled)
    trend = brand_kpis(cur, model_id, brands=list(brands), period=auto_period(range_start, end), method=method,
                       n_boot=PAGE_N_BOOT, start=range_start, end=end, labelled=labelled)
    return summary, trend


def report_file(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    our_brand: str,
    brands: tuple[str, ...],
    start: dt.datetime | None,
    end: dt.datetime | None,
    headline: str,
    method: str,
    fmt: str,
) -> bytes:
    """The report for exactly the page's filters as HTML or PDF bytes.

    Built inside the page's run (a "Prepare" button), on the run's connection, which the app
    closes when the run ends: a deferred download callback would run in a thread whose
    connection nobody closes, and the workspace would stay locked for CLI jobs.
    """
    report = build_report(con.cursor(), model_id, our_brand=our_brand, brands=list(brands), start=start, end=end,
                          headline=headline, method=method)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{fmt}"
        (write_html if fmt == "html" else write_pdf)(report, path)
        return path.read_bytes()


@st.cache_data(show_spinner=False, max_entries=16)
def load_model_fit(_con: duckdb.DuckDBPyConnection, workspace: str, model_id: str) -> ModelFit:
    """How well ``model_id`` fits the workspace, on its random labels (the marketing pages' banner)."""
    return model_fit(_con.cursor(), model_id)


@st.cache_data(show_spinner=False, ttl=60)
def model_infos() -> list[ModelInfo]:
    """The models loadable here (default first), with their cards."""
    return available_models()


@st.cache_data(show_spinner=False)
def prediction_counts(_con: duckdb.DuckDBPyConnection, workspace: str) -> pd.DataFrame:
    """Per model id: predictions stored and posts still unscored."""
    return lookups.prediction_counts(_con.cursor())


@st.cache_data(show_spinner=False)
def post_count(_con: duckdb.DuckDBPyConnection, workspace: str) -> int:
    return lookups.post_count(_con.cursor())


@st.cache_resource(show_spinner="Loading the model…", max_entries=3)
def cached_model(spec: str, device: str, workspace: str | None = None) -> SentimentModel:
    """One loaded model per (spec, device, workspace), shared across sessions.

    ``workspace`` matters for adapted models only, which live in their workspace.
    """
    from analytics.models.workspace import is_workspace_model

    if is_workspace_model(spec) and workspace:
        from dashboard.workspace import workspace_connection

        return load_model(spec, device=device, con=workspace_connection(workspace).cursor())
    return load_model(spec, device=device)


def shown(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, columns: tuple[str, ...] = ("text",)) -> pd.DataFrame:
    """A copy of ``frame`` whose post-text ``columns`` are as the workspace's privacy setting shows them.

    The one place post text is masked on its way from ``analytics`` to a page: every page
    that shows posts passes them through here (or :func:`shown_texts`).
    """
    out = frame.copy()
    for column in columns:
        if column in out.columns and len(out):
            out[column] = privacy.display_texts(con, out[column].tolist())
    return out


def shown_texts(con: duckdb.DuckDBPyConnection, texts: list[str]) -> list[str]:
    """Post texts as the workspace's privacy setting shows them (see :func:`shown`)."""
    return [t or "" for t in privacy.display_texts(con, texts)]
