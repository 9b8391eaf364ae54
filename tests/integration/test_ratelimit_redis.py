"""The Redis-shared rate limiter against the real Redis (fixture `redis_url`)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from collector import conventions as names
from reference_services.ratelimit import (
    SLACK_TOKENS,
    Decision,
    LocalRateLimiter,
    RateLimitMetrics,
    RedisRateLimiter,
    TokenBucket,
)
from tests.conftest import TIMEOUT_UNIT_S

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix() -> str:
    return f"loadwatch:test:ratelimit:{uuid.uuid4().hex}:"


@pytest.fixture
async def clients(redis_url: str, prefix: str) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two independent clients (as two service instances would have); keys removed after."""
    first = Redis.from_url(redis_url, socket_timeout=5 * TIMEOUT_UNIT_S)
    second = Redis.from_url(redis_url, socket_timeout=5 * TIMEOUT_UNIT_S, decode_responses=True)
    try:
        yield first, second
    finally:
        keys = [key async for key in first.scan_iter(match=prefix + "*")]
        if keys:
            await first.delete(*keys)
        await first.aclose()
        await second.aclose()


async def timed_acquire(
    limiter: RedisRateLimiter, key: str, tokens: float = 1.0
) -> tuple[int, Decision]:
    """One acquire and the Redis server time its script ran at, in whole microseconds."""
    decision = await limiter.acquire(key, tokens)
    # Read before anything else can run on this loop: this is this acquire's own time. The
    # script's microseconds survive the float (its step near 1.7e9 s is 0.24 us): rounding
    # restores them, which the exact comparisons below need.
    assert limiter.last_server_time_s is not None
    return round(limiter.last_server_time_s * 1e6), decision


async def test_two_instances_share_one_bucket_refilled_by_the_server_clock(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    rate, burst = 10.0, 10.0
    limiters = [RedisRateLimiter(c, rate_per_s=rate, burst=burst, prefix=prefix) for c in clients]
    first_wave = await asyncio.gather(
        *(timed_acquire(limiters[i % 2], "twitter") for i in range(40))
    )
    start_us = min(at_us for at_us, _ in first_wave)

    async def keep_acquiring(limiter: RedisRateLimiter) -> list[tuple[int, Decision]]:
        seen = [await timed_acquire(limiter, "twitter")]
        while seen[-1][0] - start_us < 500_000:
            seen.append(await timed_acquire(limiter, "twitter"))
        return seen

    later = await asyncio.gather(*(keep_acquiring(limiters[i % 2]) for i in range(4)))
    # Redis runs the scripts one at a time, so ordered by their server times (grants first
    # within one microsecond: a refusal leaves nothing for a later request at that instant)
    # they are the bucket's history; one in-process bucket fed the same times must agree
    # with every decision, however long the round trips took.
    history = sorted(
        [*first_wave, *(item for items in later for item in items)],
        key=lambda item: (item[0], not item[1].allowed),
    )
    replay = TokenBucket(rate, burst)
    assert [d.allowed for _, d in history] == [
        replay.try_acquire((at_us - start_us) / 1e6).allowed for at_us, _ in history
    ]
    assert sum(d.allowed for _, d in first_wave) >= burst  # a new bucket starts full
    # Demand far beyond 10 a second: the limit did bind (all 40 of the first wave would need
    # 3 s between the first and the last script).
    assert not all(d.allowed for _, d in history)
    granted = sum(d.allowed for _, d in history)
    span_s = (history[-1][0] - history[0][0]) / 1e6
    assert granted <= burst + rate * span_s + SLACK_TOKENS


async def test_refusals_say_when_the_shared_tokens_return(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    rate = 0.01  # one token per 100 s: nothing this test does takes that long
    one = RedisRateLimiter(clients[0], rate_per_s=rate, burst=3.0, prefix=prefix)
    other = RedisRateLimiter(clients[1], rate_per_s=rate, burst=3.0, prefix=prefix)
    taken_us, taken = await timed_acquire(one, "linkedin", 3.0)
    assert taken.allowed
    refused_us, refused = await timed_acquire(other, "linkedin", 2.0)
    refilled = rate * (refused_us - taken_us) / 1e6  # by the server's clock, between the two
    assert not refused.allowed
    assert refused.remaining == pytest.approx(refilled, abs=1e-12)
    assert refused.retry_after_s == pytest.approx((2.0 - refilled) / rate, abs=1e-9)
    # Another key has a bucket of its own.
    assert (await other.acquire("tiktok", 3.0)).allowed


async def test_idle_buckets_expire_when_they_would_be_full_again(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    rate, burst = 0.004, 2.0  # one token per 250 s
    limiter = RedisRateLimiter(clients[0], rate_per_s=rate, burst=burst, prefix=prefix)
    first_us, first = await timed_acquire(limiter, "facebook", 1.0)
    second_us, second = await timed_acquire(limiter, "facebook", 1.0)
    assert first.allowed and second.allowed
    assert first.remaining == pytest.approx(1.0, abs=1e-12)  # a new bucket starts full
    assert second.remaining == pytest.approx(rate * (second_us - first_us) / 1e6, abs=1e-12)
    full_at_ms = second_us / 1000 + (burst - second.remaining) / rate * 1000
    # PEXPIRE rounds up and adds 1 ms; Redis counts it from its own millisecond clock.
    expires_at_ms = await clients[0].pexpiretime(prefix + "facebook")
    assert full_at_ms - 1 <= expires_at_ms <= full_at_ms + 2


def closed_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_redis_falls_back_to_the_local_limiter_and_reports_it() -> None:
    registry = CollectorRegistry()
    metrics = RateLimitMetrics(registry, service="campaign")
    errors: list[Exception] = []

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        metrics.observe_error(exc)

    now = [100.0]
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    try:
        limiter = RedisRateLimiter(
            client,
            rate_per_s=1.0,
            burst=2.0,
            fallback=LocalRateLimiter(rate_per_s=1.0, burst=2.0, clock=lambda: now[0]),
            on_error=on_error,
            error_cooldown_s=1.0,
            clock=lambda: now[0],
        )
        decisions = [await limiter.acquire("instagram") for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert decisions[2].retry_after_s == pytest.approx(1.0)
        # Within the cool-down Redis is not retried: one failure reported, not three.
        assert len(errors) == 1
        assert isinstance(errors[0], RedisConnectionError)
        now[0] += 1.0
        assert (await limiter.acquire("instagram")).allowed
        assert len(errors) == 2
    finally:
        await client.aclose()
    assert (
        registry.get_sample_value(
            f"{names.RATE_LIMIT_DECISIONS}_total",
            {names.LABEL_SERVICE: "campaign", names.LABEL_OUTCOME: "error"},
        )
        == 2.0
    )


async def test_without_a_fallback_the_limit_holds_per_instance_during_an_outage() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    try:
        limiter = RedisRateLimiter(client, rate_per_s=0.001, burst=1.0, error_cooldown_s=0.0)
        assert (await limiter.acquire("twitter")).allowed
        assert not (await limiter.acquire("twitter")).allowed
    finally:
        await client.aclose()
