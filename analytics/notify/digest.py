"""The executive digest: the report's headline in an e-mail, the whole report as a PDF.

``brandlens digest`` sends it now (from cron); it is recorded in ``deliveries`` as kind
``digest`` like every other message.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from analytics.brand.report import build_report, write_pdf
from analytics.core.errors import BrandLensError
from analytics.notify.channels import Channel, check_address, list_channels
from analytics.notify.deliveries import BASE_URL_SETTING, record_delivery
from analytics.notify.messages import Message, digest_message
from analytics.notify.send import RETRY, Attempt, RetryPolicy, send
from analytics.store import get_setting
from analytics.store.lookups import default_model_id
from analytics.store.sharing import Workspace


def smtp_options_from_channels(channels: list[Channel]) -> dict[str, object]:
    """The SMTP settings of the workspace's first e-mail channel (a digest without ``--smtp`` uses them)."""
    for channel in channels:
        if channel.kind == "email":
            return dict(channel.options)
    raise BrandLensError("no SMTP server to send the digest with: pass --smtp HOST[:PORT] or add an e-mail "
                         "channel with `brandlens notify add --email ADDR --smtp HOST`")


def build_digest(workspace: Workspace, *, period: str = "week", model_id: str | None = None) -> Message:
    """The digest of the workspace's report for ``period`` (``day``, ``week`` or ``month``)."""
    with workspace.reading() as con:
        report = build_report(con, model_id or default_model_id(con), period=period)
        base_url = get_setting(con, BASE_URL_SETTING)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = write_pdf(report, Path(tmp) / "report.pdf").read_bytes()
    return digest_message(report.title, report.headline(), report.whole_range.correction.text(), pdf=pdf,
                          base_url=base_url)


def send_digest(
    workspace: Workspace,
    *,
    to: str,
    smtp: dict[str, object] | None = None,
    period: str = "week",
    model_id: str | None = None,
    policy: RetryPolicy = RETRY,
) -> Attempt:
    """Build and send the digest to ``to``; the attempt is recorded whatever its outcome."""
    to = check_address(to)
    if smtp is None:
        with workspace.reading() as con:
            smtp = smtp_options_from_channels(list_channels(con))
    message = build_digest(workspace, period=period, model_id=model_id)
    channel = Channel("digest", "email", to, smtp)
    attempt = send(channel, message, policy=policy)
    with workspace.writing() as con:
        record_delivery(con, kind="digest", channel=None, target=to, attempt=attempt)
    return attempt
