"""livehub.alerts and the hub state's receiver: firing alerts into the message, a receiver
that does not answer marked down with its last known alerts kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector.sla import default_sla
from livehub.alerts import FiringAlert, parse_firing, receiver_alerts_url
from livehub.message import TargetState, to_dict
from livehub.state import HubState

TARGET = "http://127.0.0.1:9001"
RECEIVER = "http://127.0.0.1:8104"


def event(name: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    """An event as the receiver's GET /alerts shows it (receiver.storage.StoredEvent)."""
    return {
        "fingerprint": f"fp-{name}",
        "status": status,
        "startsAt": labels.pop("starts", "2026-12-01T10:00:00+00:00"),
        "endsAt": None,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": "s"},
        "generatorURL": "http://prometheus/graph",
        "eventKey": "k",
        "receivedAt": "2026-12-01T10:00:01+00:00",
    }


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"alerts": list(events)}).encode()


def test_firing_alerts_keep_name_severity_service_and_start_most_severe_first() -> None:
    alerts = parse_firing(
        body(
            event("CourseErrorBudgetTicket", severity="ticket", service="course"),
            event("CourseResolved", status="resolved", severity="page", service="course"),
            event(
                "SocialLatencyBurn",
                severity="page",
                service="social",
                starts="2026-12-01T10:05:00Z",
            ),
            event("TargetDown", severity="page", service="campaign"),
            event("Unlabelled"),
        )
    )
    since = 1_796_119_200.0  # 2026-12-01T10:00:00Z
    assert alerts == (
        FiringAlert("TargetDown", "page", "campaign", since),
        FiringAlert("SocialLatencyBurn", "page", "social", since + 300),
        FiringAlert("CourseErrorBudgetTicket", "ticket", "course", since),
        FiringAlert("Unlabelled", None, None, since),
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"<html>", "Expecting value"),
        (b"[]", '"alerts" list'),
        (body({"status": "firing", "labels": {}}), "alerts[0].labels"),
        (body({**event("A"), "startsAt": "yesterday"}), "alerts[0].startsAt"),
        (body({**event("A"), "startsAt": "2026-12-01T10:00:00"}), "UTC offset"),
    ],
)
def test_a_body_that_is_not_an_alert_list_says_what_is_wrong(raw: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_firing(raw)
    assert says in str(caught.value)


def test_the_receiver_url_is_its_base_url_with_the_firing_query() -> None:
    assert receiver_alerts_url(RECEIVER + "/") == RECEIVER + "/alerts?status=firing"
    with pytest.raises(ValueError, match="receiver: expected an http"):
        receiver_alerts_url("127.0.0.1:8104")


def test_without_a_receiver_the_message_has_no_alerts() -> None:
    state = HubState([TARGET], default_sla())
    assert to_dict(state.tick(1.0))["alerts"] is None
    with pytest.raises(KeyError, match="no receiver"):
        state.observe_alerts(body(), 1.0)


def test_the_receivers_alerts_reach_the_message_and_survive_it_going_down() -> None:
    state = HubState([TARGET], default_sla(), receiver=RECEIVER)
    pending = to_dict(state.tick(1.0))["alerts"]
    assert pending == {
        "receiver": RECEIVER,
        "state": "pending",
        "reason": None,
        "last_ok_s": None,
        "firing": [],
    }
    state.observe_alerts(body(event("TargetDown", severity="page", service="course")), 2.0)
    up = to_dict(state.tick(2.0))["alerts"]
    assert up["state"] == "up" and up["last_ok_s"] == 2.0
    assert up["firing"] == [
        {"name": "TargetDown", "severity": "page", "service": "course", "since_s": 1_796_119_200.0}
    ]
    state.fail_alerts("no answer within 0.5 s")
    down = to_dict(state.tick(3.0))["alerts"]
    assert (down["state"], down["reason"]) == ("down", "no answer within 0.5 s")
    assert down["firing"] == up["firing"] and down["last_ok_s"] == 2.0
    state.observe_alerts(b"{}", 4.0)
    refused = to_dict(state.tick(4.0))["alerts"]
    assert refused["state"] == TargetState.DOWN.value
    assert refused["reason"].startswith("not an alert list")
    state.observe_alerts(body(), 6.0)
    assert to_dict(state.tick(6.0))["alerts"]["firing"] == []
