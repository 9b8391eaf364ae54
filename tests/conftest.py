"""Shared test helpers: one timeout unit, and how a missing real component is handled.

Outside CI a test that needs an absent component (promtool, wrk, PostgreSQL, ...) is
skipped with the reason; under CI=true it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

TIMEOUT_UNIT_S = float(os.environ.get("LOADWATCH_TEST_TIMEOUT_UNIT", "1.0"))
"""Multiply every test deadline by this (raise it on a slow machine)."""


def in_ci() -> bool:
    """Whether the suite runs under CI (CI=true), where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_component(reason: str) -> None:
    """Skip (locally) or fail (under CI) because a real component is not available."""
    if in_ci():
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of an executable, or skip/fail naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        missing_component(f"{name} is not installed (apt-get install {_PACKAGES.get(name, name)})")
    assert path is not None
    return path


_PACKAGES = {
    "ss": "iproute2",
    "promtool": "prometheus",
    "wrk": "wrk",
    "amtool": "prometheus-alertmanager",
    "chromium": "chromium",
}


DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"


def _reachable(url: str, default_port: int) -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _server_url(variable: str, default: str, default_port: int, server: str) -> str:
    """The URL in environment `variable` (or `default`), once its server answers."""
    url = os.environ.get(variable, default)
    if not _reachable(url, default_port):
        missing_component(f"{server} is not reachable at {url}")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the real PostgreSQL test database (LOADWATCH_TEST_DATABASE_URL)."""
    return _server_url("LOADWATCH_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis server (LOADWATCH_TEST_REDIS_URL); tests use unique key prefixes."""
    return _server_url("LOADWATCH_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL, 6379, "Redis")
