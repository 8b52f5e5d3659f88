"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("fairness")
st.info("Coming soon.")
