"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("topics")
st.info("Coming soon.")
