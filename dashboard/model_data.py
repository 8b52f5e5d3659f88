"""Cached loaders for the Models page: model list, prediction counts, loaded models."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from analytics.models import ModelInfo, SentimentModel, available_models, load_model


@st.cache_data(show_spinner=False, ttl=60)
def model_infos() -> list[ModelInfo]:
    """The models loadable here (default first), with their cards."""
    return available_models()


@st.cache_data(show_spinner=False)
def prediction_counts(_con: duckdb.DuckDBPyConnection, workspace: str) -> pd.DataFrame:
    """Per model id: predictions stored and posts still unscored (one SQL query)."""
    return _con.cursor().execute(
        """
        WITH total AS (SELECT count(*) AS n FROM posts)
        SELECT r.model_id AS model, count(*) AS predictions, any_value(total.n) - count(*) AS unscored
        FROM predictions r JOIN posts p USING (post_id), total
        GROUP BY r.model_id
        ORDER BY (r.model_id = 'default') DESC, r.model_id
        """
    ).df()


@st.cache_data(show_spinner=False)
def post_count(_con: duckdb.DuckDBPyConnection, workspace: str) -> int:
    return int(_con.cursor().execute("SELECT count(*) FROM posts").fetchall()[0][0])


@st.cache_resource(show_spinner="Loading the model…", max_entries=3)
def cached_model(spec: str, device: str) -> SentimentModel:
    """One loaded model per (spec, device), shared across sessions."""
    return load_model(spec, device=device)
