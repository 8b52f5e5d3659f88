"""Every page renders headlessly (AppTest) on the demo workspace without an exception or an error box."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import PAGES, PAGES_DIR

ROOT = Path(__file__).resolve().parent.parent
ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]


@pytest.fixture(scope="module")
def app(demo_workspace: Path) -> AppTest:
    os.environ["BRANDLENS_WORKSPACE"] = str(demo_workspace)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page_file", ALL_PAGES)
def test_page_renders_without_exception(app: AppTest, page_file: str) -> None:
    app.switch_page(str(PAGES_DIR / page_file))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title, f"{page_file} shows no title"


def test_sidebar_offers_brands_and_models(app: AppTest) -> None:
    app.switch_page(str(PAGES_DIR / "overview.py"))
    app.run()
    labels = [s.label for s in app.sidebar.selectbox]
    assert "Our brand" in labels and "Model" in labels
    our = next(s for s in app.sidebar.selectbox if s.label == "Our brand")
    assert our.value == "Nimbus Mobile"


def test_empty_workspace_pages_say_what_is_missing(tmp_path: Path) -> None:
    os.environ["BRANDLENS_WORKSPACE"] = str(tmp_path / "empty.duckdb")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.run()
    for page_file in ALL_PAGES:
        at.switch_page(str(PAGES_DIR / page_file))
        at.run()
        assert not at.exception, (page_file, [e.value for e in at.exception])
