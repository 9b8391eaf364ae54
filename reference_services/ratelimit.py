"""Token-bucket rate limiting for downstream API calls: in process, or shared through Redis.

    limiter = RedisRateLimiter(redis, rate_per_s=10, burst=20, on_error=metrics.observe_error)
    decision = await limiter.acquire("twitter")
    if not decision.allowed:
        defer(job, delay_s=max(decision.retry_after_s, 60.0))   # reply 202 + Retry-After

`TokenBucket` is the pure core (time is passed in). `LocalRateLimiter` keeps buckets in
process (~1 us an acquire); `RedisRateLimiter` keeps them in Redis so the limit holds across
instances (one EVALSHA round trip an acquire, refilled by the Redis server's clock).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from prometheus_client import Counter
from prometheus_client.registry import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from collector import conventions as names

__all__ = [
    "SLACK_TOKENS",
    "Decision",
    "LocalRateLimiter",
    "RateLimitMetrics",
    "RateLimitOutcome",
    "RateLimiter",
    "RedisRateLimiter",
    "TokenBucket",
]

SLACK_TOKENS = 1e-6
"""A grant may overdraw a bucket by at most this many tokens in all (the debt carries over).

It absorbs float rounding, so that acquiring exactly `retry_after_s` after a refusal succeeds.
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one acquire.

    `retry_after_s` is 0 when allowed; else the seconds until the requested tokens will be
    available (if nobody else takes them first). `remaining` is the tokens left in the
    bucket after this decision (>= 0).
    """

    allowed: bool
    retry_after_s: float
    remaining: float


def _check_limits(rate_per_s: float, burst: float) -> None:
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ValueError(
            f"rate_per_s: expected a number of tokens per second > 0, got {rate_per_s!r}"
        )
    if not (math.isfinite(burst) and burst > 0):
        raise ValueError(f"burst: expected a number of tokens > 0, got {burst!r}")


def _check_tokens(tokens: float, burst: float) -> None:
    if not (math.isfinite(tokens) and 0 < tokens <= burst):
        raise ValueError(
            f"tokens: expected a number > 0 and <= burst ({burst:g}); more could never be "
            f"granted, got {tokens!r}"
        )


class TokenBucket:
    """A token bucket that starts full: `burst` tokens, refilled at `rate_per_s`.

    Pure: the caller passes the time. Over any span of T seconds (times non-decreasing) it
    grants at most `burst + rate_per_s * T` tokens (+ `SLACK_TOKENS`). A `now_s` earlier than
    one already seen is treated as that later time, so a clock step back mints nothing.
    O(1) time and memory; not thread-safe.
    """

    __slots__ = ("_last_s", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: float) -> None:
        _check_limits(rate_per_s, burst)
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self._tokens = self.burst
        self._last_s: float | None = None

    def try_acquire(self, now_s: float, tokens: float = 1.0) -> Decision:
        """Take `tokens` (0 < tokens <= burst) at `now_s` (seconds, any fixed origin) if there."""
        _check_tokens(tokens, self.burst)
        if self._last_s is None or now_s > self._last_s:
            if self._last_s is not None:
                refill = (now_s - self._last_s) * self.rate_per_s
                self._tokens = min(self.burst, self._tokens + refill)
            self._last_s = now_s
        if self._tokens + SLACK_TOKENS >= tokens:
            self._tokens -= tokens
            return Decision(allowed=True, retry_after_s=0.0, remaining=max(0.0, self._tokens))
        retry_after_s = (tokens - self._tokens) / self.rate_per_s
        return Decision(
            allowed=False, retry_after_s=retry_after_s, remaining=max(0.0, self._tokens)
        )


class RateLimiter(Protocol):
    """Anything that grants tokens per key: the local and the Redis limiter."""

    async def acquire(self, key: str, tokens: float = 1.0) -> Decision:
        """Take `tokens` from `key`'s bucket if there; never raises for a backend failure."""
        ...


class LocalRateLimiter:
    """Per-key `TokenBucket`s in this process; the limit holds per instance only.

    At most `max_keys` buckets are kept; the least recently used is evicted (and would start
    full again, granting at most one extra burst to a key idle that long). ~1 us an acquire.
    """

    def __init__(
        self,
        *,
        rate_per_s: float,
        burst: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_limits(rate_per_s, burst)
        if max_keys < 1:
            raise ValueError(f"max_keys: expected an integer >= 1, got {max_keys!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire_now(self, key: str, tokens: float = 1.0) -> Decision:
        """The synchronous form of `acquire`."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate_per_s, self.burst)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.try_acquire(self._clock(), tokens)

    async def acquire(self, key: str, tokens: float = 1.0) -> Decision:
        """Take `tokens` (0 < tokens <= burst) from `key`'s bucket if there."""
        return self.acquire_now(key, tokens)


# KEYS[1]: the bucket hash {tokens, ts_us}. ARGV: rate per second, burst, tokens wanted, slack.
# Returns {allowed (0/1), tokens left, retry after (s), server time (us)}, numbers as strings
# because Redis truncates Lua numbers to integers.
_ACQUIRE_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts_us')
local tokens = tonumber(state[1])
local last_us = tonumber(state[2])
if tokens == nil or last_us == nil then
  tokens = burst
  last_us = now_us
end
if now_us > last_us then
  tokens = math.min(burst, tokens + (now_us - last_us) * rate / 1000000)
  last_us = now_us
end
local allowed = 0
local retry_s = 0
if tokens + slack >= want then
  tokens = tokens - want
  allowed = 1
else
  retry_s = (want - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'ts_us', string.format('%.0f', last_us))
local full_in_ms = math.ceil((burst - tokens) / rate * 1000) + 1
redis.call('PEXPIRE', KEYS[1], math.max(1, full_in_ms))
return {allowed, string.format('%.17g', tokens), string.format('%.17g', retry_s),
  string.format('%.0f', now_us)}
"""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisRateLimiter:
    """Per-key token buckets in Redis, shared by every instance using the same `prefix`.

    One atomic Lua script an acquire (EVALSHA, reloaded automatically after NOSCRIPT): it
    refills by the Redis server's clock (`TIME`), so instances share one clock, and sets a
    PEXPIRE at the moment the bucket would be full again, so idle keys vanish (a missing key
    is a full bucket). Cost: one round trip (~0.1 ms on localhost).

    A Redis failure (any `RedisError`, `OSError` or timeout; cancellation still propagates)
    never reaches the caller: `on_error(exc)` is called and `fallback`
    answers (default: a `LocalRateLimiter` with the same rate and burst, so the limit then
    holds per instance). For `error_cooldown_s` seconds after a failure Redis is not tried,
    so an outage costs one connect timeout per cooldown, not one per acquire.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        rate_per_s: float,
        burst: float,
        prefix: str = "loadwatch:ratelimit:",
        fallback: RateLimiter | None = None,
        on_error: Callable[[Exception], None] | None = None,
        error_cooldown_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_limits(rate_per_s, burst)
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.prefix = prefix
        self.fallback: RateLimiter = (
            fallback
            if fallback is not None
            else LocalRateLimiter(rate_per_s=rate_per_s, burst=burst)
        )
        self._on_error = on_error
        self._error_cooldown_s = error_cooldown_s
        self._clock = clock
        self._redis_retry_at_s = -math.inf
        self._script = redis.register_script(_ACQUIRE_LUA)
        self.last_server_time_s: float | None = None
        """Redis server time (s since the epoch) of the last answered acquire."""

    async def acquire(self, key: str, tokens: float = 1.0) -> Decision:
        """Take `tokens` (0 < tokens <= burst) from the shared bucket `prefix + key` if there."""
        _check_tokens(tokens, self.burst)
        if self._clock() < self._redis_retry_at_s:
            return await self.fallback.acquire(key, tokens)
        try:
            reply = await self._script(
                keys=[self.prefix + key],
                args=[repr(self.rate_per_s), repr(self.burst), repr(float(tokens)), SLACK_TOKENS],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._redis_retry_at_s = self._clock() + self._error_cooldown_s
            if self._on_error is not None:
                self._on_error(exc)
            return await self.fallback.acquire(key, tokens)
        allowed, remaining, retry_after_s, now_us = (_text(item) for item in reply)
        self.last_server_time_s = int(now_us) / 1e6
        return Decision(
            allowed=allowed == "1",
            retry_after_s=float(retry_after_s),
            remaining=max(0.0, float(remaining)),
        )


class RateLimitOutcome(Enum):
    """The `outcome` label of RATE_LIMIT_DECISIONS."""

    ALLOWED = "allowed"
    LIMITED = "limited"
    ERROR = "error"


_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_counters_lock = threading.Lock()


class RateLimitMetrics:
    """`loadwatch_rate_limit_decisions_total{service, outcome}` on `registry`.

    Any number of services may share a registry (the family is registered once per
    registry); two for the same service share its series. All three outcomes are exported
    from zero. `observe_error` fits `RedisRateLimiter(on_error=...)`.
    """

    def __init__(self, registry: CollectorRegistry, *, service: str) -> None:
        with _counters_lock:
            counter = _counters.get(registry)
            if counter is None:
                counter = _counters[registry] = Counter(
                    names.RATE_LIMIT_DECISIONS,
                    "Rate-limiter decisions by outcome (error: the shared limiter failed, "
                    "the local fallback answered).",
                    (names.LABEL_SERVICE, names.LABEL_OUTCOME),
                    registry=registry,
                )
        self.counter = counter
        self._children = {
            outcome: self.counter.labels(service, outcome.value) for outcome in RateLimitOutcome
        }

    def observe(self, decision: Decision) -> None:
        """Count one decision as allowed or limited."""
        outcome = RateLimitOutcome.ALLOWED if decision.allowed else RateLimitOutcome.LIMITED
        self._children[outcome].inc()

    def observe_error(self, exc: Exception) -> None:
        """Count one failure of the shared limiter (the fallback's decision is observed too)."""
        self._children[RateLimitOutcome.ERROR].inc()
