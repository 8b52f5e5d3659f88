"""The dashboard's page scripts, one a page, run by ``st.navigation``: installed as ``dashboard.app_pages``.

A regular package so that :mod:`importlib.resources` finds the folder in every install mode
(see :mod:`analytics.resources`); the scripts are run by Streamlit, never imported.
"""
