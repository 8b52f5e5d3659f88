"""The page list, grouped by audience, and lookup of a page by its file name."""

from __future__ import annotations

import streamlit as st

from analytics.resources import pages_dir

PAGES_DIR = pages_dir()
"""The page scripts' folder, wherever BrandLens is installed (see :mod:`analytics.resources`)."""

PAGES: dict[str, list[tuple[str, str, str]]] = {
    "Executives": [("overview.py", "Overview", ":material/dashboard:")],
    "Marketing": [
        ("brand_monitor.py", "Brand monitor", ":material/monitoring:"),
        ("topics.py", "Topics", ":material/topic:"),
        ("alerts.py", "Alerts", ":material/notifications:"),
        ("post_explorer.py", "Post explorer", ":material/search:"),
        ("labelling.py", "Labelling", ":material/label:"),
    ],
    "ML leads": [
        ("model_evaluation.py", "Model evaluation", ":material/fact_check:"),
        ("fairness.py", "Fairness", ":material/balance:"),
        ("explanations.py", "Explanations", ":material/lightbulb:"),
        ("models.py", "Models", ":material/model_training:"),
    ],
    "Data": [("data.py", "Data", ":material/database:")],
}


def page(file: str) -> st.Page:
    """The ``st.Page`` for ``pages/<file>`` (for ``st.navigation``, ``st.switch_page``, ``st.page_link``)."""
    for pages in PAGES.values():
        for name, title, icon in pages:
            if name == file:
                return st.Page(str(PAGES_DIR / name), title=title, icon=icon)
    raise ValueError(f"no page named {file!r}")


def navigation() -> st.navigation:
    return st.navigation(
        {section: [page(name) for name, _, _ in pages] for section, pages in PAGES.items()}
    )
