"""BrandLens analytics: ingest, store, models, metrics, fairness, explanations, brand KPIs, reports.

A library with no UI: pure functions on DataFrames and arrays, typed results, no Streamlit.
"""

__version__ = "0.1.0"
