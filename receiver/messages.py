"""What a destination receives for one alert event; pure, one small dict per call.

Slack-compatible incoming webhooks get `{"text": ...}`: status, alert name, service,
severity, summary and runbook on a few lines. Generic webhooks get the event itself as
JSON, with the same idempotency key that travels in the `Idempotency-Key` header.
"""

from __future__ import annotations

from typing import Any

from collector import conventions as names
from receiver.destinations import DestinationKind
from receiver.payload import Alert, AlertStatus

__all__ = ["render_message"]

_ICONS = {AlertStatus.FIRING: ":rotating_light:", AlertStatus.RESOLVED: ":white_check_mark:"}


def _slack_text(alert: Alert) -> str:
    labels, annotations = alert.labels, alert.annotations
    name = labels.get("alertname", alert.fingerprint)
    context = ", ".join(
        f"{key}={labels[key]}" for key in (names.LABEL_SERVICE, "severity") if key in labels
    )
    head = f"{_ICONS[alert.status]} [{alert.status.value.upper()}] {name}"
    lines = [f"{head} ({context})" if context else head]
    for key in ("summary", "description"):
        if annotations.get(key):
            lines.append(annotations[key])
    if annotations.get("runbook_url"):
        lines.append(f"Runbook: {annotations['runbook_url']}")
    return "\n".join(lines)


def _event_json(alert: Alert, key: str) -> dict[str, Any]:
    return {
        "idempotencyKey": key,
        "fingerprint": alert.fingerprint,
        "status": alert.status.value,
        "startsAt": alert.starts_at.isoformat(),
        "endsAt": alert.ends_at.isoformat() if alert.ends_at is not None else None,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generatorURL": alert.generator_url,
    }


def render_message(kind: DestinationKind, alert: Alert, key: str) -> dict[str, Any]:
    """The JSON body for a destination of `kind`; `key` is the delivery's idempotency key."""
    if kind is DestinationKind.SLACK:
        return {"text": _slack_text(alert)}
    return _event_json(alert, key)
