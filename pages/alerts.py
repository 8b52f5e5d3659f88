"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("alerts")
st.info("Coming soon.")
