"""Sending one message to one channel, retried with backoff (tenacity).

A refused connection, a timeout or a 5xx is retried within the call
(:data:`RETRY`); what is still failing is returned as a failed :class:`Attempt` and the
next pipeline run tries again (:mod:`analytics.notify.deliveries`). A 4xx is not retried
within the call: the receiver understood and said no (a revoked webhook), and only a
person can fix that — the next run still tries once.

HTTP goes through the standard library (``urllib``), e-mail through ``smtplib``; both
with a timeout, so a receiver that hangs cannot stall the pipeline.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from analytics.notify.channels import Channel
from analytics.notify.messages import Message

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries: attempts, and the exponential wait between them."""

    attempts: int = 3
    first_wait: float = 0.5
    max_wait: float = 4.0
    timeout: float = TIMEOUT_SECONDS


RETRY = RetryPolicy()


@dataclass(frozen=True)
class Attempt:
    """The outcome of sending one message to one channel."""

    status: str  # "sent" | "failed"
    attempts: int
    error: str | None = None


class PermanentFailure(Exception):
    """The receiver refused for good (HTTP 4xx, SMTP 5xx): not retried within the call."""


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, PermanentFailure)


def post_webhook(url: str, payload: dict[str, object], *, timeout: float = TIMEOUT_SECONDS) -> None:
    """POST ``payload`` as JSON; any non-2xx answer raises (5xx retryable, 4xx :class:`PermanentFailure`)."""
    body = json.dumps(payload).encode("utf-8")
    url, authorization = _credentials_as_header(url)
    headers = {"Content-Type": "application/json", "User-Agent": "BrandLens"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's URL
            response.read()
    except urllib.error.HTTPError as exc:
        message = f"HTTP {exc.code} {exc.reason}"
        if 400 <= exc.code < 500 and exc.code != 429:
            raise PermanentFailure(message) from None
        raise ConnectionError(message) from None
    except urllib.error.URLError as exc:
        raise ConnectionError(str(exc.reason)) from None


def _credentials_as_header(url: str) -> tuple[str, str | None]:
    """A ``user:password@`` in a webhook URL as HTTP Basic authentication (urllib would take it for the host).

    Examples
    --------
    >>> _credentials_as_header("https://ops:s%40cret@hooks.example.com:8443/T/B")
    ('https://hooks.example.com:8443/T/B', 'Basic b3BzOnNAY3JldA==')
    >>> _credentials_as_header("https://hooks.example.com/T/B")
    ('https://hooks.example.com/T/B', None)
    """
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=hostport)), f"Basic {token}"


def build_email(message: Message, *, sender: str, to: str) -> EmailMessage:
    """A multipart e-mail: plain text and HTML alternatives, attachments after them."""
    mail = EmailMessage()
    mail["Subject"] = message.subject.replace("\n", " ")
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(domain="brandlens.local")
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    for name, mime, data in message.attachments:
        main, _, sub = mime.partition("/")
        mail.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return mail


def send_email(channel: Channel, message: Message, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Send over the channel's SMTP server (STARTTLS and login when configured)."""
    opts = channel.options
    password = None
    if opts.get("password_env"):
        password = os.environ.get(str(opts["password_env"]))
        if password is None:
            raise PermanentFailure(f"environment variable {opts['password_env']} (the SMTP password) is not set")
    sender = str(opts.get("sender") or opts.get("smtp_user") or f"brandlens@{socket.getfqdn() or 'localhost'}")
    if "@" not in sender:
        sender = f"{sender}@localhost"
    mail = build_email(message, sender=sender, to=channel.target)
    try:
        with smtplib.SMTP(str(opts["smtp_host"]), int(opts.get("smtp_port") or 25), timeout=timeout) as smtp:
            if opts.get("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if opts.get("smtp_user") and password is not None:
                smtp.login(str(opts["smtp_user"]), password)
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        text = f"SMTP {exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(text) from None
        raise ConnectionError(text) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure(f"recipient refused: {exc.recipients}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from None


def send(channel: Channel, message: Message, *, policy: RetryPolicy = RETRY) -> Attempt:
    """Send ``message`` to ``channel``, retrying transient failures; never raises for a delivery problem."""
    tries = [0]

    def once() -> None:
        tries[0] += 1
        if channel.kind == "webhook":
            post_webhook(channel.target, message.slack, timeout=policy.timeout)
        else:
            send_email(channel, message, timeout=policy.timeout)

    retrying = Retrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait),
        reraise=True,
    )
    try:
        retrying(once)
    except (PermanentFailure, ConnectionError, TimeoutError, OSError, RetryError) as exc:
        return Attempt("failed", tries[0], str(exc) or type(exc).__name__)
    return Attempt("sent", tries[0])
