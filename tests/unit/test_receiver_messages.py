"""What destinations receive, and the bearer-token check."""

from __future__ import annotations

from datetime import UTC, datetime

from receiver.auth import bearer_matches
from receiver.destinations import DestinationKind
from receiver.messages import render_message
from receiver.payload import Alert, AlertStatus

ALERT = Alert(
    AlertStatus.FIRING,
    {"alertname": "CourseLatencyBurn", "service": "course", "severity": "page"},
    {"summary": "p95 over 200 ms", "runbook_url": "docs/runbooks.md#courselatencyburn"},
    datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
    None,
    "http://127.0.0.1:9090/graph",
    "1a30ba71cca2921f",
)


def test_slack_gets_one_text_with_status_name_context_summary_and_runbook() -> None:
    message = render_message(DestinationKind.SLACK, ALERT, "k")
    assert list(message) == ["text"]
    assert message["text"].splitlines() == [
        ":rotating_light: [FIRING] CourseLatencyBurn (service=course, severity=page)",
        "p95 over 200 ms",
        "Runbook: docs/runbooks.md#courselatencyburn",
    ]


def test_a_webhook_gets_the_event_with_its_idempotency_key() -> None:
    message = render_message(DestinationKind.WEBHOOK, ALERT, "key-1")
    assert message["idempotencyKey"] == "key-1"
    assert message["startsAt"] == "2024-05-01T08:00:00+00:00"
    assert message["endsAt"] is None
    assert message["labels"]["severity"] == "page"


def test_only_the_exact_token_after_bearer_is_accepted() -> None:
    token = "s3cret-token-of-some-length"
    assert bearer_matches(f"Bearer {token}", token)
    assert bearer_matches(f"bearer {token}", token)
    assert not bearer_matches(None, token)
    assert not bearer_matches(token, token)
    assert not bearer_matches(f"Basic {token}", token)
    assert not bearer_matches(f"Bearer {token}x", token)
    assert not bearer_matches("Bearer ", token)
