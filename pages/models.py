"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("models")
st.info("Coming soon.")
