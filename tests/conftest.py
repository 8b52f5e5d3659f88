"""Shared fixtures: temporary workspaces, the reference data location, a small scored demo workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DATA = Path(os.environ.get("BRANDLENS_REFERENCE_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def reference_file(relative: str) -> Path:
    """Path of a reference data file, or skip the test with the reason when it is absent."""
    path = REFERENCE_DATA / relative
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (it sits beside the project in ../shared/data)")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Path of a fresh, empty workspace file."""
    return tmp_path / "workspace.duckdb"


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo workspace (3,000 posts) scored by the default model and VADER, built once per run.

    Tests must not write to it; copy it first (``shutil.copy``) when a test changes data.
    """
    from analytics import store
    from analytics.demo import generate_demo
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with store.open_workspace(path) as con:
        generate_demo(con, seed=7, n_posts=3000)
        for spec in ("default", "vader"):
            score_workspace(con, load_model(spec, device="cpu"))
    return path
