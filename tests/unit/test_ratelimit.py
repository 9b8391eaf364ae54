"""The token bucket (pure), the in-process limiter and the decision counter."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from collector import conventions as names
from reference_services.ratelimit import (
    SLACK_TOKENS,
    Decision,
    LocalRateLimiter,
    RateLimitMetrics,
    TokenBucket,
)


@pytest.mark.parametrize(
    ("rate", "burst", "requests", "expected"),
    [
        # A new bucket is full: `burst` grants at one instant, then a refusal.
        (
            1.0,
            3.0,
            [(0.0, 1.0)] * 4,
            [(True, 0.0, 2.0), (True, 0.0, 1.0), (True, 0.0, 0.0), (False, 1.0, 0.0)],
        ),
        # Refill at `rate`, capped at `burst`.
        (
            2.0,
            2.0,
            [(0.0, 2.0), (0.5, 1.0), (100.0, 2.0)],
            [(True, 0.0, 0.0), (True, 0.0, 0.0), (True, 0.0, 0.0)],
        ),
        # retry_after is the time until the requested tokens are there.
        (4.0, 4.0, [(0.0, 4.0), (0.25, 3.0)], [(True, 0.0, 0.0), (False, 0.5, 1.0)]),
        # A clock step back mints nothing.
        (
            1.0,
            1.0,
            [(10.0, 1.0), (5.0, 1.0), (10.5, 1.0)],
            [(True, 0.0, 0.0), (False, 1.0, 0.0), (False, 0.5, 0.5)],
        ),
        # A refusal takes nothing: a smaller request still fits.
        (
            1.0,
            5.0,
            [(0.0, 4.0), (0.0, 2.0), (0.0, 1.0)],
            [(True, 0.0, 1.0), (False, 1.0, 1.0), (True, 0.0, 0.0)],
        ),
    ],
)
def test_bucket_grants_refills_and_refuses_as_tabled(
    rate: float,
    burst: float,
    requests: list[tuple[float, float]],
    expected: list[tuple[bool, float, float]],
) -> None:
    bucket = TokenBucket(rate, burst)
    decisions = [bucket.try_acquire(now, tokens) for now, tokens in requests]
    assert [(d.allowed, d.retry_after_s, d.remaining) for d in decisions] == [
        (allowed, pytest.approx(retry), pytest.approx(remaining))
        for allowed, retry, remaining in expected
    ]


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0.0, 1.0, "rate_per_s"),
        (-1.0, 1.0, "rate_per_s"),
        (math.nan, 1.0, "rate_per_s"),
        (1.0, 0.0, "burst"),
        (1.0, math.inf, "burst"),
    ],
)
def test_bucket_rejects_limits_that_are_not_positive(
    rate: float, burst: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(rate, burst)


@pytest.mark.parametrize("tokens", [0.0, -1.0, 2.5, math.nan])
def test_bucket_rejects_token_counts_outside_zero_to_burst(tokens: float) -> None:
    with pytest.raises(ValueError, match="tokens"):
        TokenBucket(1.0, 2.0).try_acquire(0.0, tokens)


limits = st.tuples(
    st.floats(min_value=0.1, max_value=1000.0), st.floats(min_value=0.5, max_value=100.0)
)


def request_lists(times: st.SearchStrategy[float]) -> st.SearchStrategy[list[tuple[float, float]]]:
    return st.lists(st.tuples(times, st.floats(min_value=0.01, max_value=1.0)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(limits=limits, requests=request_lists(st.floats(min_value=0.0, max_value=100.0)))
def test_no_span_is_granted_more_than_burst_plus_rate_times_span(
    limits: tuple[float, float], requests: list[tuple[float, float]]
) -> None:
    rate, burst = limits
    bucket = TokenBucket(rate, burst)
    times = sorted(now for now, _ in requests)
    granted = []
    for now, (_, share) in zip(times, requests, strict=True):
        tokens = share * burst
        granted.append(tokens if bucket.try_acquire(now, tokens).allowed else 0.0)
    for first in range(len(times)):
        total = 0.0
        for last in range(first, len(times)):
            total += granted[last]
            assert total <= burst + rate * (times[last] - times[first]) + SLACK_TOKENS * 10


@settings(max_examples=300, deadline=None)
@given(limits=limits, requests=request_lists(st.floats(min_value=0.0, max_value=100.0)))
def test_requests_out_of_time_order_never_mint_tokens(
    limits: tuple[float, float], requests: list[tuple[float, float]]
) -> None:
    rate, burst = limits
    bucket = TokenBucket(rate, burst)
    total = 0.0
    for now, share in requests:
        tokens = share * burst
        if bucket.try_acquire(now, tokens).allowed:
            total += tokens
    if requests:
        times = [now for now, _ in requests]
        assert total <= burst + rate * (max(times) - min(times)) + SLACK_TOKENS * 10


@settings(max_examples=300, deadline=None)
@given(
    limits=limits,
    requests=request_lists(st.floats(min_value=0.0, max_value=1000.0)),
    share=st.floats(min_value=0.01, max_value=1.0),
)
def test_retry_after_is_exact(
    limits: tuple[float, float], requests: list[tuple[float, float]], share: float
) -> None:
    rate, burst = limits
    bucket = TokenBucket(rate, burst)
    now = 0.0
    for now, tokens in sorted(requests):
        bucket.try_acquire(now, tokens * burst)
    wanted = share * burst
    decision = bucket.try_acquire(now, wanted)
    if decision.allowed:
        assert decision.retry_after_s == 0.0
        return
    assert decision.retry_after_s > 0
    on_time = copy.deepcopy(bucket)
    assert on_time.try_acquire(now + decision.retry_after_s, wanted).allowed
    early_s = decision.retry_after_s * 0.999
    if rate * (decision.retry_after_s - early_s) > 10 * SLACK_TOKENS:
        assert not copy.deepcopy(bucket).try_acquire(now + early_s, wanted).allowed


async def test_local_limiter_keeps_a_bucket_per_key() -> None:
    now = [0.0]
    limiter = LocalRateLimiter(rate_per_s=1.0, burst=1.0, clock=lambda: now[0])
    assert (await limiter.acquire("twitter")).allowed
    assert (await limiter.acquire("facebook")).allowed
    refused = await limiter.acquire("twitter")
    assert refused == Decision(allowed=False, retry_after_s=1.0, remaining=0.0)
    now[0] = 1.0
    assert (await limiter.acquire("twitter")).allowed


async def test_local_limiter_evicts_the_least_recently_used_key() -> None:
    limiter = LocalRateLimiter(rate_per_s=1.0, burst=1.0, max_keys=2, clock=lambda: 0.0)
    await limiter.acquire("a")
    await limiter.acquire("b")
    assert not (await limiter.acquire("a")).allowed  # "a" is now the most recent
    await limiter.acquire("c")  # evicts "b"
    assert len(limiter) == 2
    assert (await limiter.acquire("b")).allowed  # a fresh, full bucket
    assert not (await limiter.acquire("c")).allowed


def test_metrics_count_each_outcome_from_zero() -> None:
    registry = CollectorRegistry()
    metrics = RateLimitMetrics(registry, service="campaign")
    RateLimitMetrics(registry, service="course")  # another service shares the family
    metrics.observe(Decision(allowed=True, retry_after_s=0.0, remaining=1.0))
    metrics.observe(Decision(allowed=True, retry_after_s=0.0, remaining=0.0))
    metrics.observe(Decision(allowed=False, retry_after_s=1.0, remaining=0.0))
    metrics.observe_error(ConnectionError("refused"))

    def value(service: str, outcome: str) -> float | None:
        return registry.get_sample_value(
            f"{names.RATE_LIMIT_DECISIONS}_total",
            {names.LABEL_SERVICE: service, names.LABEL_OUTCOME: outcome},
        )

    assert [value("campaign", o) for o in ("allowed", "limited", "error")] == [2.0, 1.0, 1.0]
    assert [value("course", o) for o in ("allowed", "limited", "error")] == [0.0, 0.0, 0.0]
