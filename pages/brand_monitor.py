"""Placeholder: filled in by its issue."""

import streamlit as st

st.title("brand_monitor")
st.info("Coming soon.")
