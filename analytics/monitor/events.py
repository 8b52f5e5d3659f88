"""Alerts the pipeline found, each stored once: new ones are delivered, historical ones only shown.

An alert is identified by its model, rule, brand, metric, period and period start
(:func:`alert_key`): the same spike found by a later run (with more posts in its period)
is the same alert, so it is never sent twice. What a message says about it (figures, the
driving topic, three posts, PII masked) is frozen in ``payload`` when it is first found,
so a retried delivery sends the same text.

An alert is *historical* — stored, shown, never sent — when it is found on the
workspace's first pipeline run (the team did not ask to be told about last year), or
when its period ended more than :data:`STALE_DAYS` before the newest post (a back-fill of
old exports).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import privacy
from analytics.brand.alerts import alert_posts, detect_alerts

STALE_DAYS = 7
"""An alert whose period ended this many days before the newest post is news no more."""

TOP_POSTS = 3
"""Posts quoted in a message."""

EVENT_COLUMNS = ("alert_key", "found_at", "historical", "brand", "metric", "period", "period_start", "payload")


KEY_MODEL_ALIASES: dict[str, str] = {"minilm-v1": "default"}
"""Model ids an alert's identity reads under another: ``minilm-v1`` is what was ``default`` before
BrandLens 2 (schema v6 renamed its predictions), and its alerts were stored under that name."""


def alert_key(model_id: str, alert: pd.Series | dict) -> str:
    """The identity of one alert: model (the default's lineage as one), rule, brand, metric, period and its start.

    The old and the new default model share an identity, so re-scoring a workspace with the new
    default does not send again an alert the old one already reported.
    """
    start = pd.Timestamp(alert["period_start"]).isoformat()
    text = "|".join(str(alert.get(k) if hasattr(alert, "get") else alert[k])
                    for k in ("rule_id", "brand", "metric", "period"))
    model = KEY_MODEL_ALIASES.get(model_id, model_id)
    return hashlib.sha256(f"{model}|{text}|{start}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class FoundAlerts:
    """What one detection found: keys of alerts new to the workspace, and how many were known."""

    new: list[str]
    historical: list[str]
    known: int


def _payload(con: duckdb.DuckDBPyConnection, model_id: str, alert: pd.Series) -> dict[str, object]:
    start, end = pd.Timestamp(alert["period_start"]), pd.Timestamp(alert["period_end"])
    posts = alert_posts(con, brand=str(alert["brand"]), metric=str(alert["metric"]), start=start.to_pydatetime(),
                        end=end.to_pydatetime(), model_id=model_id, limit=TOP_POSTS)
    # a message leaves the workspace: personal data is masked whatever the page setting says
    handles = privacy.brand_handles(con) if len(posts) else []
    texts = [privacy.mask_text(t or "", keep_handles=handles) for t in posts["text"]]
    topic = alert.get("topic_label")
    return {
        "model_id": model_id,
        "rule_id": None if pd.isna(alert.get("rule_id")) else str(alert.get("rule_id")),
        "brand": str(alert["brand"]),
        "metric": str(alert["metric"]),
        "period": str(alert["period"]),
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "observed": float(alert["observed"]),
        "baseline": float(alert["baseline"]),
        "z": float(alert["z"]),
        "threshold": float(alert["threshold"]),
        "n_posts": int(alert["n_posts"]),
        "reason": str(alert["reason"]),
        "topic": None if topic is None or pd.isna(topic) else str(topic),
        "topic_excess_share": None if pd.isna(alert.get("topic_excess_share")) else float(alert["topic_excess_share"]),
        "posts": [
            {"post_id": str(pid), "created_at": pd.Timestamp(ts).isoformat() if not pd.isna(ts) else None,
             "label": str(label), "confidence": float(conf), "text": text or ""}
            for pid, ts, label, conf, text in zip(posts["post_id"], posts["created_at"], posts["label"],
                                                  posts["confidence"], texts)
        ],
    }


def find_alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    model_id: str,
    since: dt.datetime | None,
    first_run: bool,
    now: dt.datetime | None = None,
) -> FoundAlerts:
    """Detect alerts for periods starting at or after ``since`` and store the ones not seen yet.

    ``con`` is read-write; the caller commits. ``first_run`` marks everything found as
    historical (shown as already known, not sent).
    """
    found = detect_alerts(con, model_id=model_id, since=since)
    if found.empty:
        return FoundAlerts([], [], 0)
    keys = [alert_key(model_id, row) for _, row in found.iterrows()]
    seen = {r[0] for r in con.execute(
        "SELECT alert_key FROM alert_events WHERE list_contains(?, alert_key)", [keys]).fetchall()}
    newest = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
    stale_before = None if newest is None else pd.Timestamp(newest) - pd.Timedelta(days=STALE_DAYS)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    new, historical = [], []
    for key, (_, alert) in zip(keys, found.iterrows()):
        if key in seen:
            continue
        seen.add(key)
        old = first_run or (stale_before is not None and pd.Timestamp(alert["period_end"]) < stale_before)
        payload = _payload(con, model_id, alert)
        con.execute(
            "INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [key, now, old, payload["brand"], payload["metric"], payload["period"],
             pd.Timestamp(alert["period_start"]).to_pydatetime(), json.dumps(payload)],
        )
        (historical if old else new).append(key)
    return FoundAlerts(new, historical, len(keys) - len(new) - len(historical))


def alert_events(con: duckdb.DuckDBPyConnection, *, limit: int = 200) -> pd.DataFrame:
    """Stored alert events, newest first, with their delivery state per event.

    Columns: :data:`EVENT_COLUMNS` (``payload`` parsed to a dict) plus ``sent`` and
    ``failed`` (deliveries that succeeded / attempts that failed).
    """
    frame = con.execute(
        """
        SELECT e.*, count(d.delivery_id) FILTER (WHERE d.status = 'sent') AS sent,
               count(d.delivery_id) FILTER (WHERE d.status = 'failed') AS failed
        FROM alert_events e LEFT JOIN deliveries d ON d.alert_key = e.alert_key
        GROUP BY ALL ORDER BY e.period_start DESC, e.found_at DESC LIMIT ?
        """,
        [int(limit)],
    ).df()
    frame["payload"] = [json.loads(p) if isinstance(p, str) else p for p in frame["payload"]]
    return frame


def event_payload(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, object]:
    """The frozen message content of one stored alert."""
    rows = con.execute("SELECT payload FROM alert_events WHERE alert_key = ?", [key]).fetchall()
    if not rows:
        raise KeyError(key)
    payload = rows[0][0]
    return json.loads(payload) if isinstance(payload, str) else payload
