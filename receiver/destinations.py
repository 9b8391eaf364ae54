"""Where the receiver forwards alert events: a small YAML file, validated once at start.

    destinations:
      - name: team-chat                 # unique; [a-z0-9_-], at most 64 characters
        kind: slack                     # slack (incoming webhook) or webhook (JSON)
        url: https://hooks.slack.com/services/T000/B000/XXXX
      - name: incidents
        kind: webhook
        url: http://127.0.0.1:9000/alerts
        headers: {Authorization: "Bearer abc"}
    delivery:                           # optional; these are the defaults
      timeout: 10s                      # one HTTP attempt
      max_attempts: 8                   # then the delivery is dead-lettered
      backoff_base: 1s                  # delay after the first failure, doubled each time
      backoff_max: 5m
      jitter: 0.5                       # each delay is scaled by a random 0.5..1

`parse_forward_config(text, source)` is pure; `load_forward_config(path)` reads the file.
Every error is a ForwardConfigError naming the file, the field path, the bad value and
what was expected.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from collector.units import UnitError, parse_duration
from receiver.backoff import BackoffPolicy

__all__ = [
    "Destination",
    "DestinationKind",
    "ForwardConfig",
    "ForwardConfigError",
    "load_forward_config",
    "parse_forward_config",
]

_DEFAULT_TIMEOUT_S = 10.0
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ForwardConfigError(ValueError):
    """The forwarding configuration is unreadable or invalid; the message says where."""

    def __init__(self, source: str, path: str, message: str) -> None:
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")
        self.source = source
        self.path = path


class DestinationKind(enum.StrEnum):
    """How a destination wants its message: Slack's `{"text": ...}` or the event as JSON."""

    SLACK = "slack"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Destination:
    """One place alert events are forwarded to; `headers` are sent with every attempt."""

    name: str
    kind: DestinationKind
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    """Destinations (possibly none), the per-attempt timeout in seconds and the retry policy."""

    destinations: tuple[Destination, ...] = ()
    timeout_s: float = _DEFAULT_TIMEOUT_S
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)

    def by_name(self) -> dict[str, Destination]:
        """Destinations keyed by name."""
        return {d.name: d for d in self.destinations}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, expected: str, value: object) -> ForwardConfigError:
        return ForwardConfigError(self.source, path, f"expected {expected}, got {value!r}")

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "a mapping", value)
        return value

    def known(self, data: Mapping[str, Any], path: str, keys: tuple[str, ...]) -> None:
        for key in data:
            if key not in keys:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, f"one of the keys {', '.join(keys)}", key)

    def destination(self, value: object, path: str) -> Destination:
        data = self.mapping(value, path)
        self.known(data, path, ("name", "kind", "url", "headers"))
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(f"{path}.name", "a name of [a-z0-9_-], 1 to 64 characters", name)
        kind = data.get("kind")
        try:
            chosen = DestinationKind(str(kind))
        except ValueError:
            raise self.fail(f"{path}.kind", "'slack' or 'webhook'", kind) from None
        url = data.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(f"{path}.url", "an http:// or https:// URL", url)
        headers = data.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise self.fail(f"{path}.headers", "a mapping of header names to strings", headers)
        return Destination(name, chosen, str(url), dict(headers))

    def seconds(self, data: Mapping[str, Any], key: str, default: float) -> float:
        if key not in data:
            return default
        try:
            return parse_duration(data[key])
        except UnitError as exc:
            raise ForwardConfigError(self.source, f"delivery.{key}", str(exc)) from None

    def delivery(self, value: object) -> tuple[float, BackoffPolicy]:
        data = self.mapping(value, "delivery")
        keys = ("timeout", "max_attempts", "backoff_base", "backoff_max", "jitter")
        self.known(data, "delivery", keys)
        defaults = BackoffPolicy()
        attempts = data.get("max_attempts", defaults.max_attempts)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
            raise self.fail("delivery.max_attempts", "a whole number 1..100", attempts)
        jitter = data.get("jitter", defaults.jitter)
        if not isinstance(jitter, int | float) or isinstance(jitter, bool) or not 0 <= jitter <= 1:
            raise self.fail("delivery.jitter", "a fraction 0..1", jitter)
        base_s = self.seconds(data, "backoff_base", defaults.base_s)
        max_s = self.seconds(data, "backoff_max", defaults.max_s)
        if max_s < base_s:
            raise self.fail("delivery.backoff_max", f"at least backoff_base ({base_s} s)", max_s)
        policy = BackoffPolicy(
            base_s=base_s, max_s=max_s, jitter=float(jitter), max_attempts=attempts
        )
        return self.seconds(data, "timeout", _DEFAULT_TIMEOUT_S), policy

    def config(self, data: object) -> ForwardConfig:
        if data is None:
            return ForwardConfig()
        root = self.mapping(data, "")
        self.known(root, "", ("destinations", "delivery"))
        raw = root.get("destinations", [])
        if not isinstance(raw, list):
            raise self.fail("destinations", "a list of destinations", raw)
        destinations = tuple(self.destination(d, f"destinations[{i}]") for i, d in enumerate(raw))
        seen: set[str] = set()
        for index, destination in enumerate(destinations):
            if destination.name in seen:
                raise self.fail(f"destinations[{index}].name", "a name used once", destination.name)
            seen.add(destination.name)
        timeout_s, policy = self.delivery(root.get("delivery", {}))
        return ForwardConfig(destinations, timeout_s, policy)


def parse_forward_config(text: str, source: str = "<forward config>") -> ForwardConfig:
    """The configuration in YAML `text`; `source` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ForwardConfigError(source, "", f"not valid YAML: {exc}") from None
    return _Parser(source).config(data)


def load_forward_config(path: Path) -> ForwardConfig:
    """The configuration in the file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ForwardConfigError(str(path), "", f"cannot be read: {exc.strerror}") from None
    return parse_forward_config(text, str(path))
