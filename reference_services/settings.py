"""Typed, frozen settings of a reference service, validated once when built.

`ServiceSettings.build(service, **overrides)` checks every field and raises
`SettingsError` naming the field, the bad value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DEFAULT_DATA_DIR", "ServiceSettings", "SettingsError"]

DEFAULT_DATA_DIR = Path("var")
_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class SettingsError(ValueError):
    """A setting is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """How one service runs. Durations in seconds, sizes in entries or connections."""

    service: str
    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    redis_url: str | None = None
    pool_min: int = 5
    pool_max: int = 20
    pool_timeout_s: float = 5.0
    command_timeout_s: float = 5.0
    """Longest wait for one statement (asyncpg command_timeout; SQLite busy timeout)."""
    connect_timeout_s: float = 5.0
    """Longest wait to open a database connection (PostgreSQL; 2 s proved too short for
    20 connections opened at once on a loaded 2-core machine)."""
    cache_ttl_s: float = 3600.0
    l1_max_entries: int = 50_000
    shutdown_timeout_s: float = 10.0
    listen_backlog: int = 4096
    """Pending connections the kernel queues before accept (capped by net.core.somaxconn).
    A spawn burst of thousands of users overflows a short queue: dropped SYNs are retried
    after 1 s, 3 s, 7 s, which shows up as seconds of latency on an idle service."""
    social_url: str = "http://127.0.0.1:8103"
    social_timeout_s: float = 2.0
    social_max_connections: int = 100
    rate_limit_per_s: float = 50.0
    rate_limit_burst: float = 100.0
    defer_s: float = 60.0
    ai_max_batch: int = 32
    ai_max_wait_s: float = 0.005

    @classmethod
    def build(cls, service: str, **overrides: Any) -> ServiceSettings:
        """Settings for `service` with `overrides` (None values keep the default)."""
        known = {f.name for f in fields(cls)}
        for name in overrides:
            if name not in known:
                raise SettingsError(f"unknown setting {name!r} (expected one of: {sorted(known)})")
        values = {k: v for k, v in overrides.items() if v is not None}
        settings = cls(service=service, **values)
        if not settings.database_url:
            default = DEFAULT_DATA_DIR / f"{service}.sqlite3"
            settings = replace(settings, database_url=f"sqlite+aiosqlite:///{default}")
        settings.validate()
        return settings

    @property
    def db_give_up_s(self) -> float:
        """Longest a request waits on a database that answers nothing before its 503:
        the pool's pre-ping of a pooled connection (one statement), then one new
        connection. 10 s by default (docs/services.md)."""
        return self.command_timeout_s + self.connect_timeout_s

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def validate(self) -> None:
        """Raise SettingsError for the first invalid field."""
        scheme = self.database_url.split("://", 1)[0]
        if scheme not in _DATABASE_SCHEMES:
            raise SettingsError(
                f"database_url: expected a URL starting with {' or '.join(_DATABASE_SCHEMES)}://, "
                f"got {self.database_url!r}"
            )
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in (
            "redis",
            "rediss",
        ):
            raise SettingsError(f"redis_url: expected redis://host:port/db, got {self.redis_url!r}")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: expected 0..65535, got {self.port!r}")
        if not 1 <= self.pool_min <= self.pool_max:
            raise SettingsError(
                f"pool_min/pool_max: expected 1 <= pool_min <= pool_max, "
                f"got {self.pool_min!r}/{self.pool_max!r}"
            )
        for name in (
            "pool_timeout_s",
            "command_timeout_s",
            "connect_timeout_s",
            "cache_ttl_s",
            "shutdown_timeout_s",
            "social_timeout_s",
            "rate_limit_per_s",
            "rate_limit_burst",
            "defer_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise SettingsError(f"{name}: expected a number > 0, got {value!r}")
        if self.ai_max_wait_s < 0:
            raise SettingsError(f"ai_max_wait_s: expected >= 0, got {self.ai_max_wait_s!r}")
        for name in ("l1_max_entries", "social_max_connections", "ai_max_batch", "listen_backlog"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name}: expected a whole number >= 1, got {value!r}")
