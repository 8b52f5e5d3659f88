"""Data: the workspace's sources, uploading a new export, the quarantine, privacy."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import privacy, store
from analytics.errors import BrandLensError
from analytics.ingest import FIELDS, ingest_file, read_preview
from dashboard.data import invalidate, workspace_connection
from dashboard.state import current_filters

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "jsonl", "json", "ndjson", "parquet"]
NOT_MAPPED = "(not mapped)"


@st.cache_data(show_spinner=False)
def sources(workspace: str, _version: int) -> pd.DataFrame:
    return workspace_connection(workspace).cursor().execute(
        """
        SELECT file_name AS file, source, started_at, rows_read, stored, duplicates, quarantined, status
        FROM ingest_runs ORDER BY started_at DESC
        """
    ).df()


@st.cache_data(show_spinner=False)
def quarantine(workspace: str, _version: int, reason: str | None) -> pd.DataFrame:
    sql = ("SELECT source_file AS file, row_number AS row, column_name AS column, reason, raw_row "
           "FROM quarantine {where} ORDER BY quarantined_at DESC, row_number LIMIT 1000")
    con = workspace_connection(workspace).cursor()
    if reason:
        return con.execute(sql.format(where="WHERE reason = ?"), [reason]).df()
    return con.execute(sql.format(where="")).df()


def _save_upload(upload) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="brandlens-upload-"))
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getbuffer())
    return path


st.title("Data")
st.caption("Where the workspace's posts come from, what was set aside and why, and how to add your own export.")
f = current_filters()
con = workspace_connection(f.workspace).cursor()
version = st.session_state.setdefault("data_version", 0)
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
    st.dataframe(runs, hide_index=True, width="stretch")
    st.caption("Every row read ends stored, as a duplicate of a post already stored, or in quarantine with its reason.")

st.subheader("Add an export")
upload = st.file_uploader("CSV, TSV, Excel, JSON Lines or Parquet", type=UPLOAD_TYPES)
if upload is not None:
    path = _save_upload(upload)
    try:
        preview, guessed = read_preview(path, n_rows=20)
    except (BrandLensError, ValueError) as exc:
        st.error(f"Cannot read {upload.name}: {exc}")
        st.stop()
    st.caption("Check the columns BrandLens guessed; only the text column is required.")
    options = [NOT_MAPPED, *preview.columns.astype(str)]
    mapping: dict[str, str | None] = {}
    cells = st.columns(4)
    for i, field in enumerate(FIELDS):
        guess = guessed.get(field)
        chosen = cells[i % 4].selectbox(field, options, index=options.index(guess) if guess in options else 0,
                                        key=f"map_{field}")
        mapping[field] = None if chosen == NOT_MAPPED else chosen
    brand = st.text_input("Brand for every post (when the file has no brand column)", value="")
    source = st.text_input("Source name", value=Path(upload.name).stem)
    st.dataframe(preview, hide_index=True, width="stretch")
    if st.button("Ingest", type="primary", disabled=mapping["text"] is None):
        bar = st.progress(0.0, text="Reading…")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(1.0, done / total) if total else 0.0, text=message or f"{done:,} of {total:,}")

        try:
            summary = ingest_file(con, path, mapping=mapping, brand=brand or None, source=source or None,
                                  progress=progress)
        except (BrandLensError, ValueError) as exc:
            bar.empty()
            st.error(str(exc))
        else:
            bar.progress(1.0, text="Done")
            st.success(f"{summary.rows_read:,} rows read: {summary.stored:,} stored, {summary.duplicates:,} duplicates, "
                       f"{summary.quarantined:,} quarantined.")
            if summary.quarantine_reasons:
                st.write(summary.quarantine_reasons)
            st.session_state["data_version"] = version + 1
            invalidate()

st.subheader("Quarantine")
reasons = [r[0] for r in con.execute("SELECT DISTINCT reason FROM quarantine ORDER BY 1").fetchall()]
if not reasons:
    st.caption("Nothing quarantined.")
else:
    reason = st.selectbox("Reason", ["(all)", *reasons])
    rows = quarantine(f.workspace, version, None if reason == "(all)" else reason)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Rows set aside with the file, row and column of the problem; nothing is silently dropped.")

st.subheader("Privacy")
masked = privacy.masking_enabled(con)
wanted = st.toggle("Mask e-mails, phone numbers and @handles of private persons in the texts pages show",
                   value=masked, help="Brand accounts stay visible. Author names are only ever stored as a salted hash.")
if wanted != masked:
    privacy.set_masking(con, wanted)
    invalidate()
    st.rerun()
