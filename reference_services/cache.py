"""Two-level cache-aside: L1 in-process (bounded LRU with TTL), L2 Redis, then the source.

`TwoLevelCache.get_or_load(key, load)` returns `(value, CacheSource)`; concurrent misses
of one key run `load` once (single flight). Writes call `invalidate(patterns)`, which
deletes matching keys from L1, from Redis (SCAN + UNLINK, never KEYS) and, through Redis
pub/sub, from the L1 of every other instance. A failing Redis never fails a request: the
layer is skipped and a failed lookup counted once (`cache.error("l2")`).
Values are bytes (the encoded response body), so an L1 hit is served without re-encoding.

Invalidation survives a Redis outage (docs/services.md, "Cache coherence"):
- an invalidation Redis did not take is kept as pending and replayed (UNLINK in Redis,
  then published to the other instances) every `retry_s` until Redis takes it; while any
  is pending this instance reads and writes no L2 entry, which may be stale;
- L1 is trusted only while the invalidation channel is subscribed: when the subscription
  breaks, L1 is emptied, and entries stored until it is back live at most
  `unsubscribed_ttl_s`, so another instance's write during the outage is missed for that
  long at most.
Pending invalidations are held in memory (~100 bytes a distinct pattern) and lost with the
process; an instance that exits during an outage leaves Redis entries up to their TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable
from enum import Enum

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from collector.cache_metrics import CacheCounters
from reference_services.key_index import SegmentIndex

__all__ = ["CacheSource", "LRUCache", "RedisLayer", "TwoLevelCache"]

log = logging.getLogger("loadwatch.cache")
_MISSING = object()
_INVALIDATION_CHANNEL = "loadwatch:cache:invalidate"
_REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
_WARNING_INTERVAL_S = 10.0
_REPLAY_SCAN_BATCH = 1000
_PUBLISH_BATCH = 500
RETRY_S = 1.0
"""Seconds between replays of pending invalidations while Redis is unreachable."""
UNSUBSCRIBED_TTL_S = 1.0
"""Longest life (seconds) of an L1 entry stored while the invalidation channel is down."""


class CacheSource(Enum):
    """Where a value came from; the X-Cache header value."""

    L1 = "hit-l1"
    L2 = "hit-l2"
    MISS = "miss"


class LRUCache:
    """A bounded LRU of bytes with per-entry expiry. Pure: `now_s` is passed in.

    get/set are O(1) (O(segments) when a key is new); `delete_matching` costs the
    candidates its patterns' literal segments select (`SegmentIndex`), not all entries.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries: expected >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._index = SegmentIndex()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, now_s: float) -> bytes | None:
        """The value, or None when absent or expired (expired entries are dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now_s:
            del self._entries[key]
            self._index.discard(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def set(self, key: str, value: bytes, ttl_s: float, now_s: float) -> None:
        """Store `value` until `now_s + ttl_s`; evicts the least recently used beyond capacity."""
        entries = self._entries
        entries[key] = (now_s + ttl_s, value)
        entries.move_to_end(key)
        self._index.add(key)
        while len(entries) > self.max_entries:
            evicted, _ = entries.popitem(last=False)
            self._index.discard(evicted)

    def delete_matching(self, patterns: Iterable[str]) -> int:
        """Delete keys matching any glob pattern (`user:7:*`); returns how many."""
        doomed = self._index.matching(patterns)
        for key in doomed:
            del self._entries[key]
            self._index.discard(key)
        return len(doomed)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._index = SegmentIndex()


class RedisLayer:
    """Redis as L2. Every call may raise a Redis/OS/timeout error; the caller decides."""

    def __init__(self, client: aioredis.Redis, *, timeout_s: float = 0.25) -> None:
        self.client = client
        self.timeout_s = timeout_s

    async def get(self, key: str) -> bytes | None:
        async with asyncio.timeout(self.timeout_s):
            value = await self.client.get(key)
        if isinstance(value, str):  # a client built with decode_responses=True
            return value.encode()
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        async with asyncio.timeout(self.timeout_s):
            await self.client.set(key, value, px=max(1, int(ttl_s * 1000)))

    async def delete_matching(self, patterns: Iterable[str], *, batch: int = 500) -> int:
        """SCAN for each pattern and UNLINK in batches; returns keys deleted."""
        deleted = 0
        for pattern in patterns:
            pending: list[bytes] = []
            async for key in self.client.scan_iter(match=pattern, count=batch):
                pending.append(key)
                if len(pending) >= batch:
                    deleted += await self.client.unlink(*pending)
                    pending.clear()
            if pending:
                deleted += await self.client.unlink(*pending)
        return deleted

    async def delete_matching_any(
        self, patterns: Iterable[str], *, batch: int = _REPLAY_SCAN_BATCH
    ) -> int:
        """One SCAN over all keys, UNLINKing those matching any pattern; returns how many.

        For many patterns at once (a replay after an outage): one pass over the keyspace
        instead of one per pattern; each page of keys is matched locally (`SegmentIndex`).
        """
        wanted = list(patterns)
        deleted = 0
        page = SegmentIndex()
        async for key in self.client.scan_iter(count=batch):
            page.add(key.decode() if isinstance(key, bytes) else key)
            if len(page) >= batch:
                deleted += await self._unlink(page.matching(wanted))
                page = SegmentIndex()
        return deleted + await self._unlink(page.matching(wanted))

    async def _unlink(self, keys: Collection[str]) -> int:
        return int(await self.client.unlink(*keys)) if keys else 0

    async def publish_invalidation(self, patterns: list[str]) -> None:
        for start in range(0, len(patterns), _PUBLISH_BATCH):
            chunk = patterns[start : start + _PUBLISH_BATCH]
            await self.client.publish(_INVALIDATION_CHANNEL, "\n".join(chunk))


class TwoLevelCache:
    """Cache-aside over L1 and optional L2 with single flight and counted outcomes."""

    def __init__(
        self,
        l1: LRUCache,
        l2: RedisLayer | None,
        counters: CacheCounters,
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        retry_s: float = RETRY_S,
        unsubscribed_ttl_s: float = UNSUBSCRIBED_TTL_S,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.counters = counters
        self.ttl_s = ttl_s
        self.clock = clock
        self.retry_s = retry_s
        self.unsubscribed_ttl_s = unsubscribed_ttl_s
        self.pending: dict[str, int] = {}
        """Invalidation patterns Redis has not taken yet -> the write that last added them."""
        self._writes = 0
        self._replayer: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._subscriber: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        """Set while other instances' invalidations reach this L1: always without L2, else
        once Redis has acknowledged the subscription. Cleared when the subscription is lost
        (it is retried every second; L1 is emptied then) and at `close()`."""
        if l2 is None:
            self.subscribed.set()
        self._last_warning_s = -_WARNING_INTERVAL_S

    def get_l1(self, key: str) -> bytes | None:
        """The L1 value alone (the synchronous fast path); counts a hit when found."""
        value = self.l1.get(key, self.clock())
        if value is not None:
            self.counters.hit("l1")
        return value

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, CacheSource]:
        """The value for `key` from L1, else L2, else `load()` (once per key at a time)."""
        value = self.get_l1(key)
        if value is not None:
            return value, CacheSource.L1
        self.counters.miss("l1", final=self._l2_usable() is None)
        waiting = self._inflight.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting), CacheSource.MISS
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, source = await self._load_through(key, load)
            future.set_result(value)
            return value, source
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    def _l2_usable(self) -> RedisLayer | None:
        """L2, unless absent or possibly stale (invalidations are pending)."""
        return None if self.pending else self.l2

    def _l1_ttl_s(self) -> float:
        if self.subscribed.is_set():
            return self.ttl_s
        return min(self.ttl_s, self.unsubscribed_ttl_s)

    async def _load_through(
        self, key: str, load: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, CacheSource]:
        l2 = self._l2_usable()
        if l2 is not None:
            try:
                cached = await l2.get(key)
            except _REDIS_ERRORS as exc:
                self._l2_failed("get", exc, lookup=True)
                l2 = None  # down: one error for this lookup, not a second for the set
                cached = None
            else:
                if cached is not None:
                    self.counters.hit("l2")
                    self.l1.set(key, cached, self._l1_ttl_s(), self.clock())
                    return cached, CacheSource.L2
                self.counters.miss("l2", final=True)
        value = await load()
        self.l1.set(key, value, self._l1_ttl_s(), self.clock())
        if l2 is not None and not self.pending:
            try:
                await l2.set(key, value, self.ttl_s)
            except _REDIS_ERRORS as exc:
                self._l2_failed("set", exc)
        return value, CacheSource.MISS

    def _l2_failed(self, operation: str, exc: BaseException, *, lookup: bool = False) -> None:
        """Log (at most every 10 s); count an error only when a lookup failed."""
        if lookup:
            self.counters.error("l2", final=True)
        now = self.clock()
        if now - self._last_warning_s >= _WARNING_INTERVAL_S:
            self._last_warning_s = now
            log.warning(
                "redis %s failed (%s: %s); serving without L2 (repeats are not logged for %g s)",
                operation,
                exc.__class__.__name__,
                exc,
                _WARNING_INTERVAL_S,
            )

    async def invalidate(self, patterns: list[str]) -> None:
        """Delete matching keys in L1, in Redis, and in the L1 of other instances.

        When Redis does not take the invalidation, it is kept as pending and replayed in
        the background until Redis does (see the module docstring); the caller never waits
        for Redis beyond one attempt.
        """
        self.l1.delete_matching(patterns)
        if self.l2 is None:
            return
        if self.pending:  # Redis failed recently: queue behind the backlog, in order
            self._add_pending(patterns)
            return
        try:
            await self.l2.delete_matching(patterns)
            await self.l2.publish_invalidation(patterns)
        except _REDIS_ERRORS as exc:
            self._l2_failed("invalidate", exc)
            self._add_pending(patterns)

    def _add_pending(self, patterns: Iterable[str]) -> None:
        self._writes += 1
        for pattern in patterns:
            self.pending[pattern] = self._writes
        if self._replayer is None or self._replayer.done():
            self._replayer = asyncio.create_task(self._replay_until_taken())

    async def replay_pending(self) -> bool:
        """Try once to UNLINK and publish every pending pattern; True when none remain."""
        if self.l2 is None or not self.pending:
            return True
        batch = dict(self.pending)
        try:
            await self.l2.delete_matching_any(batch)
            await self.l2.publish_invalidation(sorted(batch))
        except _REDIS_ERRORS as exc:
            self._l2_failed("replay of pending invalidations", exc)
            return False
        for pattern, write in batch.items():
            if self.pending.get(pattern) == write:  # not invalidated again meanwhile
                del self.pending[pattern]
        if not self.pending:
            log.warning("redis is back: %d pending invalidation patterns replayed", len(batch))
        return not self.pending

    async def _replay_until_taken(self) -> None:
        while not await self.replay_pending():
            await asyncio.sleep(self.retry_s)

    def _unsubscribed(self) -> None:
        """The invalidation channel broke: other instances' writes may go unseen."""
        if self.subscribed.is_set():
            self.subscribed.clear()
            self.l1.clear()

    async def start(self) -> None:
        """Listen for other instances' invalidations (only with L2).

        Returns at once, without waiting for Redis (a service starts while Redis is down);
        await `subscribed.wait()` to know when invalidations from others arrive.
        """
        if self.l2 is not None and self._subscriber is None:
            self._subscriber = asyncio.create_task(self._listen(self.l2))

    async def close(self) -> None:
        """Stop listening and replaying (pending invalidations are dropped)."""
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
            self._replayer = None
        if self._subscriber is not None:
            self._subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._subscriber
            self._subscriber = None
            self.subscribed.clear()

    async def _listen(self, l2: RedisLayer) -> None:
        while True:
            try:
                async with l2.client.pubsub() as pubsub:
                    await pubsub.subscribe(_INVALIDATION_CHANNEL)
                    async for message in pubsub.listen():
                        kind = message.get("type")
                        if kind == "subscribe":
                            self.subscribed.set()
                        if kind != "message":
                            continue
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        self.l1.delete_matching(text.split("\n"))
            except _REDIS_ERRORS as exc:
                self._unsubscribed()
                self._l2_failed("subscribe", exc)
                await asyncio.sleep(self.retry_s)
