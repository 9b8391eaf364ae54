"""Invalidation survives a Redis outage: a write acknowledged while Redis is down is never
served stale by any instance once Redis is back (within the documented bound), and one
failed L2 lookup counts one error."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from collector.cache_metrics import CacheCounters, CacheResult
from reference_services.cache import RETRY_S, LRUCache, RedisLayer, TwoLevelCache
from reference_services.course.app import SERVICE_KEY, make_course_app
from reference_services.course.content import progress_key
from reference_services.seed import seed_course
from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine
from tests.tcp_proxy import TcpProxy
from tests.waiting import eventually

RECOVERY_BOUND_S = 2 * RETRY_S
"""docs/services.md: once Redis is back, every instance serves the write within this
(one replay interval plus one resubscribe interval), plus one request."""


async def value_of(payload: bytes) -> bytes:
    return payload


async def test_a_failed_l2_lookup_counts_one_error_not_two(
    cache_without_redis: TwoLevelCache,
) -> None:
    cache, counters = cache_without_redis, cache_without_redis.counters
    assert (await cache.get_or_load("k", lambda: value_of(b"db")))[0] == b"db"
    assert counters.counts[("l2", CacheResult.ERROR)] == 1
    assert counters.lookups == 1
    await cache.invalidate(["k"])  # not a lookup: not counted, kept pending
    assert counters.counts[("l2", CacheResult.ERROR)] == 1
    assert cache.pending == {"k": 1}


async def test_pending_invalidations_are_replayed_into_redis_when_it_returns(
    redis_url: str,
) -> None:
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    direct = aioredis.Redis.from_url(redis_url)
    proxied = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{proxy.port}{parts.path}",
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    key = f"hardening:{time.time_ns()}:user:1"
    cache = TwoLevelCache(LRUCache(10), RedisLayer(proxied), CacheCounters(), ttl_s=60, retry_s=0.1)
    try:
        await cache.get_or_load(key, lambda: value_of(b"old"))
        assert await direct.get(key) == b"old"
        await proxy.stop()
        await cache.invalidate(["hardening:*:user:1"])
        assert "hardening:*:user:1" in cache.pending
        value, _ = await cache.get_or_load(key, lambda: value_of(b"new"))
        assert value == b"new"
        await proxy.start()

        async def replayed() -> bool:
            return not cache.pending and await direct.get(key) != b"old"

        await eventually(replayed, 5, what="the pending invalidation replayed")
    finally:
        await cache.close()
        await proxied.aclose()
        await direct.delete(key)
        await direct.aclose()
        await proxy.stop()


async def _seed(url: str) -> tuple[int, int, int]:
    """Seed the course tables; (an enrollment's id, its user id, its course id)."""
    db = Database(make_engine(ServiceSettings.build("course", database_url=url)))
    try:
        await seed_course(db, users=200, courses=5, reset=True)
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT id, user_id, course_id FROM course_enrollments ORDER BY id LIMIT 1"
                    )
                )
            ).one()
        return int(row.id), int(row.user_id), int(row.course_id)
    finally:
        await db.close()


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path}"
    await proxy.stop()


async def progress_of(client: TestClient, user_id: int, course_id: int) -> tuple[float, str]:
    """The user's progress in the course, and the X-Cache header of the answer."""
    response = await client.get(f"/users/{user_id}/progress")
    assert response.status == 200, await response.text()
    body = await response.json()
    (progress,) = [
        e["progress_percentage"] for e in body["enrollments"] if e["course_id"] == course_id
    ]
    return progress, response.headers["X-Cache"]


def stored_progress(stored: bytes | str | None, course_id: int) -> float | None:
    """The progress in `course_id` of a progress document cached in Redis (None: absent)."""
    if stored is None:
        return None
    (progress,) = [
        e["progress_percentage"]
        for e in json.loads(stored)["enrollments"]
        if e["course_id"] == course_id
    ]
    return float(progress)


async def test_a_write_during_a_redis_outage_is_served_by_both_instances_after_it(
    postgres_url: str, redis_url: str, redis_proxy: tuple[TcpProxy, str]
) -> None:
    enrollment_id, user_id, course_id = await _seed(postgres_url)
    proxy, proxied_url = redis_proxy
    settings = ServiceSettings.build("course", database_url=postgres_url, redis_url=proxied_url)
    direct = aioredis.Redis.from_url(redis_url)
    await direct.delete(progress_key(user_id))
    first = make_course_app(settings, registry=CollectorRegistry())
    second = make_course_app(settings, registry=CollectorRegistry())
    async with (
        TestClient(TestServer(first, host="127.0.0.1", port=0)) as a,
        TestClient(TestServer(second, host="127.0.0.1", port=0)) as b,
    ):
        caches = [client.app[SERVICE_KEY].two_level() for client in (a, b)]

        async def both_subscribed() -> bool:
            return all(cache.subscribed.is_set() for cache in caches)

        await eventually(both_subscribed, 5, what="subscribed")
        patch = {"progress_percentage": 10, "status": "active"}
        assert (await a.patch(f"/enrollments/{enrollment_id}/progress", json=patch)).status == 200
        assert await progress_of(a, user_id, course_id) == (10, "miss")
        assert await progress_of(b, user_id, course_id) == (10, "hit-l2")
        assert await progress_of(b, user_id, course_id) == (10, "hit-l1")

        await proxy.stop()
        patch["progress_percentage"] = 80
        written = await a.patch(f"/enrollments/{enrollment_id}/progress", json=patch)
        assert written.status == 200, await written.text()

        async def b_sees_the_write() -> bool:
            return (await progress_of(b, user_id, course_id))[0] == 80

        await eventually(b_sees_the_write, 5, what="instance B during the outage")
        stale = await direct.get(progress_key(user_id))
        assert stored_progress(stale, course_id) == 10  # Redis could not be told

        await proxy.start()
        restored = time.monotonic()

        async def both_fresh_and_l2_clean() -> bool:
            values = [(await progress_of(c, user_id, course_id))[0] for c in (a, b)]
            stored = await direct.get(progress_key(user_id))
            return values == [80, 80] and stored_progress(stored, course_id) in {None, 80.0}

        await eventually(both_fresh_and_l2_clean, 5, what="after Redis returned")

        async def recovered() -> bool:
            return all(c.subscribed.is_set() and not c.pending for c in caches)

        await eventually(recovered, 5, what="replayed and resubscribed")
        took_s = time.monotonic() - restored
        assert (await progress_of(a, user_id, course_id))[0] == 80
        print(f"recovered {took_s:.2f} s after Redis returned (bound {RECOVERY_BOUND_S} s)")
    await direct.aclose()
