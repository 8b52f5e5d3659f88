"""What an alert or a digest says, for each channel: Slack-compatible JSON, plain text, HTML.

Every string that came from data (brand names, topic labels, post texts, reasons) goes
through the escaper of its output (:mod:`analytics.core.escape`): ``slack_text`` for
Slack's mrkdwn, ``html_text`` for the e-mail's HTML; plain text needs none. Post texts
were masked when the alert was found (:mod:`analytics.monitor.events`).
"""

from __future__ import annotations

import datetime as dt
from html import escape as _entities
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from analytics.core.escape import html_text, slack_text

METRIC_NAMES = {"volume": "post volume", "negative_share": "negative share"}
MAX_POST_CHARS = 280


@dataclass(frozen=True)
class Message:
    """One notification, ready for any channel."""

    subject: str
    text: str
    html: str
    slack: dict[str, object]
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (file name, MIME type, bytes)


def _value(metric: str, value: float) -> str:
    return f"{value:.0%}" if metric == "negative_share" else f"{value:,.0f}"


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_POST_CHARS else text[: MAX_POST_CHARS - 1] + "…"


def alerts_page_url(base_url: str | None, payload: dict[str, object]) -> str | None:
    """A link to the Alerts page of the dashboard at ``base_url`` (none when no base URL is configured)."""
    if not base_url:
        return None
    query = urlencode({"brand": payload["brand"], "period_start": str(payload["period_start"])[:10]}, quote_via=quote)
    return f"{base_url.rstrip('/')}/alerts?{query}"


def alert_message(payload: dict[str, object], *, base_url: str | None = None) -> Message:
    """The message for one alert (see :func:`analytics.monitor.events.find_alerts` for ``payload``)."""
    metric = str(payload["metric"])
    what = METRIC_NAMES.get(metric, metric)
    brand = str(payload["brand"])
    start = dt.datetime.fromisoformat(str(payload["period_start"]))
    when = f"{payload['period']} of {start:%Y-%m-%d}" if payload["period"] == "week" else f"{start:%Y-%m-%d}"
    observed, baseline = _value(metric, float(payload["observed"])), _value(metric, float(payload["baseline"]))
    topic = payload.get("topic")
    posts = list(payload.get("posts") or [])[:3]
    link = alerts_page_url(base_url, payload)
    subject = f"BrandLens alert: {brand} {what} {observed} on {when} (baseline {baseline})"

    lines = [subject, "", f"Why it fired: {payload['reason']}"]
    if topic:
        lines.append(f"Driving topic: {topic}")
    if posts:
        lines += ["", "Top posts:"] + [f"- [{p['label']}, {p['confidence']:.0%}] {_short(p['text'])}" for p in posts]
    if link:
        lines += ["", f"Open the Alerts page: {link}"]
    text = "\n".join(lines) + "\n"

    html_posts = "".join(f"<li><b>{html_text(p['label'])}</b> ({p['confidence']:.0%}): {html_text(_short(p['text']))}</li>"
                         for p in posts)
    html = "".join([
        "<!DOCTYPE html><html><body style='font-family:sans-serif'>",
        f"<h2>{html_text(brand)}: {html_text(what)} {html_text(observed)} on {html_text(when)}</h2>",
        f"<p>Observed <b>{html_text(observed)}</b> against a baseline of <b>{html_text(baseline)}</b> "
        f"(robust z {float(payload['z']):.1f}, threshold {float(payload['threshold']):.1f}).</p>",
        f"<p>Why it fired: {html_text(payload['reason'])}</p>",
        f"<p>Driving topic: {html_text(topic)}</p>" if topic else "",
        f"<p>Top posts:</p><ul>{html_posts}</ul>" if posts else "",
        f"<p><a href='{html_text(link)}'>Open the Alerts page</a></p>" if link else "",
        "</body></html>",
    ])

    fields = [
        {"type": "mrkdwn", "text": f"*Brand*\n{slack_text(brand)}"},
        {"type": "mrkdwn", "text": f"*Metric*\n{slack_text(what)}"},
        {"type": "mrkdwn", "text": f"*Period*\n{slack_text(when)}"},
        {"type": "mrkdwn", "text": f"*Observed vs baseline*\n{slack_text(observed)} vs {slack_text(baseline)}"},
    ]
    blocks: list[dict[str, object]] = [
        # plain_text shows no formatting, but Slack still reads &, < and > in it (as Apprise escapes them too)
        {"type": "header", "text": {"type": "plain_text", "text": _entities(f"Alert: {brand} {what}"[:150], quote=False)}},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Why it fired:* {slack_text(payload['reason'])}"}},
    ]
    if topic:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Driving topic:* {slack_text(topic)}"}})
    if posts:
        quoted = "\n".join(f"• _{slack_text(p['label'])}_ ({p['confidence']:.0%}): {slack_text(_short(p['text']))}"
                           for p in posts)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Top posts*\n{quoted}"}})
    if link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the Alerts page"}, "url": link}]})
    slack = {"text": slack_text(subject), "blocks": blocks}
    return Message(subject, text, html, slack)


def digest_message(title: str, headline: list[tuple[str, str, str | None, str | None]], note: str,
                   *, pdf: bytes | None = None, base_url: str | None = None) -> Message:
    """The executive digest: the headline table in the body (text and HTML), the report as a PDF."""
    subject = f"BrandLens digest: {title}"
    text_rows = [f"- {label}: {value}" + (f" ({change})" if change else "") + (f", {interval}" if interval else "")
                 for label, value, change, interval in headline]
    link = f"{base_url.rstrip('/')}/" if base_url else None
    text = "\n".join([subject, "", *text_rows, "", note] + ([f"", f"Dashboard: {link}"] if link else [])) + "\n"
    rows = "".join(f"<tr><th align='left'>{html_text(label)}</th><td>{html_text(value)}</td>"
                   f"<td>{html_text(change or '')}</td><td>{html_text(interval or '')}</td></tr>"
                   for label, value, change, interval in headline)
    html = "".join([
        "<!DOCTYPE html><html><body style='font-family:sans-serif'>",
        f"<h2>{html_text(title)}</h2>",
        "<table cellpadding='6'><tr><th></th><th>now</th><th>change</th><th>95% interval</th></tr>", rows, "</table>",
        f"<p>{html_text(note)}</p>",
        "<p>The full report with its charts is attached as a PDF.</p>" if pdf else "",
        f"<p><a href='{html_text(link)}'>Open the dashboard</a></p>" if link else "",
        "</body></html>",
    ])
    slack = {"text": slack_text(subject), "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": _entities(subject[:150], quote=False)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(slack_text(r) for r in text_rows)}},
    ]}
    attachments = [("brandlens-report.pdf", "application/pdf", pdf)] if pdf else []
    return Message(subject, text, html, slack, attachments)


def test_message() -> Message:
    """``brandlens notify test``: says where it came from, carries no workspace data."""
    subject = "BrandLens test message"
    text = "This channel receives BrandLens alerts. Nothing is wrong: this is a test.\n"
    html = f"<!DOCTYPE html><html><body><p>{html_text(text.strip())}</p></body></html>"
    return Message(subject, text, html, {"text": slack_text(subject), "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_text(text.strip())}}]})
