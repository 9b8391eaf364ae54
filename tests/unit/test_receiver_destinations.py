"""The forwarding file: a valid one loads; every mistake names file, field, value and
what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.backoff import BackoffPolicy
from receiver.destinations import (
    DestinationKind,
    ForwardConfig,
    ForwardConfigError,
    load_forward_config,
    parse_forward_config,
)

VALID = """
destinations:
  - name: team-chat
    kind: slack
    url: https://hooks.slack.com/services/T000/B000/XXXX
  - name: incidents
    kind: webhook
    url: http://127.0.0.1:9000/alerts
    headers: {Authorization: "Bearer abc"}
delivery:
  timeout: 2s
  max_attempts: 4
  backoff_base: 500ms
  backoff_max: 1m
  jitter: 0.25
"""


def test_a_valid_file_loads_every_field(tmp_path: Path) -> None:
    path = tmp_path / "forward.yaml"
    path.write_text(VALID)
    config = load_forward_config(path)
    chat, incidents = config.destinations
    assert (chat.name, chat.kind) == ("team-chat", DestinationKind.SLACK)
    assert incidents.headers == {"Authorization": "Bearer abc"}
    assert config.timeout_s == 2.0
    assert config.backoff == BackoffPolicy(base_s=0.5, max_s=60.0, jitter=0.25, max_attempts=4)


def test_an_empty_file_forwards_nowhere() -> None:
    assert parse_forward_config("") == ForwardConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destinations: {}", "f.yaml: destinations: expected a list of destinations, got {}"),
        (
            "destinations: [{name: Chat, kind: slack, url: 'http://x'}]",
            "f.yaml: destinations[0].name: expected a name of [a-z0-9_-], 1 to 64 characters,"
            " got 'Chat'",
        ),
        (
            "destinations: [{name: chat, kind: email, url: 'http://x'}]",
            "f.yaml: destinations[0].kind: expected 'slack' or 'webhook', got 'email'",
        ),
        (
            "destinations: [{name: chat, kind: slack, url: 'ftp://x'}]",
            "f.yaml: destinations[0].url: expected an http:// or https:// URL, got 'ftp://x'",
        ),
        (
            "destinations: [{name: chat, kind: slack, url: 'http://x', token: 1}]",
            "f.yaml: destinations[0].token: expected one of the keys name, kind, url, headers,"
            " got 'token'",
        ),
        (
            "destinations: [{name: a, kind: slack, url: 'http://x'},"
            " {name: a, kind: webhook, url: 'http://y'}]",
            "f.yaml: destinations[1].name: expected a name used once, got 'a'",
        ),
        (
            "delivery: {max_attempts: 0}",
            "f.yaml: delivery.max_attempts: expected a whole number 1..100, got 0",
        ),
        (
            "delivery: {timeout: fast}",
            "f.yaml: delivery.timeout: expected a duration like '200ms', '1s' or '30d', got 'fast'",
        ),
        (
            "delivery: {backoff_base: 10s, backoff_max: 1s}",
            "f.yaml: delivery.backoff_max: expected at least backoff_base (10.0 s), got 1.0",
        ),
        ("retries: 3", "f.yaml: retries: expected one of the keys destinations, delivery"),
        ("destinations: [", "f.yaml: not valid YAML"),
    ],
)
def test_a_mistake_is_reported_precisely(text: str, message: str) -> None:
    with pytest.raises(ForwardConfigError) as caught:
        parse_forward_config(text, "f.yaml")
    assert str(caught.value).startswith(message)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ForwardConfigError, match=r"nope.yaml: cannot be read"):
        load_forward_config(tmp_path / "nope.yaml")
