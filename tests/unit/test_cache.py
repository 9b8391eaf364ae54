import asyncio

import pytest

from collector.cache_metrics import CacheCounters, CacheResult
from reference_services.cache import CacheSource, LRUCache, TwoLevelCache
from reference_services.course.content import content_key, invalidation_patterns, progress_key
from tests.waiting import eventually


def test_entries_expire_after_their_ttl() -> None:
    cache = LRUCache(10)
    cache.set("k", b"v", ttl_s=5.0, now_s=100.0)
    assert cache.get("k", now_s=104.9) == b"v"
    assert cache.get("k", now_s=105.0) is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_is_evicted_first() -> None:
    cache = LRUCache(2)
    cache.set("a", b"1", 60, 0)
    cache.set("b", b"2", 60, 0)
    assert cache.get("a", 1) == b"1"
    cache.set("c", b"3", 60, 1)
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == b"1"
    assert cache.get("c", 1) == b"3"


def test_the_guides_invalidation_patterns_remove_exactly_one_users_entries() -> None:
    cache = LRUCache(100)
    for user in (7, 17, 70):
        for course in (1, 2):
            cache.set(content_key(course, user), b"x", 60, 0)
        cache.set(progress_key(user), b"x", 60, 0)
        cache.set(f"user:{user}:profile", b"x", 60, 0)
    removed = cache.delete_matching(invalidation_patterns(7))
    assert removed == 4
    assert cache.get(content_key(1, 7), 1) is None
    assert cache.get(content_key(1, 17), 1) == b"x"
    assert cache.get(content_key(2, 70), 1) == b"x"
    assert cache.get(progress_key(17), 1) == b"x"


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        LRUCache(0)


def make_cache(clock: list[float] | None = None) -> tuple[TwoLevelCache, CacheCounters]:
    counters = CacheCounters()
    now = clock if clock is not None else [0.0]
    return TwoLevelCache(LRUCache(100), None, counters, ttl_s=3600, clock=lambda: now[0]), counters


async def test_a_miss_loads_once_then_hits_l1() -> None:
    cache, counters = make_cache()
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        return b"doc"

    assert await cache.get_or_load("k", load) == (b"doc", CacheSource.MISS)
    assert await cache.get_or_load("k", load) == (b"doc", CacheSource.L1)
    assert calls == 1
    assert counters.counts[("l1", CacheResult.HIT)] == 1
    assert counters.counts[("l1", CacheResult.MISS)] == 1
    assert (counters.hits, counters.lookups) == (1, 2)


def misses(counters: CacheCounters) -> int:
    """L1 misses so far: each lookup counts its miss, then loads or joins the load."""
    return counters.counts.get(("l1", CacheResult.MISS), 0)


async def test_concurrent_misses_for_one_key_are_loaded_once() -> None:
    cache, counters = make_cache()
    release = asyncio.Event()
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"doc"

    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(50)]
    await eventually(lambda: misses(counters) == 50, what="every lookup missed", poll_s=0)
    release.set()
    results = await asyncio.gather(*waiters)
    assert calls == 1
    assert {value for value, _ in results} == {b"doc"}


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    cache, counters = make_cache()
    release = asyncio.Event()

    async def load() -> bytes:
        await release.wait()
        raise LookupError("no such course")

    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(5)]
    await eventually(lambda: misses(counters) == 5, what="every lookup missed", poll_s=0)
    release.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, LookupError) for o in outcomes)

    async def good() -> bytes:
        return b"later"

    assert await cache.get_or_load("k", good) == (b"later", CacheSource.MISS)


async def test_entries_expire_through_the_injected_clock() -> None:
    now = [0.0]
    cache, _ = make_cache(now)

    async def load() -> bytes:
        return str(now[0]).encode()

    assert (await cache.get_or_load("k", load))[1] is CacheSource.MISS
    now[0] = 3599.0
    assert (await cache.get_or_load("k", load))[1] is CacheSource.L1
    now[0] = 3600.0
    assert await cache.get_or_load("k", load) == (b"3600.0", CacheSource.MISS)
