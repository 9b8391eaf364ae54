"""The receiver's published PAYLOAD_SCHEMA and `parse_payload` agree: Alertmanager's
notification passes both, and every missing or mistyped field fails both."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest

from receiver.api import PAYLOAD_SCHEMA
from receiver.payload import PayloadError, parse_payload
from tests.unit.test_receiver_payload import alertmanager_payload

REFERENCE = jsonschema_rs.validator_for(PAYLOAD_SCHEMA)
TOP = [name for name in PAYLOAD_SCHEMA["required"]]
ALERT = [name for name in PAYLOAD_SCHEMA["properties"]["alerts"]["items"]["required"]]


def parses(payload: dict[str, Any]) -> bool:
    try:
        parse_payload(payload)
    except PayloadError:
        return False
    return True


def test_alertmanagers_notification_is_valid_for_both() -> None:
    payload = alertmanager_payload()
    assert REFERENCE.is_valid(payload) and parses(payload)


@pytest.mark.parametrize("name", TOP + [f"alerts[0].{n}" for n in ALERT])
@pytest.mark.parametrize("change", ["remove", "mistype"])
def test_a_missing_or_mistyped_field_fails_both(name: str, change: str) -> None:
    payload = copy.deepcopy(alertmanager_payload())
    target = payload["alerts"][0] if name.startswith("alerts[0].") else payload
    key = name.removeprefix("alerts[0].")
    if change == "remove":
        del target[key]
    else:
        target[key] = 7
    assert not REFERENCE.is_valid(payload)
    assert not parses(payload)


@pytest.mark.parametrize(
    ("key", "value"), [("version", "3"), ("truncatedAlerts", -1), ("status", "pending")]
)
def test_a_bad_value_fails_both(key: str, value: object) -> None:
    payload = alertmanager_payload() | {key: value}
    assert not REFERENCE.is_valid(payload)
    assert not parses(payload)
