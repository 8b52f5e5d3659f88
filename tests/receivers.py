"""Real local receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver.

Both listen on 127.0.0.1 on a free port and keep what they received; the HTTP one can be
told to answer 503 (a receiver that is down for a while) or to refuse connections
(stopped).
"""

from __future__ import annotations

import email
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from email.message import Message

from browser_helpers import free_port


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records each POSTed JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.authorizations: list[str | None] = []  # each POST's Authorization header
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.authorizations.append(self.headers.get("Authorization"))
                if receiver.status == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status == 200 else b"down")

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/T000/B000"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001 - aiosmtpd's API
                receiver.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def parts(message: Message) -> dict[str, str | bytes]:
    """A message's text and HTML bodies and attachments by content type (attachments as bytes)."""
    out: dict[str, str | bytes] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        out[kind] = payload if part.get_filename() else payload.decode(part.get_content_charset() or "utf-8")
    return out
