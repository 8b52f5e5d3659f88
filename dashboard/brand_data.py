"""Cached loaders of the Brand monitor and Overview pages (KPIs, executive summary, report files).

Connections travel as ``_``-prefixed arguments (not hashed); the workspace path and
every filter are the cache key.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import streamlit as st

from analytics.kpis import BrandKPIs, brand_kpis, brand_kpis_with_totals, labelled_outputs
from analytics.report import build_report, write_html, write_pdf
from analytics.summary import ExecutiveSummary, executive_summary

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
    window: str,
    end: dt.datetime | None,
    method: str,
) -> tuple[ExecutiveSummary, BrandKPIs]:
    """The executive summary (last ``window`` before ``end`` vs the one before) and KPIs by week."""
    cur = _con.cursor()
    labelled = labelled_outputs(cur, model_id)
    summary = executive_summary(cur, model_id, our_brand=our_brand, brands=list(brands), window=window,
                                end=end, method=method, n_boot=PAGE_N_BOOT, labelled=labelled)
    trend = brand_kpis(cur, model_id, brands=list(brands),
                       period="day" if window == "day" else "week", method=method, n_boot=PAGE_N_BOOT, end=end,
                       labelled=labelled)
    return summary, trend


@st.cache_data(show_spinner=False, max_entries=4)
def report_file(
    _con: duckdb.DuckDBPyConnection,
    workspace: str,
    model_id: str,
    our_brand: str,
    brands: tuple[str, ...],
    period: str,
    method: str,
    fmt: str,
) -> bytes:
    """The report as HTML or PDF bytes (built on demand, when the download button is pressed)."""
    report = build_report(_con.cursor(), model_id, our_brand=our_brand, brands=list(brands), period=period,
                          method=method)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{fmt}"
        (write_html if fmt == "html" else write_pdf)(report, path)
        return path.read_bytes()
