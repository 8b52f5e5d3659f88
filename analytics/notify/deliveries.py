"""Every delivery recorded; what is owed is sent, once.

An alert is owed to a channel when it is not historical, was found after the channel was
added (a new channel is not flooded with the past), and has no ``sent`` delivery to it.
:func:`deliver_owed` sends each owed pair once (with the in-call retries of
:mod:`analytics.notify.send`) and records the outcome; a failure stays owed, so the next
run tries again; after a success it is never sent again.

Sending happens with no connection open (a receiver may take seconds); each outcome is
recorded in its own short transaction right after, so a crash loses at most the record
of one message.

Before sending, the sender claims the pair in ``delivery_claims`` (one transaction: still
owed, not claimed by a live process), so two processes sending at once never send one
alert twice. A claim whose process is gone (killed mid-send) or older than
:data:`CLAIM_TTL` is taken over: the alert is sent then, at least once — twice only when a
sender died between the receiver's acceptance and the record of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.notify.channels import Channel, list_channels
from analytics.notify.messages import Message, alert_message
from analytics.notify.send import RETRY, Attempt, RetryPolicy, send
from analytics.store import get_setting, transaction
from analytics.store.sharing import Workspace, as_workspace

BASE_URL_SETTING = "dashboard_url"
"""Workspace setting: the dashboard's address, for links in messages (``brandlens run --base-url``)."""

CLAIM_TTL = dt.timedelta(hours=1)
"""A claim older than this is stale whoever holds it (a send takes seconds; a reused PID must not block forever)."""

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
        with workspace.writing() as con, transaction(con):
            mine = claim(con, key, channel_id)
        if not mine:  # sent meanwhile, or being sent by another live process
            continue
        attempt = send_one(channel, alert_message(payloads[key], base_url=base_url))
        with workspace.writing() as con, transaction(con):
            record_delivery(con, kind="alert", channel=channel, target=channel.target, attempt=attempt, alert_key=key)
            con.execute("DELETE FROM delivery_claims WHERE alert_key = ? AND channel_id = ?", [key, channel_id])
        sent += attempt.status == "sent"
        failed += attempt.status != "sent"
    return DeliveryCounts(sent, failed)


def _alive(pid: int, host: str, claimed_at: dt.datetime) -> bool:
    """Whether a claim's process may still be sending: same host and running, or elsewhere and recent."""
    if _now() - claimed_at > CLAIM_TTL:
        return False
    if host != socket.gethostname():
        return True  # another machine's process cannot be checked: trust it until the claim is stale
    from analytics.core.private import pid_alive

    return pid_alive(pid)


def claim(con: duckdb.DuckDBPyConnection, alert_key: str, channel_id: str) -> bool:
    """Claim ``(alert_key, channel_id)`` for this process; ``False`` if it was sent or a live sender has it.

    Run inside one transaction: DuckDB lets one process write the file at a time, so the
    check and the claim cannot interleave with another process's.
    """
    if con.execute("SELECT count(*) FROM deliveries WHERE alert_key = ? AND channel_id = ? AND status = 'sent'",
                   [alert_key, channel_id]).fetchall()[0][0]:
        return False
    held = con.execute("SELECT pid, host, claimed_at FROM delivery_claims WHERE alert_key = ? AND channel_id = ?",
                       [alert_key, channel_id]).fetchall()
    if held and _alive(*held[0]):
        return False
    con.execute("DELETE FROM delivery_claims WHERE alert_key = ? AND channel_id = ?", [alert_key, channel_id])
    con.execute("INSERT INTO delivery_claims VALUES (?, ?, ?, ?, ?)",
                [alert_key, channel_id, _now(), os.getpid(), socket.gethostname()])
    return True


def deliveries(con: duckdb.DuckDBPyConnection, *, limit: int = 200) -> pd.DataFrame:
    """Recorded deliveries, newest first (columns :data:`DELIVERY_COLUMNS`)."""
    return con.execute(
        f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM deliveries ORDER BY attempted_at DESC LIMIT ?", [int(limit)]
    ).df()
