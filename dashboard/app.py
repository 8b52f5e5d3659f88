"""BrandLens dashboard entry point: ``brandlens dashboard``, or ``streamlit run dashboard/app.py`` in a checkout.

Who is looking comes first (:mod:`dashboard.auth`): a signed-out visitor gets the sign-in
page, someone without a role the "ask an admin" page, and a page the role does not open a
refusal; in none of these is the workspace opened. Otherwise the shared sidebar is drawn
before the chosen page runs, so every page can read :func:`dashboard.state.current_filters`.
"""

from __future__ import annotations

import streamlit as st

from analytics.resources import page_icon_path
from analytics.store.sharing import WorkspaceBusy
from dashboard.auth import account_box, current_access, no_role_page, not_allowed_page, sign_in_page
from dashboard.navigation import navigation, page_file, page_title
from dashboard.state import render_sidebar
from dashboard.workspace import end_run


def main() -> None:
    # a shipped file, served by this server: a ":material/..." icon makes the browser fetch it from Google
    st.set_page_config(page_title="BrandLens", page_icon=str(page_icon_path()), layout="wide")
    # the built-in table download writes cells as they are (formulas too): exports are our buttons
    st.set_option("client.disableDataExport", True)
    who = current_access()
    nav = navigation(who.may_open, menu=who.admitted)
    if not who.admitted:
        (no_role_page if who.signed_in and not who.problem else sign_in_page)(who)
        return
    account_box(who)
    shown = page_file(nav)
    if not who.may_open(shown):
        not_allowed_page(page_title(shown))
        return
    try:
        if render_sidebar() is None:  # no workspace that opens: the sidebar says why
            st.title(page_title(shown))
            st.info("Pick a workspace in the sidebar.")
            return
        nav.run()
    except WorkspaceBusy as exc:  # a job held the file longer than a page waits: a sentence, not a traceback
        st.warning(f"{str(exc)[0].upper()}{str(exc)[1:]}. This page will show it when you rerun (press R).")
    finally:
        end_run()  # the file is free for jobs between page runs


main()
