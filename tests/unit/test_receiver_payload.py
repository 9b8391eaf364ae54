"""The webhook payload model: what Alertmanager sends parses, and every bad field is named
by its path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from receiver.payload import AlertStatus, PayloadError, parse_payload, parse_timestamp


def alertmanager_payload() -> dict[str, Any]:
    """A notification as Alertmanager 0.25 writes it (nanosecond timestamps included)."""
    return {
        "receiver": "loadwatch",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CourseErrorBudgetBurn", "service": "course"},
                "annotations": {"summary": "burning", "runbook_url": "docs/runbooks.md#burn"},
                "startsAt": "2024-05-01T10:00:00.123456789+02:00",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
                "fingerprint": "1a30ba71cca2921f",
            },
            {
                "status": "resolved",
                "labels": {"alertname": "ScrapeTargetDown", "service": "campaign"},
                "annotations": {},
                "startsAt": "2024-05-01T07:00:00Z",
                "endsAt": "2024-05-01T08:00:00.5Z",
                "generatorURL": "",
                "fingerprint": "bc97ff14869b13e3",
            },
        ],
        "groupLabels": {"alertname": "CourseErrorBudgetBurn"},
        "commonLabels": {"service": "course"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="CourseErrorBudgetBurn"}',
        "truncatedAlerts": 0,
    }


def test_an_alertmanager_notification_parses_into_typed_alerts() -> None:
    payload = parse_payload(alertmanager_payload())
    assert payload.status is AlertStatus.FIRING
    assert payload.group_key == '{}:{alertname="CourseErrorBudgetBurn"}'
    firing, resolved = payload.alerts
    assert firing.starts_at == datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
    assert firing.ends_at is None, "Go's zero time means 'no end yet'"
    assert firing.labels["service"] == "course"
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)


def test_truncated_alerts_may_be_missing_as_older_alertmanagers_omit_it() -> None:
    data = alertmanager_payload()
    del data["truncatedAlerts"]
    assert parse_payload(data).truncated_alerts == 0


def test_unknown_fields_are_ignored() -> None:
    data = alertmanager_payload()
    data["orgId"] = 1
    data["alerts"][0]["silenceURL"] = "http://x"
    assert len(parse_payload(data).alerts) == 2


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(alertmanager_payload())
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "expected"),
    [
        (("version",), "3", "version", "'4'"),
        (("version",), _DELETE, "version", "a string"),
        (("status",), "pending", "status", "'firing' or 'resolved'"),
        (("groupKey",), 7, "groupKey", "a string"),
        (("truncatedAlerts",), -1, "truncatedAlerts", "a whole number >= 0"),
        (("commonLabels",), [], "commonLabels", "an object"),
        (("groupLabels", "alertname"), 5, "groupLabels.alertname", "a string value"),
        (("alerts",), {}, "alerts", "a list of alerts"),
        (("alerts", 1), "x", "alerts[1]", "an object"),
        (("alerts", 1, "fingerprint"), "", "alerts[1].fingerprint", "a non-empty string"),
        (("alerts", 0, "status"), None, "alerts[0].status", "'firing' or 'resolved'"),
        (("alerts", 0, "startsAt"), "yesterday", "alerts[0].startsAt", "an RFC 3339 timestamp"),
        (("alerts", 0, "startsAt"), "2024-05-01T10:00:00", "alerts[0].startsAt", "a time zone"),
        (("alerts", 1, "endsAt"), 12, "alerts[1].endsAt", "an RFC 3339 timestamp string"),
        (("alerts", 1, "labels", "service"), None, "alerts[1].labels.service", "a string value"),
        (("alerts", 0, "annotations"), _DELETE, "alerts[0].annotations", "an object"),
        (("alerts", 0, "generatorURL"), None, "alerts[0].generatorURL", "a string"),
    ],
)
def test_an_invalid_field_is_reported_with_its_path(
    path: tuple[Any, ...], value: Any, field: str, expected: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(_with(path, value))
    assert caught.value.path == field
    assert expected in caught.value.expected
    assert str(caught.value).startswith(f"{field}: expected ")


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"^body: expected a JSON object, got \[\]"):
        parse_payload([])


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_timestamp("x" * 500, "alerts[0].startsAt")
    assert len(caught.value.got) == 80


def test_the_zero_start_time_is_refused() -> None:
    with pytest.raises(PayloadError, match="alerts\\[0\\].startsAt"):
        parse_payload(_with(("alerts", 0, "startsAt"), "0001-01-01T00:00:00Z"))
