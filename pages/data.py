"""Data: the workspace's sources, uploading a new export, the quarantine, privacy, the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import privacy, store
from analytics.core.errors import BrandLensError
from analytics.ingest.readers import READABLE_SUFFIXES
from analytics.core.escape import markdown_text
from analytics.ingest import FIELDS, ingest_file, read_preview
from analytics.ingest.mapping import TARGET_HELP
from analytics.ingest.uploads import private_copy, upload_name, without_server_path
from analytics.monitor.pipeline import pipeline_runs
from analytics.store import audit, lookups
from dashboard import keys
from dashboard.auth import current_access
from dashboard.navigation import link_to
from dashboard.state import current_filters
from dashboard.workspace import invalidate, shared_workspace, workspace_connection, writing

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in READABLE_SUFFIXES]
NOT_MAPPED = "(not mapped)"
LAST_INGEST_KEY = "data_last_ingest"


@st.cache_data(show_spinner=False)
def sources(workspace: str, _version: int) -> pd.DataFrame:
    return lookups.ingest_runs(workspace_connection(workspace).cursor())


@st.cache_data(show_spinner=False)
def quarantine(workspace: str, _version: int, run_id: str | None, reason: str | None) -> pd.DataFrame:
    return lookups.quarantined_rows(workspace_connection(workspace).cursor(), run_id=run_id, reason=reason)


@st.cache_data(show_spinner=False)
def quarantine_choices(workspace: str, _version: int) -> tuple[dict[str, str], list[str]]:
    """Runs with quarantined rows (label -> run id) and the reasons seen."""
    con = workspace_connection(workspace).cursor()
    runs = lookups.quarantine_runs(con)
    labels = {
        (f"{Path(str(r.file)).name} ({r.started_at:%Y-%m-%d %H:%M}, {r.rows:,} rows)" if pd.notna(r.started_at)
         else f"{Path(str(r.file)).name} ({r.rows:,} rows)"): r.run_id
        for r in runs.itertuples()
    }
    return labels, lookups.quarantine_reasons(con)


def _file_names(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``file`` column cut to file names: where a CLI job read a file is the server's business."""
    if "file" not in frame or frame.empty:
        return frame
    return frame.assign(file=[Path(str(f)).name if isinstance(f, str) else f for f in frame["file"]])


def _preview(upload) -> tuple[pd.DataFrame, dict[str, str]]:
    """The first rows and the guessed mapping of an upload, read once per upload from a private copy.

    The copy exists only while it is read (:func:`analytics.ingest.uploads.private_copy`).
    """
    key = f"data_preview_{upload.file_id}"
    if key not in st.session_state:
        with private_copy(upload.getbuffer(), upload.name) as path:
            try:
                st.session_state[key] = read_preview(path, n_rows=20)
            except (BrandLensError, ValueError) as exc:
                raise BrandLensError(without_server_path(str(exc), path)) from None
    return st.session_state[key]


def sample_values(column: pd.Series, n: int = 3, width: int = 40) -> str:
    """The first distinct values of a preview column, cut to ``width`` characters each, and how many there are."""
    values = [str(v) for v in column.dropna().astype(str).unique()]
    shown = [v if len(v) <= width else v[: width - 1] + "…" for v in values[:n]]
    more = f" (+{len(values) - n} more of {len(column)} rows)" if len(values) > n else ""
    return " · ".join(shown) + more if shown else "(empty in the first rows)"


def _upload_section(workspace: str, version: int) -> None:
    """Upload, check the guessed mapping on a preview, confirm, ingest with progress."""
    last = st.session_state.pop(LAST_INGEST_KEY, None)
    if last:
        st.success(f"{markdown_text(last['file'])}: {last['rows_read']:,} rows read: {last['stored']:,} stored, "
                   f"{last['duplicates']:,} duplicates, {last['quarantined']:,} quarantined.")
        if last["quarantine_reasons"]:
            st.caption("Quarantined by reason: " + ", ".join(f"{markdown_text(r)} {n:,}" for r, n in last["quarantine_reasons"].items()))
        if last["stored"]:
            st.caption("Next: score the new posts with the sentiment model.")
            link_to("models.py", "Score them on the Models page")
    upload = st.file_uploader("CSV, TSV, Excel, JSON Lines or Parquet", type=UPLOAD_TYPES)
    if upload is None:
        return
    name = upload_name(upload.name)
    try:
        preview, guessed = _preview(upload)
    except BrandLensError as exc:
        st.error(f"Cannot read {markdown_text(name)}: {markdown_text(exc)}")
        return
    st.caption("Check the columns BrandLens guessed; only the text column is required. Under each box: the "
               "first values of the chosen column.")
    options = [NOT_MAPPED, *preview.columns.astype(str)]
    mapping: dict[str, str | None] = {}
    for i, field in enumerate(FIELDS):
        if i % 4 == 0:  # a row of four boxes at a time: the sample values under a box never shift the next row
            cells = st.columns(4)
        guess = guessed.get(field)
        with cells[i % 4]:
            chosen = st.selectbox(field, options, index=options.index(guess) if guess in options else 0,
                                  key=f"map_{upload.file_id}_{field}", help=TARGET_HELP.get(field))
            mapping[field] = None if chosen == NOT_MAPPED else chosen
            if mapping[field] is not None:
                st.caption(markdown_text(sample_values(preview[chosen])))
    brand = st.text_input("Brand for every post (when the file has no brand column)", value="")
    source = st.text_input("Source name", value=Path(name).stem)
    st.dataframe(preview, hide_index=True, width="stretch")
    st.caption("The first 20 rows of the file as read, before cleaning.")
    if not st.button("Ingest", type="primary", disabled=mapping["text"] is None):
        return
    bar = st.progress(0.0, text="Reading…")

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message or f"{done:,} of {total:,}")

    who = current_access().actor
    # the private copy lives for this ingest only and is deleted whatever happens
    with private_copy(upload.getbuffer(), name) as path:
        try:
            summary = ingest_file(shared_workspace(workspace), path, mapping=mapping, brand=brand or None,
                                  source=source or None, progress=progress, file_name=name)
        except (BrandLensError, ValueError) as exc:
            problem = without_server_path(str(exc), path)
        else:
            problem = None
    if problem is not None:
        bar.empty()
        with writing(workspace) as wcon:
            audit.record(wcon, who, "upload.failed", target=name, detail={"error": problem})
        st.error(f"Cannot ingest {markdown_text(name)}: {markdown_text(problem)}")
        return
    with writing(workspace) as wcon:
        audit.record(wcon, who, "upload.ingest", target=name,
                     detail={k: v for k, v in summary.to_dict().items() if k in ("rows_read", "stored", "duplicates",
                                                                                 "quarantined", "run_id")})
    st.session_state[LAST_INGEST_KEY] = {**summary.to_dict(), "file": name}
    st.session_state[keys.DATA_VERSION] = version + 1
    invalidate()
    st.rerun()  # redraw counts, sources and quarantine with the new rows


def main() -> None:
    st.title("Data")
    st.caption("Where the workspace's posts come from, what was set aside and why, and how to add your own export.")
    f = current_filters()
    con = workspace_connection(f.workspace).cursor()
    version = st.session_state.setdefault(keys.DATA_VERSION, 0)
    counts = store.table_counts(con)
    columns = st.columns(4)
    columns[0].metric("Posts", f"{counts['posts']:,}")
    columns[1].metric("Predictions", f"{counts['predictions']:,}")
    columns[2].metric("Quarantined rows", f"{counts['quarantine']:,}")
    columns[3].metric("Label corrections", f"{counts['label_corrections']:,}")

    st.subheader("Sources")
    runs = sources(f.workspace, version)
    if runs.empty:
        st.info("No data yet: upload an export below, or run `brandlens demo-data` for the demo.")
    else:
        st.dataframe(_file_names(runs), hide_index=True, width="stretch")  # the server's folders stay out of sight
        if current_access().is_admin and runs["file"].astype(str).str.contains("/").any():
            with st.expander("Where the files were on the server (admins)"):
                st.dataframe(runs[["file", "started_at"]], hide_index=True, width="stretch")
        st.caption("Every row read ends stored, as a duplicate of a post already stored, or in quarantine with its reason.")

    st.subheader("Scheduled runs")
    _runs_section(con)

    st.subheader("Add an export")
    _upload_section(f.workspace, version)

    st.subheader("Quarantine")
    run_labels, reasons = quarantine_choices(f.workspace, version)
    if not reasons:
        st.caption("Nothing quarantined.")
    else:
        left, right = st.columns(2)
        run_label = left.selectbox("Ingest run", ["(all)", *run_labels])
        reason = right.selectbox("Reason", ["(all)", *reasons])
        rows = quarantine(f.workspace, version, run_labels.get(run_label), None if reason == "(all)" else reason)
        st.dataframe(_file_names(rows), hide_index=True, width="stretch")
        st.caption("Rows set aside with the file, row and column of the problem; nothing is silently dropped.")

    st.subheader("Privacy")
    who = current_access()
    masked = privacy.masking_enabled(con)
    wanted = st.toggle("Mask e-mails, phone numbers and @handles of private persons in the texts pages show",
                       value=masked, disabled=not who.is_admin,
                       help="Brand accounts stay visible. Author names are only ever stored as a salted hash. "
                            "Only admins may turn masking off.")
    if wanted != masked and who.is_admin:
        with writing(f.workspace) as wcon:
            privacy.set_masking(wcon, wanted)
            audit.record(wcon, who.actor, "privacy.masking", detail={"enabled": wanted, "was": masked})
        st.rerun()

    if who.is_admin:
        _audit_section(con)


def _runs_section(con) -> None:
    """The passes of `brandlens run`: when, which files, counts, errors."""
    runs = pipeline_runs(con, limit=50)
    if runs.empty:
        st.caption("No scheduled run yet. `brandlens run --workspace W --inbox DIR --every 15m` ingests each new "
                   "file of DIR, scores it, assigns topics and sends new alerts (README: cron and systemd lines).")
        return
    st.dataframe(runs, hide_index=True, width="stretch",  # table cells are text, not markdown
                 column_config={"started_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                                "finished_at": st.column_config.DatetimeColumn("finished (UTC)", format="YYYY-MM-DD HH:mm:ss")})
    st.caption("The last 50 passes of `brandlens run`, newest first: a bad file is reported here and the pass "
               "goes on; delivery failures are retried on the next pass.")


def _audit_section(con) -> None:
    """Who changed what in this workspace, newest first (admins only)."""
    st.subheader("Audit log")
    entries = audit.audit_entries(con, limit=200)
    if entries.empty:
        st.caption("No change recorded yet: corrections, alert rules, uploads, channels and privacy changes "
                   "appear here with who made them and when.")
        return
    shown = entries.assign(detail=[json.dumps(d, ensure_ascii=False) if d is not None else "" for d in entries["detail"]])
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"recorded_at": st.column_config.DatetimeColumn("when (UTC)",
                                                                               format="YYYY-MM-DD HH:mm:ss")})
    st.caption("The last 200 changes: corrections, alert rules, uploads, channels and privacy, each with the "
               "signed-in identity ('local' when sign-in is off) and the time.")


main()
