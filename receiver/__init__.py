"""The Alertmanager webhook receiver: authenticates, validates, stores each alert event once,
and forwards it through an outbox with retries.

Importing the package is light (the pure payload model only); the service is built by
`receiver.app.make_receiver_app` and run by `loadwatch serve receiver`.
"""

from receiver.payload import Alert, AlertStatus, PayloadError, WebhookPayload, parse_payload

__all__ = ["Alert", "AlertStatus", "PayloadError", "WebhookPayload", "parse_payload"]
