"""A new user's first export, unlike the demo: ingest -> score -> every page -> queue -> adapt -> evaluate (issue 22).

Each shape of :mod:`tests.exports` is ingested from its CSV and scored with the default model once
per run (a scored workspace per shape, shared by the tests of that shape); every page of
``dashboard.navigation.PAGES`` then renders through AppTest with no exception and no error box, the
labelling queue serves posts, adapting on few labels is refused or not recommended, and the
evaluation has no interval of zero width. What fails in another area is marked ``xfail`` with the
issue item it belongs to.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exports import SHAPES, export  # noqa: E402
from test_pages_apptest import plain  # noqa: E402  (markdown as it reads once rendered)

from analytics import store  # noqa: E402
from analytics.core.errors import BrandLensError  # noqa: E402
from dashboard.navigation import PAGES, PAGES_DIR  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
ALL_PAGES = [name for pages in PAGES.values() for name, _, _ in pages]

KNOWN: dict[str, dict[str, str]] = {
    # shape -> {page file or step: reason}: what failed when this file was written, in areas other
    # sessions own; the fix removes the entry (the test then runs as a plain assertion)
}


def _known(shape: str, what: str) -> None:
    reason = KNOWN.get(shape, {}).get(what)
    if reason:
        pytest.xfail(reason)  # reported to the area's owner, who removes the entry with the fix


@pytest.fixture(scope="session")
def default_model():
    from analytics.models import load_model

    return load_model("default", device="cpu")


FIXED_MAPPING = {"many_brands": {"brand": "brand"}}
"""What a user corrects on the Data page where the guess misses (see ``KNOWN``), so the pages still
meet 300 brands. ``date_formats`` keeps the guess (its time column unmapped: posts without a time),
because mapping it by hand is refused (:func:`test_mixed_date_formats_are_read_row_by_row`)."""


@pytest.fixture(scope="session")
def scored(tmp_path_factory: pytest.TempPathFactory, default_model) -> dict[str, tuple[Path, object]]:
    """Every shape ingested from its CSV and scored by the default model: shape -> (workspace, ingest summary)."""
    from analytics.ingest import ingest_file
    from analytics.scoring.local import score_workspace

    folder = tmp_path_factory.mktemp("unlike-demo")
    out = {}
    for shape in SHAPES:
        csv_path = export(shape).write(folder)
        path = folder / f"{shape}.duckdb"
        with store.open_workspace(path) as con:
            summary = ingest_file(con, csv_path, mapping=FIXED_MAPPING.get(shape))
            score_workspace(con, default_model)
        out[shape] = (path, summary)
    return out


@pytest.fixture
def workspace_of(scored, tmp_path: Path):
    """A private copy of a shape's scored workspace (pages and adapt hold their own connections)."""
    def copy(shape: str) -> Path:
        path = tmp_path / f"{shape}.duckdb"
        shutil.copy(scored[shape][0], path)
        return path
    return copy


@pytest.mark.parametrize("shape", SHAPES)
def test_ingest_keeps_every_row_and_scores_every_post(scored, shape: str) -> None:
    path, summary = scored[shape]
    expected = export(shape)
    assert summary.rows_read == expected.rows
    assert summary.stored + summary.duplicates + summary.quarantined == expected.rows  # nothing silently lost
    with store.open_workspace(path, read_only=True) as con:
        posts, scored_posts = con.execute(
            "SELECT count(*), count(pr.post_id) FROM posts p LEFT JOIN predictions pr "
            "ON pr.post_id = p.post_id AND pr.model_id = 'default'").fetchone()
    assert posts == summary.stored and scored_posts == posts


@pytest.mark.parametrize("shape", ["many_brands", "date_formats"])
def test_the_mapping_finds_brand_and_time(shape: str, tmp_path: Path) -> None:
    from analytics.ingest import ingest_file

    _known(shape, "mapping")
    with store.open_workspace(tmp_path / "guess.duckdb") as con:
        summary = ingest_file(con, export(shape).write(tmp_path))  # the guessed mapping, as a new user gets it
        dated = con.execute("SELECT count(created_at), count(brand) FROM posts").fetchone()
    assert {"text", "brand", "time"} <= set(summary.mapping), summary.mapping
    assert dated == (summary.stored, summary.stored)


def test_mixed_date_formats_are_read_row_by_row(tmp_path: Path) -> None:
    """ISO, day-first, month names and epoch seconds in one column: every value is a known format."""
    from analytics.ingest import ingest_file

    _known("date_formats", "mixed")
    with store.open_workspace(tmp_path / "mixed.duckdb") as con:
        summary = ingest_file(con, export("date_formats").write(tmp_path), mapping={"time": "created_at"})
        dated = con.execute("SELECT count(created_at) FROM posts").fetchone()[0]
    assert summary.stored == 50 and dated == 50


@pytest.mark.parametrize("shape", SHAPES)
def test_every_page_renders_without_an_exception_or_error_box(workspace_of, shape: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = workspace_of(shape)
    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace"] = str(path)
    at.run()
    problems = {}
    for page_file in ALL_PAGES:
        at.switch_page(str(PAGES_DIR / page_file)).run()
        found = [f"exception: {e.value}" for e in at.exception] + [f"error box: {e.value}" for e in at.error]
        if not at.title:
            found.append("no title")
        if found:
            problems[page_file] = found
    if export(shape).rows < 30:  # a handful of posts: the headline tiles say so instead of a figure
        at.switch_page(str(PAGES_DIR / "overview.py")).run()
        tiles = {m.label: m.value for m in at.metric}
        assert tiles.get("Net sentiment") == tiles.get("Negative share") == "too few posts", tiles
    known = {p: r for p, r in KNOWN.get(shape, {}).items() if p in problems}
    unexpected = {p: v for p, v in problems.items() if p not in known}
    assert not unexpected, unexpected
    if known:
        pytest.xfail("; ".join(known.values()))


def test_the_marketing_pages_say_the_model_is_unchecked_and_link_to_labelling(workspace_of, monkeypatch) -> None:
    path = workspace_of("no_labels")
    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace"] = str(path)
    at.run()
    for page_file in ("overview.py", "brand_monitor.py", "topics.py", "alerts.py"):
        at.switch_page(str(PAGES_DIR / page_file)).run()
        banners = [i.value for i in at.info if "not yet checked on your data" in i.value]
        assert banners and "label 30 random posts" in banners[0], (page_file, [i.value for i in at.info])
        links = [e for e in at.get("page_link")]
        assert any("labelling" in str(getattr(link.proto, "page", "")) for link in links), page_file


def test_a_model_wrong_for_this_data_is_a_clear_warning_on_the_marketing_pages(workspace_of, monkeypatch) -> None:
    """Reviews the model gets wrong (every label corrected to another class): the pages warn, with figures."""
    from analytics.brand.explorer import correct_label

    path = workspace_of("one_brand")
    with store.open_workspace(path) as con:
        rows = con.execute("SELECT p.post_id, pr.label FROM posts p JOIN predictions pr USING (post_id) "
                           "WHERE pr.model_id = 'default' ORDER BY p.post_id").fetchall()
        for post_id, predicted in rows[:40]:
            wrong = {"negative": "positive", "neutral": "negative", "positive": "neutral"}[predicted]
            correct_label(con, post_id, wrong, origin="labelling", chosen_by="queue:random")
    monkeypatch.setenv("BRANDLENS_WORKSPACE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace"] = str(path)
    at.run()
    for page_file in ("overview.py", "brand_monitor.py", "topics.py", "alerts.py"):
        at.switch_page(str(PAGES_DIR / page_file)).run()
        warnings = [plain(w.value) for w in at.warning if "fits your data poorly" in plain(w.value)]
        assert warnings and "accuracy" in warnings[0] and "95% CI" in warnings[0], (page_file, warnings)
        assert not at.exception and not at.error


@pytest.mark.parametrize("shape", SHAPES)
def test_the_labelling_queue_serves_unlabelled_posts(scored, shape: str) -> None:
    from analytics.labelling.queue import next_posts

    path, _ = scored[shape]
    with store.open_workspace(path, read_only=True) as con:
        unlabelled = con.execute(
            "SELECT count(*) FROM posts p LEFT JOIN gold_labels g USING (post_id) WHERE g.post_id IS NULL").fetchone()[0]
        batch = next_posts(con, "default", n=10)
    assert len(batch) == min(10, unlabelled)
    assert batch["post_id"].is_unique and set(batch["chosen_by"]) <= {"queue:random", "queue:active"}


@pytest.mark.parametrize("shape", SHAPES)
def test_evaluation_has_no_interval_of_zero_width(scored, shape: str) -> None:
    from analytics.evaluation.workspace import evaluate_workspace

    path, _ = scored[shape]
    with store.open_workspace(path, read_only=True) as con:
        if export(shape).labelled == 0:
            with pytest.raises(BrandLensError, match="no labelled posts"):
                evaluate_workspace(con, models=["default"], n_boot=100)
            return
        result = evaluate_workspace(con, models=["default"], n_boot=100)["default"]
    figures = [*result.metrics.values(),
               *(v for stats in result.per_class.values() for v in stats.values() if not isinstance(v, int))]
    for estimate in figures:
        if math.isnan(estimate.ci95[0]):  # withheld or without an interval: always with the reason
            assert estimate.note, (shape, estimate)
            continue
        assert estimate.ci95[1] > estimate.ci95[0], (shape, estimate)
    if result.n < 30:
        assert result.metrics["macro_f1"].note == f"too few labelled posts (n = {result.n}): needs 30"


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != "one_brand"])
def test_adapt_refuses_too_few_labels_in_words(workspace_of, shape: str) -> None:
    from analytics.training.adapt import adapt_workspace

    path = workspace_of(shape)
    with store.open_workspace(path) as con:
        n_labels = con.execute("SELECT count(*) FROM gold_labels").fetchone()[0]
        if n_labels >= 60 and shape not in ("one_class",):
            pytest.skip(f"{n_labels} labels: adapting is allowed (adapting itself is tested on one_brand)")
        with pytest.raises(BrandLensError, match="adapting needs at least 60 labelled posts"):
            adapt_workspace(con, store=False)


@pytest.mark.slow
def test_adapt_on_sixty_labels_is_not_recommended_and_says_how_many_more(workspace_of) -> None:
    """60 labels, 12 held out: whatever the gain looks like, the verdict asks for more labels."""
    from analytics.training.adapt import MIN_HOLDOUT, AdaptConfig, adapt_workspace, verdict

    path = workspace_of("one_brand")
    with store.open_workspace(path) as con:
        result = adapt_workspace(con, config=AdaptConfig(epochs=1, n_boot=100), store=False)
    assert result.n_holdout < MIN_HOLDOUT and not result.recommended
    payload = result.to_dict()
    sentence = verdict(payload)
    assert sentence.startswith(f"not recommended: too few held-out labels (n = {result.n_holdout})"), sentence
    assert payload["holdout"]["difference"]["macro_f1"]["value"] is None  # no figure on 12 labels
    assert np.isfinite(payload["holdout"]["base"]["accuracy"]["value"])  # accuracy keeps its Wilson interval
    lo, hi = payload["holdout"]["base"]["accuracy"]["ci95"]
    assert lo < hi


@pytest.mark.parametrize("shape", SHAPES)
def test_reports_are_written_and_parse_or_say_why_not(scored, shape: str, tmp_path: Path) -> None:
    """The HTML and PDF report with default filters, as the Overview's buttons build them."""
    from pypdf import PdfReader

    from analytics.brand.report import build_report, write_html, write_pdf

    path, _ = scored[shape]
    with store.open_workspace(path, read_only=True) as con:
        dated = con.execute("SELECT count(created_at) FROM posts").fetchone()[0]
        if not dated:  # date_formats: the guessed mapping left every post without a time
            with pytest.raises(BrandLensError, match="no dated posts"):
                build_report(con, "default", n_boot=100)
            return
        report = build_report(con, "default", n_boot=100)
    html = write_html(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    pdf = PdfReader(write_pdf(report, tmp_path / "r.pdf"))
    assert len(pdf.pages) >= 1
    if export(shape).rows < 30:  # the report's tiles are as honest as the page's
        assert "too few posts" in html
