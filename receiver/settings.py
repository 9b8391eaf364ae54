"""Typed, frozen settings of the receiver, validated once when built.

`ReceiverSettings.build(token=..., **overrides)` raises ReceiverSettingsError naming the
field, the bad value and what was expected. The token may come from the environment
(`LOADWATCH_RECEIVER_TOKEN`) through `token_from(flag, environ)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PORT",
    "TOKEN_ENV",
    "ReceiverSettings",
    "ReceiverSettingsError",
    "token_from",
]

DEFAULT_PORT = 8104
TOKEN_ENV = "LOADWATCH_RECEIVER_TOKEN"
_DEFAULT_DATABASE = Path("var") / "receiver.sqlite3"
_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
_MIN_TOKEN_CHARS = 16
_MAX_CONNECT_TIMEOUT_S = 5.0


class ReceiverSettingsError(ValueError):
    """A setting is invalid; the message names it, the value and what was expected."""


def token_from(flag: str | None, environ: Mapping[str, str]) -> str:
    """The bearer token: the flag's value, else `LOADWATCH_RECEIVER_TOKEN`."""
    token = flag if flag is not None else environ.get(TOKEN_ENV)
    if not token:
        raise ReceiverSettingsError(f"token: required (pass --token or set {TOKEN_ENV})")
    return token


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    """How the receiver runs. Durations in seconds, sizes in bytes or connections."""

    token: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str = ""
    max_body_bytes: int = 1024 * 1024
    """Largest accepted POST /alerts body (413 above); ~1,000 alerts of Alertmanager's size."""
    pool_min: int = 5
    pool_max: int = 20
    pool_timeout_s: float = 10.0
    command_timeout_s: float = 10.0
    shutdown_timeout_s: float = 10.0
    lease_s: float = 30.0
    """How long a claimed delivery is held; after a crash it is retried once this passes."""
    poll_s: float = 1.0
    """Longest sleep of the forwarder between looks at the outbox."""
    forward_batch: int = 50
    """Deliveries claimed (and sent concurrently) per round."""

    @classmethod
    def build(cls, *, token: str, **overrides: Any) -> ReceiverSettings:
        """Settings with `overrides` (None values keep the default); validated."""
        known = {f.name for f in fields(cls)}
        for name in overrides:
            if name not in known:
                raise ReceiverSettingsError(
                    f"unknown setting {name!r} (expected one of: {sorted(known)})"
                )
        values = {k: v for k, v in overrides.items() if v is not None}
        settings = cls(token=token, **values)
        if not settings.database_url:
            settings = replace(settings, database_url=f"sqlite+aiosqlite:///{_DEFAULT_DATABASE}")
        settings.validate()
        return settings

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def connect_timeout_s(self) -> float:
        """Seconds to wait for a new PostgreSQL connection: the command timeout, at most 5."""
        return min(self.command_timeout_s, _MAX_CONNECT_TIMEOUT_S)

    def validate(self) -> None:
        """Raise ReceiverSettingsError for the first invalid field."""
        if len(self.token) < _MIN_TOKEN_CHARS:
            raise ReceiverSettingsError(
                f"token: expected at least {_MIN_TOKEN_CHARS} characters, "
                f"got {len(self.token)} characters"
            )
        scheme = self.database_url.split("://", 1)[0]
        if scheme not in _DATABASE_SCHEMES:
            raise ReceiverSettingsError(
                f"database_url: expected a URL starting with {' or '.join(_DATABASE_SCHEMES)}://,"
                f" got {self.database_url!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ReceiverSettingsError(f"port: expected 0..65535, got {self.port!r}")
        if not 1 <= self.pool_min <= self.pool_max:
            raise ReceiverSettingsError(
                "pool_min/pool_max: expected 1 <= pool_min <= pool_max, "
                f"got {self.pool_min!r}/{self.pool_max!r}"
            )
        for name in (
            "pool_timeout_s",
            "command_timeout_s",
            "shutdown_timeout_s",
            "lease_s",
            "poll_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise ReceiverSettingsError(f"{name}: expected a number > 0, got {value!r}")
        for name in ("max_body_bytes", "forward_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ReceiverSettingsError(f"{name}: expected a whole number >= 1, got {value!r}")
