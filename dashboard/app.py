"""BrandLens dashboard entry point: ``streamlit run dashboard/app.py``.

The shared sidebar is drawn before the chosen page runs, so every page can read
:func:`dashboard.state.current_filters`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard.navigation import navigation  # noqa: E402
from dashboard.state import render_sidebar  # noqa: E402


def main() -> None:
    st.set_page_config(page_title="BrandLens", page_icon=":material/insights:", layout="wide")
    nav = navigation()
    render_sidebar()
    nav.run()


main()
