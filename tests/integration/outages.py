"""Services losing a dependency: a two-level cache whose Redis refuses every connection,
and waiting for a route to answer a status again once the dependency is back.

    async with cache_on_unreachable_redis() as cache:      # or the `cache_without_redis` fixture
        await cache.get_or_load("k", load)                 # L2 errors counted in cache.counters
    await wait_for_status(client, "/readyz", 200)          # after the proxy is started again
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from collector.cache_metrics import CacheCounters
from reference_services.cache import LRUCache, RedisLayer, TwoLevelCache
from tests.waiting import eventually

__all__ = ["UNREACHABLE_REDIS_URL", "cache_on_unreachable_redis", "wait_for_status"]

UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
"""Nothing listens on port 1: every connection is refused at once."""


@asynccontextmanager
async def cache_on_unreachable_redis() -> AsyncIterator[TwoLevelCache]:
    """A 10-entry L1 over a Redis that refuses connections (0.2 s socket timeouts), with
    fresh `CacheCounters`; closed, with its client, on exit."""
    dead = aioredis.Redis.from_url(
        UNREACHABLE_REDIS_URL, socket_connect_timeout=0.2, socket_timeout=0.2
    )
    cache = TwoLevelCache(LRUCache(10), RedisLayer(dead), CacheCounters(), ttl_s=60)
    try:
        yield cache
    finally:
        await cache.close()
        await dead.aclose()


async def wait_for_status(
    client: TestClient, path: str, status: int, timeout_s: float = 10.0
) -> None:
    """GET `path` (Cache-Control: no-cache) every 0.1 s until it answers `status`; an
    AssertionError naming the last status seen after `timeout_s` seconds (scaled)."""
    seen: list[int] = []

    async def answers() -> bool:
        response = await client.get(path, headers={"Cache-Control": "no-cache"})
        seen.append(response.status)
        return response.status == status

    try:
        await eventually(answers, timeout_s, what=f"{path}: expected {status}", poll_s=0.1)
    except AssertionError as expired:
        raise AssertionError(f"{expired}, last saw {seen[-1] if seen else None}") from None
