"""The audit trail: who changed what in a workspace, and when (table ``audit_log``, schema v3).

Every change a person makes through the dashboard (a label correction, alert rules, an
upload, a notification channel, the privacy setting) is recorded here with the signed-in
identity: the e-mail address from the sign-in, ``"local"`` when sign-in is off, or
``"cli:<user>"`` for a command. Rows are only ever added; the Data page shows them to admins.

``detail`` is any JSON-serialisable mapping (counts, the old and new value); it is stored as
JSON text and read back as a dict.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

LOCAL_ACTOR = "local"
"""The actor of changes made while sign-in is off (the open local mode)."""

AUDIT_COLUMNS: tuple[str, ...] = ("recorded_at", "actor", "action", "target", "detail")
"""Columns of :func:`audit_entries`, newest row first."""


def cli_actor() -> str:
    """The actor of a change made from the command line: ``"cli:<user>"``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (a container without a passwd entry)
        return "cli:unknown"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def record(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> str:
    """Add one row to the audit trail and return its id.

    Parameters
    ----------
    con : DuckDBPyConnection
        A read-write connection (inside the caller's transaction when the change has one,
        so the change and its record commit together).
    actor : str
        Who made the change: an e-mail address, ``"local"`` (:data:`LOCAL_ACTOR`) or ``"cli:<user>"``.
    action : str
        What was done, a short dotted name such as ``"label.correct"`` or ``"privacy.masking"``.
    target : str, optional
        What it was done to (a post id, a file's name, a rule id).
    detail : mapping, optional
        Anything else worth keeping, JSON-serialisable (values that are not become strings).

    Returns
    -------
    str
        The new row's ``audit_id``.

    Examples
    --------
    >>> from analytics import store
    >>> con = store.connect(":memory:")
    >>> _ = record(con, "ana@example.com", "privacy.masking", detail={"enabled": False})
    >>> audit_entries(con)[["actor", "action"]].values.tolist()
    [['ana@example.com', 'privacy.masking']]
    """
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError(f"actor must be a non-empty string, got {actor!r}")
    if not isinstance(action, str) or not action.strip():
        raise ValueError(f"action must be a non-empty string, got {action!r}")
    audit_id = uuid.uuid4().hex
    payload = None if detail is None else json.dumps(dict(detail), default=str, ensure_ascii=False)
    con.execute(
        "INSERT INTO audit_log (audit_id, recorded_at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [audit_id, _now(), actor, action, None if target is None else str(target), payload],
    )
    return audit_id


def audit_entries(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The audit trail, newest first, optionally for one actor, one action or since a time.

    Returns a DataFrame with the columns of :data:`AUDIT_COLUMNS`; ``detail`` holds dicts
    (``None`` where no detail was recorded).
    """
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    where, params = [], []
    for column, value in (("actor", actor), ("action", action)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append("recorded_at >= ?")
        params.append(since)
    sql = ("SELECT recorded_at, actor, action, target, CAST(detail AS VARCHAR) AS detail FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY recorded_at DESC, audit_id LIMIT ?")
    frame = con.execute(sql, [*params, limit]).df()
    frame["detail"] = [None if d is None or pd.isna(d) else json.loads(d) for d in frame["detail"]]
    return frame[list(AUDIT_COLUMNS)]
