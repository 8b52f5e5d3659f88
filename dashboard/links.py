"""One click from any number to the explanation of a post."""

from __future__ import annotations

import streamlit as st

from dashboard import keys
from dashboard.auth import may_open
from dashboard.navigation import page


def explain_button(post_id: str, *, key: str, label: str = "Explain") -> None:
    """A button that opens the Explanations page on ``post_id`` (state kept in the session).

    Not drawn for a visitor whose role does not open the Explanations page.
    """
    if not may_open("explanations.py"):
        return
    if st.button(label, key=key, help="Open the SHAP explanation of this post"):
        st.session_state[keys.EXPLAIN_POST] = post_id
        st.switch_page(page("explanations.py"))
