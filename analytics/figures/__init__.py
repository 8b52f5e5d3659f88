"""Chart builders: plain functions from analytics results to Plotly figures.

No Streamlit here: pages, the HTML/PDF report and tests call the same builders.
One module per area (``brand.py``, ``topics.py``, ...).
"""
