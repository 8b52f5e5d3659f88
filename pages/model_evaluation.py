"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("model_evaluation")
st.info("Coming soon.")
