"""Alerts and digests that reach people: channels, messages, sending with retries, deliveries.

- :mod:`.channels` — a workspace's webhooks and e-mail addresses (no secrets stored);
- :mod:`.messages` — what an alert or a digest says, as Slack JSON, plain text and HTML;
- :mod:`.send` — one message to one channel, retried with backoff;
- :mod:`.deliveries` — every attempt recorded; what is still owed, sent on the next run.
"""
