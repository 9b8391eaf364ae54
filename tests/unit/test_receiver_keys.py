"""Idempotency keys: equal for the same alert event however it is written, different when
the event differs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from receiver.keys import delivery_key, event_key
from receiver.payload import Alert, AlertStatus, parse_timestamp

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
ALERT = Alert(AlertStatus.FIRING, {"alertname": "X"}, {}, START, None, "", "1a30ba71cca2921f")


def test_the_same_event_has_the_same_key_in_any_time_zone_and_with_other_annotations() -> None:
    paris = START.astimezone(timezone(timedelta(hours=2)))
    other = replace(ALERT, starts_at=paris, annotations={"summary": "now 3 %"})
    assert event_key(other) == event_key(ALERT)
    assert parse_timestamp("2024-05-01T10:00:00.000000999+02:00", "t") == START


def test_status_start_and_fingerprint_each_make_a_new_event() -> None:
    keys = {
        event_key(ALERT),
        event_key(replace(ALERT, status=AlertStatus.RESOLVED)),
        event_key(replace(ALERT, starts_at=START + timedelta(microseconds=1))),
        event_key(replace(ALERT, fingerprint="1a30ba71cca2921e")),
    }
    assert len(keys) == 4
    assert all(len(key) == 64 for key in keys)


def test_each_destination_gets_its_own_delivery_key() -> None:
    key = event_key(ALERT)
    assert delivery_key(key, "chat") != delivery_key(key, "pager")
    assert delivery_key(key, "chat") == delivery_key(key, "chat")
