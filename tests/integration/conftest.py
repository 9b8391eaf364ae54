"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest

from reference_services.cache import TwoLevelCache
from reference_services.campaign import app as campaign_app
from reference_services.ratelimit import LocalRateLimiter
from tests.integration.loadtest_helpers import hello_service
from tests.integration.outages import cache_on_unreachable_redis


class ManualClock:
    """A clock that moves only when the test says so (seconds)."""

    def __init__(self, now_s: float = 1_700_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The clock of every campaign app's in-process rate limiter made in this test.

    Refills then happen when the test advances it, never because the machine was slow
    between two requests.
    """
    clock = ManualClock()
    monkeypatch.setattr(campaign_app, "LocalRateLimiter", partial(LocalRateLimiter, clock=clock))
    return clock


@pytest.fixture(scope="module")
def hello_url() -> Iterator[str]:
    """The base URL of examples/hello_service.py in a child process, one per test module."""
    with hello_service() as url:
        yield url


@pytest.fixture
async def cache_without_redis() -> AsyncIterator[TwoLevelCache]:
    """A two-level cache whose Redis refuses every connection (see outages.py)."""
    async with cache_on_unreachable_redis() as cache:
        yield cache
