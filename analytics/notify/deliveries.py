"""Every delivery recorded; what is owed is sent, once.

An alert is owed to a channel when it is not historical, was found after the channel was
added (a new channel is not flooded with the past), and has no ``sent`` delivery to it.
:func:`deliver_owed` sends each owed pair once (with the in-call retries of
:mod:`analytics.notify.send`) and records the outcome; a failure stays owed, so the next
run tries again; after a success it is never sent again.

Sending happens with no connection open (a receiver may take seconds); each outcome is
recorded in its own short transaction right after, so a crash loses at most the record
of one message.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.notify.channels import Channel, list_channels
from analytics.notify.messages import Message, alert_message
from analytics.notify.send import RETRY, Attempt, RetryPolicy, send
from analytics.store import get_setting
from analytics.store.sharing import Workspace, as_workspace

BASE_URL_SETTING = "dashboard_url"
"""Workspace setting: the dashboard's address, for links in messages (``brandlens run --base-url``)."""

DELIVERY_COLUMNS = ("attempted_at", "kind", "alert_key", "channel_id", "target", "status", "attempts", "error")


@dataclass(frozen=True)
class DeliveryCounts:
    """Messages sent and failed by one :func:`deliver_owed`."""

    sent: int = 0
    failed: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_delivery(con: duckdb.DuckDBPyConnection, *, kind: str, channel: Channel | None, target: str,
                    attempt: Attempt, alert_key: str | None = None) -> None:
    """One row of ``deliveries``."""
    con.execute(
        "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [uuid.uuid4().hex, alert_key, kind, None if channel is None else channel.channel_id, target, _now(),
         attempt.status, attempt.attempts, attempt.error],
    )


def owed(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """``(alert_key, channel_id)`` pairs still to be delivered, oldest alert first."""
    return [(r[0], r[1]) for r in con.execute(
        """
        SELECT e.alert_key, c.channel_id
        FROM alert_events e CROSS JOIN notify_channels c
        WHERE NOT e.historical AND e.found_at >= c.created_at
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_key = e.alert_key
                          AND d.channel_id = c.channel_id AND d.status = 'sent')
        ORDER BY e.found_at, e.period_start, c.created_at
        """
    ).fetchall()]


def deliver_owed(
    target: duckdb.DuckDBPyConnection | Workspace,
    *,
    policy: RetryPolicy = RETRY,
    sender: Callable[[Channel, Message], Attempt] | None = None,
) -> DeliveryCounts:
    """Send every owed alert to its channel and record each outcome."""
    workspace = as_workspace(target)
    send_one = sender or (lambda channel, message: send(channel, message, policy=policy))
    with workspace.reading() as con:
        pairs = owed(con)
        if not pairs:
            return DeliveryCounts()
        channels = {c.channel_id: c for c in list_channels(con)}
        keys = sorted({k for k, _ in pairs})
        payloads = {r[0]: (json.loads(r[1]) if isinstance(r[1], str) else r[1]) for r in con.execute(
            "SELECT alert_key, payload FROM alert_events WHERE list_contains(?, alert_key)", [keys]).fetchall()}
        base_url = get_setting(con, BASE_URL_SETTING)
    sent = failed = 0
    for key, channel_id in pairs:
        channel = channels[channel_id]
        attempt = send_one(channel, alert_message(payloads[key], base_url=base_url))
        with workspace.writing() as con:
            record_delivery(con, kind="alert", channel=channel, target=channel.target, attempt=attempt, alert_key=key)
        sent += attempt.status == "sent"
        failed += attempt.status != "sent"
    return DeliveryCounts(sent, failed)


def deliveries(con: duckdb.DuckDBPyConnection, *, limit: int = 200) -> pd.DataFrame:
    """Recorded deliveries, newest first (columns :data:`DELIVERY_COLUMNS`)."""
    return con.execute(
        f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM deliveries ORDER BY attempted_at DESC LIMIT ?", [int(limit)]
    ).df()
