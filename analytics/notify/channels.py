"""Notification channels of a workspace: Slack-compatible webhooks and e-mail over SMTP.

A channel stores where to send and how, never a secret: an SMTP password is named by the
environment variable that holds it (``--smtp-password-env VAR``), read when sending.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import duckdb

from analytics.core.errors import BrandLensError

KINDS = ("webhook", "email")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
DEFAULT_SMTP_PORT = 25


@dataclass(frozen=True)
class Channel:
    """One place alerts go to."""

    channel_id: str
    kind: str
    target: str
    options: dict[str, object] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    created_by: str | None = None

    def describe(self) -> str:
        """One line for lists, shown to every role: the webhook's host only or the address and server.

        A webhook's path and query are its secret, and so is a ``user:password@`` in it:
        neither is shown (``notify list --json`` gives admins the whole URL).

        Examples
        --------
        >>> Channel("c1", "webhook", "https://user:secret@hooks.example.com:8443/T0/B0/XyZ?token=t").describe()
        'webhook https://hooks.example.com:8443/…'
        """
        if self.kind == "webhook":
            parts = urlsplit(self.target)
            host = parts.hostname or "?"
            host = f"[{host}]" if ":" in host else host
            try:
                port = f":{parts.port}" if parts.port else ""
            except ValueError:
                port = ""
            return f"webhook {parts.scheme}://{host}{port}/…"
        return f"e-mail {self.target} via {self.options.get('smtp_host')}:{self.options.get('smtp_port')}"

    def to_dict(self) -> dict[str, object]:
        """The ``notify list --json`` entry (the webhook URL is shown: whoever lists can change it anyway)."""
        return {"id": self.channel_id, "kind": self.kind, "target": self.target, "options": dict(self.options),
                "created_at": None if self.created_at is None else self.created_at.isoformat(timespec="seconds"),
                "created_by": self.created_by}


def check_webhook_url(url: str) -> str:
    """The URL when it is an absolute http(s) URL, else a :class:`BrandLensError` saying why."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BrandLensError(f"--webhook must be an http:// or https:// URL, got {url!r}")
    return url.strip()


def check_address(address: str) -> str:
    """A single e-mail address (no display name, no list), else a :class:`BrandLensError`."""
    if not _ADDRESS.match(address.strip()):
        raise BrandLensError(f"--email must be one address such as team@example.com, got {address!r}")
    return address.strip()


def parse_smtp(server: str) -> tuple[str, int]:
    """``HOST[:PORT]`` to ``(host, port)`` (port 25 when absent)."""
    host, _, port = server.strip().rpartition(":") if ":" in server else (server.strip(), "", "")
    if not host:
        raise BrandLensError(f"--smtp must be HOST or HOST:PORT, got {server!r}")
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise BrandLensError(f"--smtp port must be a number from 1 to 65535, got {port!r}")
        return host, int(port)
    return host, DEFAULT_SMTP_PORT


def email_options(server: str, *, user: str | None = None, password_env: str | None = None,
                  starttls: bool = False, sender: str | None = None) -> dict[str, object]:
    """The stored options of an e-mail channel (no password: the name of its variable)."""
    host, port = parse_smtp(server)
    if password_env is not None and not _ENV_NAME.match(password_env):
        raise BrandLensError(f"--smtp-password-env must name an environment variable, got {password_env!r}")
    if password_env and not user:
        raise BrandLensError("--smtp-password-env needs --smtp-user")
    return {"smtp_host": host, "smtp_port": port, "smtp_user": user, "password_env": password_env,
            "starttls": bool(starttls), "sender": check_address(sender) if sender else None}


def add_channel(con: duckdb.DuckDBPyConnection, kind: str, target: str, options: dict[str, object] | None = None,
                *, created_by: str | None = None) -> Channel:
    """Store a channel; ``target`` is checked for its kind. Returns it with its new id."""
    if kind not in KINDS:
        raise BrandLensError(f"channel kind must be one of {KINDS}, got {kind!r}")
    target = check_webhook_url(target) if kind == "webhook" else check_address(target)
    channel = Channel(uuid.uuid4().hex[:8], kind, target, dict(options or {}),
                      dt.datetime.now(dt.UTC).replace(tzinfo=None), created_by)  # full precision: list order is add order
    con.execute("INSERT INTO notify_channels VALUES (?, ?, ?, ?, ?, ?)",
                [channel.channel_id, kind, target, json.dumps(channel.options), channel.created_at, created_by])
    return channel


def list_channels(con: duckdb.DuckDBPyConnection) -> list[Channel]:
    """Every channel of the workspace, oldest first."""
    rows = con.execute(
        "SELECT channel_id, kind, target, options, created_at, created_by FROM notify_channels ORDER BY created_at, channel_id"
    ).fetchall()
    return [Channel(r[0], r[1], r[2], json.loads(r[3]) if isinstance(r[3], str) else (r[3] or {}), r[4], r[5])
            for r in rows]


def get_channel(con: duckdb.DuckDBPyConnection, channel_id: str) -> Channel:
    """One channel by id, or a :class:`BrandLensError` listing the ids there are."""
    channels = list_channels(con)
    for channel in channels:
        if channel.channel_id == channel_id:
            return channel
    known = ", ".join(c.channel_id for c in channels) or "none"
    raise BrandLensError(f"no notification channel {channel_id!r} in this workspace (channels: {known})")


def remove_channel(con: duckdb.DuckDBPyConnection, channel_id: str) -> Channel:
    """Delete a channel (its past deliveries stay recorded)."""
    channel = get_channel(con, channel_id)
    con.execute("DELETE FROM notify_channels WHERE channel_id = ?", [channel_id])
    return channel
