"""Firing alerts from loadwatch's alert receiver, as the hub shows them: parsing, no I/O.

    alerts = parse_firing(body)   # the body of the receiver's GET /alerts?status=firing

The receiver (`receiver/app.py`) answers `{"alerts": [event, ...]}`, the latest event per
alert fingerprint; an event carries `status`, `labels` (`alertname`, `severity`,
`service`), and `startsAt` (ISO 8601). Only firing events are kept, most severe first,
then the longest firing. Cost: O(alerts) per poll, independent of subscribers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["FIRING_QUERY", "FiringAlert", "parse_firing", "receiver_alerts_url"]

FIRING_QUERY = "/alerts?status=firing"
"""The receiver's route and query for the alerts firing now."""

_SEVERITY_RANK = {"page": 0, "critical": 0, "ticket": 1, "warning": 1}
"""loadwatch's severities (alert_rules.slo.Severity) and Alertmanager's usual ones."""


@dataclass(frozen=True, slots=True)
class FiringAlert:
    """One alert firing now: its rule name, labels that place it, and since when (Unix s)."""

    name: str
    severity: str | None
    service: str | None
    since_s: float


def receiver_alerts_url(receiver: str) -> str:
    """The URL the hub polls, from the receiver's base URL (`http://127.0.0.1:8104`)."""
    if not receiver.startswith(("http://", "https://")) or not receiver.split("://", 1)[1]:
        raise ValueError(f"receiver: expected an http:// or https:// URL, got {receiver!r}")
    return receiver.rstrip("/") + FIRING_QUERY


def parse_firing(body: bytes) -> tuple[FiringAlert, ...]:
    """The firing alerts of a GET /alerts body; ValueError (saying what) if it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise ValueError('expected a JSON object with an "alerts" list')
    found = [_firing(event, i) for i, event in enumerate(data["alerts"])]
    alerts = [alert for alert in found if alert is not None]
    alerts.sort(key=lambda a: (_SEVERITY_RANK.get(a.severity or "", 2), a.since_s, a.name))
    return tuple(alerts)


def _firing(event: Any, index: int) -> FiringAlert | None:
    where = f"alerts[{index}]"
    if not isinstance(event, dict):
        raise ValueError(f"{where}: expected an object, got {type(event).__name__}")
    if event.get("status") != "firing":
        return None
    labels = event.get("labels")
    if not isinstance(labels, dict) or not isinstance(labels.get("alertname"), str):
        raise ValueError(f"{where}.labels: expected an object with an alertname")
    starts_at = event.get("startsAt")
    if not isinstance(starts_at, str):
        raise ValueError(f"{where}.startsAt: expected an ISO 8601 string, got {starts_at!r}")
    try:
        since = datetime.fromisoformat(starts_at.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{where}.startsAt: expected an ISO 8601 time, got {starts_at!r}"
        ) from None
    if since.tzinfo is None:
        raise ValueError(
            f"{where}.startsAt: expected a time with its UTC offset, got {starts_at!r}"
        )
    severity, service = labels.get("severity"), labels.get("service")
    return FiringAlert(
        name=labels["alertname"],
        severity=severity if isinstance(severity, str) else None,
        service=service if isinstance(service, str) else None,
        since_s=since.timestamp(),
    )
