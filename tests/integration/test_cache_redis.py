"""The two-level cache against a real Redis server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from collector.cache_metrics import CacheCounters, CacheResult
from reference_services.cache import CacheSource, LRUCache, RedisLayer, TwoLevelCache
from reference_services.course.content import content_key, invalidation_patterns, progress_key
from tests.conftest import TIMEOUT_UNIT_S
from tests.waiting import eventually


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis_client = aioredis.Redis.from_url(redis_url)
    yield redis_client
    await redis_client.aclose()


def unique_ids() -> tuple[int, int]:
    """A user id and course id unlikely to collide with other tests on the same server."""
    base = uuid.uuid4().int % 10**9 + 10**9
    return base, base + 1


def two_level(client: aioredis.Redis) -> TwoLevelCache:
    return TwoLevelCache(LRUCache(1000), RedisLayer(client), CacheCounters(), ttl_s=60)


async def value_of(load_value: bytes) -> bytes:
    return load_value


async def test_an_l1_miss_is_served_from_redis_and_refills_l1(client: aioredis.Redis) -> None:
    user, course = unique_ids()
    key = content_key(course, user)
    first, second = two_level(client), two_level(client)
    try:
        assert (await first.get_or_load(key, lambda: value_of(b"doc")))[1] is CacheSource.MISS
        assert await second.get_or_load(key, lambda: value_of(b"other")) == (b"doc", CacheSource.L2)
        assert (await second.get_or_load(key, lambda: value_of(b"other")))[1] is CacheSource.L1
        ttl_ms = await client.pttl(key)
        assert 0 < ttl_ms <= 60_000
    finally:
        await client.delete(key)


async def test_invalidation_clears_l1_and_redis_with_scan(client: aioredis.Redis) -> None:
    user, course = unique_ids()
    cache = two_level(client)
    keys = [content_key(course, user), content_key(course + 5, user), progress_key(user)]
    bystander = content_key(course, user + 2)
    try:
        for key in [*keys, bystander]:
            await cache.get_or_load(key, lambda: value_of(b"doc"))
        await cache.invalidate(invalidation_patterns(user))
        for key in keys:
            assert await client.exists(key) == 0
            assert cache.l1.get(key, time.monotonic()) is None
        assert await client.exists(bystander) == 1
    finally:
        await client.delete(*keys, bystander)


async def test_an_invalidation_reaches_the_l1_of_another_instance(client: aioredis.Redis) -> None:
    user, course = unique_ids()
    key = content_key(course, user)
    writer, reader = two_level(client), two_level(client)
    await reader.start()
    try:
        # Redis acknowledged SUBSCRIBE: every later PUBLISH reaches the reader.
        async with asyncio.timeout(5 * TIMEOUT_UNIT_S):
            await reader.subscribed.wait()
        await reader.get_or_load(key, lambda: value_of(b"doc"))
        assert reader.l1.get(key, time.monotonic()) == b"doc"
        await writer.invalidate(invalidation_patterns(user))
        await eventually(
            lambda: reader.l1.get(key, time.monotonic()) is None,
            5,
            what="the other instance's stale L1 entry dropped",
        )
    finally:
        await reader.close()
        await client.delete(key)


async def test_an_unreachable_redis_is_skipped_and_counted(
    cache_without_redis: TwoLevelCache,
) -> None:
    cache, counters = cache_without_redis, cache_without_redis.counters
    value, source = await cache.get_or_load("k", lambda: value_of(b"from-db"))
    assert (value, source) == (b"from-db", CacheSource.MISS)
    assert counters.counts[("l2", CacheResult.ERROR)] >= 1
    assert await cache.get_or_load("k", lambda: value_of(b"x")) == (b"from-db", CacheSource.L1)
    await cache.invalidate(["k"])
    assert cache.l1.get("k", time.monotonic()) is None


async def test_a_subscriber_without_redis_never_reports_itself_subscribed(
    cache_without_redis: TwoLevelCache, caplog: pytest.LogCaptureFixture
) -> None:
    cache = cache_without_redis
    caplog.set_level("WARNING")
    await cache.start()
    await eventually(
        lambda: any("redis subscribe failed" in r.getMessage() for r in caplog.records),
        30,
        what="the failed subscription reported",
    )
    assert not cache.subscribed.is_set()
