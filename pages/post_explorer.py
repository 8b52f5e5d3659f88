"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("post_explorer")
st.info("Coming soon.")
