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
    LocalRateLimiter,
    RateLimitMetrics,
    RedisRateLimiter,
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


async def server_time_s(client: Redis) -> float:
    seconds, microseconds = await client.time()
    return seconds + microseconds / 1e6


async def test_two_instances_hold_one_limit_together(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    rate, burst = 10.0, 10.0
    limiters = [RedisRateLimiter(c, rate_per_s=rate, burst=burst, prefix=prefix) for c in clients]
    start_s = await server_time_s(clients[0])

    first_wave = await asyncio.gather(*(limiters[i % 2].acquire("twitter") for i in range(40)))
    granted = sum(decision.allowed for decision in first_wave)
    wave_s = await server_time_s(clients[0]) - start_s
    assert burst <= granted <= burst + rate * wave_s + SLACK_TOKENS

    async def keep_acquiring(limiter: RedisRateLimiter) -> int:
        count = 0
        while await server_time_s(clients[0]) - start_s < 0.5:
            count += (await limiter.acquire("twitter")).allowed
        return count

    granted += sum(await asyncio.gather(*(keep_acquiring(limiters[i % 2]) for i in range(4))))
    elapsed_s = await server_time_s(clients[0]) - start_s
    # Never more than one bucket's worth, and a busy bucket is drained as it refills.
    assert granted <= burst + rate * elapsed_s + SLACK_TOKENS
    assert granted >= burst + rate * 0.5 - 2


async def test_refusals_say_when_the_shared_tokens_return(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    one = RedisRateLimiter(clients[0], rate_per_s=2.0, burst=3.0, prefix=prefix)
    other = RedisRateLimiter(clients[1], rate_per_s=2.0, burst=3.0, prefix=prefix)
    assert (await one.acquire("linkedin", 3.0)).allowed
    refused = await other.acquire("linkedin", 2.0)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx((2.0 - refused.remaining) / 2.0)
    assert 0.9 < refused.retry_after_s <= 1.0
    # Another key has a bucket of its own.
    assert (await other.acquire("tiktok", 3.0)).allowed


async def test_idle_buckets_expire_when_they_would_be_full_again(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    limiter = RedisRateLimiter(clients[0], rate_per_s=4.0, burst=2.0, prefix=prefix)
    await limiter.acquire("facebook", 1.0)
    ttl_ms = await clients[0].pttl(prefix + "facebook")
    assert 0 < ttl_ms <= 251  # one token at 4/s: 250 ms (+1 ms rounding)
    await limiter.acquire("facebook", 1.0)
    assert 251 < await clients[0].pttl(prefix + "facebook") <= 501


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
