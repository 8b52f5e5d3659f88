"""BrandLens dashboard entry point: ``brandlens dashboard``, or ``streamlit run dashboard/app.py`` in a checkout.

The shared sidebar is drawn before the chosen page runs, so every page can read
:func:`dashboard.state.current_filters`.
"""

from __future__ import annotations

import streamlit as st

from analytics.resources import page_icon_path
from dashboard.navigation import navigation
from dashboard.state import render_sidebar


def main() -> None:
    # a shipped file, served by this server: a ":material/..." icon makes the browser fetch it from Google
    st.set_page_config(page_title="BrandLens", page_icon=str(page_icon_path()), layout="wide")
    nav = navigation()
    render_sidebar()
    nav.run()


main()
