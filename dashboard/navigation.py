"""The page list, grouped by audience, the navigation a visitor's role allows, and lookup of a page by file name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from analytics.resources import pages_dir

PAGES_DIR = pages_dir()
"""The page scripts' folder, wherever BrandLens is installed (see :mod:`analytics.resources`)."""

PAGES: dict[str, list[tuple[str, str, str]]] = {
    "Executives": [("overview.py", "Overview", ":material/dashboard:")],
    "Marketing": [
        ("brand_monitor.py", "Brand monitor", ":material/monitoring:"),
        ("topics.py", "Topics", ":material/topic:"),
        ("alerts.py", "Alerts", ":material/notifications:"),
        ("post_explorer.py", "Post explorer", ":material/search:"),
        ("labelling.py", "Labelling", ":material/label:"),
    ],
    "ML leads": [
        ("model_evaluation.py", "Model evaluation", ":material/fact_check:"),
        ("fairness.py", "Fairness", ":material/balance:"),
        ("explanations.py", "Explanations", ":material/lightbulb:"),
        ("models.py", "Models", ":material/model_training:"),
    ],
    "Data": [("data.py", "Data", ":material/database:")],
}


PAGE_FILES: tuple[str, ...] = tuple(name for pages in PAGES.values() for name, _, _ in pages)
"""Every page file in menu order; the first is the default page (the root URL)."""


def page(file: str, *, visible: bool = True) -> st.Page:
    """The ``st.Page`` for ``pages/<file>`` (for ``st.navigation``, ``st.switch_page``, ``st.page_link``).

    ``visible=False`` leaves it out of the menu; its URL still resolves, so the app shell can
    answer a direct link to it with "not allowed" rather than with another page.
    """
    for pages in PAGES.values():
        for name, title, icon in pages:
            if name == file:
                return st.Page(str(PAGES_DIR / name), title=title, icon=icon, url_path=Path(name).stem,
                               visibility="visible" if visible else "hidden")
    raise ValueError(f"no page named {file!r}")


def _root() -> st.Page:
    """The root URL: the first page again, unlisted, so that page keeps its own URL too.

    Streamlit gives the default page the root URL and no other, so ``/overview`` (a bookmark,
    a link in an alert) answered "Page not found"; the first page is registered twice instead,
    once as the hidden default.
    """
    name, title, icon = next(iter(PAGES.values()))[0]
    return st.Page(str(PAGES_DIR / name), title=title, icon=icon, url_path="home", default=True,
                   visibility="hidden")


def page_title(file: str) -> str:
    """The menu title of ``pages/<file>``."""
    return next(title for pages in PAGES.values() for name, title, _ in pages if name == file)


def navigation(may_open: Callable[[str], bool] = lambda _file: True, *, menu: bool = True) -> st.Page:
    """Register every page with ``st.navigation``, listing only those ``may_open`` allows; the page asked for.

    Every page is registered whoever is looking, so any page's URL resolves to that page
    (and the shell decides what to draw); the menu lists the allowed ones, grouped by
    audience, and sections with none are left out. ``menu=False`` hides the menu altogether
    (the sign-in page).
    """
    listed: dict[str, list[st.Page]] = {}
    unlisted: list[st.Page] = []
    for section, pages in PAGES.items():
        for name, _, _ in pages:
            if may_open(name):
                listed.setdefault(section, []).append(page(name))
            else:
                unlisted.append(page(name, visible=False))
    if not listed:
        return st.navigation([_root(), *unlisted], position="hidden")
    first = next(iter(listed))
    listed[first] += [_root(), *unlisted]  # hidden pages need a section; they are not drawn in it
    return st.navigation(listed, position="sidebar" if menu else "hidden")


def page_file(selected: st.Page) -> str:
    """The file of the page ``st.navigation`` returned (the default page for the root URL)."""
    if selected.url_path in ("", "home"):
        return PAGE_FILES[0]
    return next((name for name in PAGE_FILES if Path(name).stem == selected.url_path), PAGE_FILES[0])


def link_to(file: str, label: str) -> None:
    """A link to ``pages/<file>`` in the page body (empty states point to the page that fills them)."""
    st.page_link(page(file), label=label, icon=":material/arrow_forward:")
