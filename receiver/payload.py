"""The Alertmanager webhook payload (version 4) as typed values, validated once.

    payload = parse_payload(json.loads(body))     # PayloadError names the field path

No I/O and no clock: parsing a payload of n alerts costs O(n) dictionary lookups and one
`datetime.fromisoformat` per timestamp (~1 us each). Alertmanager's timestamps carry
nanoseconds (`2024-05-01T10:00:00.123456789Z`); they are kept to the microsecond, which is
all `datetime` holds, and normalized to UTC. The zero time `0001-01-01T00:00:00Z` (a
firing alert without an end) becomes None.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "MAX_KEY_CHARS",
    "PAYLOAD_VERSION",
    "Alert",
    "AlertStatus",
    "PayloadError",
    "WebhookPayload",
    "parse_payload",
    "parse_timestamp",
]

PAYLOAD_VERSION = "4"
MAX_KEY_CHARS = 200
"""Fingerprints and label names longer than this are refused (they are indexed)."""
_FRACTION = re.compile(r"(\.\d{6})\d+")


class AlertStatus(enum.StrEnum):
    """An alert's (or a group's) state as Alertmanager reports it."""

    FIRING = "firing"
    RESOLVED = "resolved"


class PayloadError(ValueError):
    """The payload is invalid at `path` (like `alerts[3].startsAt`): `expected`, got `got`."""

    def __init__(self, path: str, expected: str, got: object) -> None:
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{path}: expected {expected}, got {shown}")
        self.path = path
        self.expected = expected
        self.got = shown


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert of a notification; (fingerprint, starts_at, status) identifies the event."""

    status: AlertStatus
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class WebhookPayload:
    """One Alertmanager notification: a group of alerts and what they have in common."""

    version: str
    group_key: str
    truncated_alerts: int
    status: AlertStatus
    receiver: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    alerts: tuple[Alert, ...]


def parse_timestamp(value: object, path: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; None for Go's zero time."""
    if not isinstance(value, str):
        raise PayloadError(path, "an RFC 3339 timestamp string", value)
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        raise PayloadError(path, "an RFC 3339 timestamp like 2024-05-01T10:00:00Z", value) from None
    if parsed.tzinfo is None:
        raise PayloadError(path, "a timestamp with a time zone (Z or +hh:mm)", value)
    if parsed.year == 1:
        return None
    return parsed.astimezone(UTC)


def _object(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    if key not in data:
        raise PayloadError(f"{path}{key}", "an object (the field is required)", None)
    value = data[key]
    if not isinstance(value, dict):
        raise PayloadError(f"{path}{key}", "an object", value)
    return value


def _string(data: Mapping[str, Any], key: str, path: str, *, non_empty: bool = False) -> str:
    if key not in data:
        raise PayloadError(f"{path}{key}", "a string (the field is required)", None)
    value = data[key]
    if not isinstance(value, str) or (non_empty and not value):
        raise PayloadError(f"{path}{key}", "a non-empty string" if non_empty else "a string", value)
    return value


def _labels(data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
    raw = _object(data, key, path)
    for name, value in raw.items():
        if not isinstance(value, str):
            raise PayloadError(f"{path}{key}.{name}", "a string value", value)
        if len(name) > MAX_KEY_CHARS:
            expected = f"names of at most {MAX_KEY_CHARS} characters"
            raise PayloadError(f"{path}{key}", expected, name)
    return dict(raw)


def _status(data: Mapping[str, Any], path: str) -> AlertStatus:
    value = data.get("status")
    try:
        return AlertStatus(str(value))
    except ValueError:
        raise PayloadError(f"{path}status", "'firing' or 'resolved'", value) from None


def _alert(data: object, index: int) -> Alert:
    path = f"alerts[{index}]."
    if not isinstance(data, dict):
        raise PayloadError(f"alerts[{index}]", "an object", data)
    fingerprint = _string(data, "fingerprint", path, non_empty=True)
    if len(fingerprint) > MAX_KEY_CHARS:
        expected = f"at most {MAX_KEY_CHARS} characters"
        raise PayloadError(f"{path}fingerprint", expected, fingerprint)
    starts_at = parse_timestamp(data.get("startsAt"), f"{path}startsAt")
    if starts_at is None:
        raise PayloadError(f"{path}startsAt", "a real start time, not the zero time", "0001-01-01")
    return Alert(
        status=_status(data, path),
        labels=_labels(data, "labels", path),
        annotations=_labels(data, "annotations", path),
        starts_at=starts_at,
        ends_at=parse_timestamp(data.get("endsAt"), f"{path}endsAt"),
        generator_url=_string(data, "generatorURL", path),
        fingerprint=fingerprint,
    )


def parse_payload(data: object) -> WebhookPayload:
    """Validate a decoded JSON body; raises PayloadError at the first bad field.

    Every field of version 4 is required except `truncatedAlerts` (older Alertmanagers
    omit it; 0 then). Unknown fields are ignored, as Alertmanager may add some.
    """
    if not isinstance(data, dict):
        raise PayloadError("body", "a JSON object", data)
    version = _string(data, "version", "")
    if version != PAYLOAD_VERSION:
        raise PayloadError("version", f"{PAYLOAD_VERSION!r}", version)
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("truncatedAlerts", "a whole number >= 0", truncated)
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", "a list of alerts", alerts)
    return WebhookPayload(
        version=version,
        group_key=_string(data, "groupKey", ""),
        truncated_alerts=truncated,
        status=_status(data, ""),
        receiver=_string(data, "receiver", ""),
        group_labels=_labels(data, "groupLabels", ""),
        common_labels=_labels(data, "commonLabels", ""),
        common_annotations=_labels(data, "commonAnnotations", ""),
        external_url=_string(data, "externalURL", ""),
        alerts=tuple(_alert(alert, index) for index, alert in enumerate(alerts)),
    )
