"""The 1 Hz ticker with injected clocks: late wake-ups, stalls and failing sources."""

from __future__ import annotations

import asyncio
import logging

import pytest

from collector.instrumentation import Instrumentation
from collector.process_stats import ProcessSample
from collector.sla import default_sla
from collector.snapshot import PoolSample
from collector.ticker import AFTER_BOUNDARY_S, Ticker

START_S = 1_000.25
"""Unix time at which the fake clocks start; the monotonic clock then reads 0."""


class FakeClocks:
    """A wall clock and a monotonic clock that move together, only when told to."""

    def __init__(self) -> None:
        self.monotonic_s = 0.0

    def wall(self) -> float:
        return START_S + self.monotonic_s

    def monotonic(self) -> float:
        return self.monotonic_s

    def at(self, unix_s: float) -> float:
        """Move both clocks to Unix time `unix_s`; returns the monotonic reading there."""
        self.monotonic_s = unix_s - START_S
        return self.monotonic_s


class Sampler:
    """A process sampler that can be told to raise."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, now_s: float) -> ProcessSample:
        if self.failing:
            raise PermissionError("psutil: access denied")
        return ProcessSample(cpu_percent=12.5, rss_bytes=int(now_s))


def make(clocks: FakeClocks) -> tuple[Instrumentation, Ticker, Sampler]:
    inst = Instrumentation("svc", default_sla())
    sampler = Sampler()
    ticker = Ticker(inst, clock=clocks.wall, monotonic=clocks.monotonic, sampler=sampler)
    return inst, ticker, sampler


def request_at(inst: Instrumentation, clocks: FakeClocks, unix_s: float, status: int = 200) -> None:
    """A request of 10 ms completing at Unix time `unix_s`, as the middleware records it."""
    inst.requests.series("/r", "GET").append((status, 0.010, clocks.at(unix_s)))


def test_a_tick_late_by_most_of_a_second_keeps_the_next_seconds_requests_out() -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)
    request_at(inst, clocks, 1_000.5)
    request_at(inst, clocks, 1_001.3)  # the loop was busy: the tick for 1000 comes at 1001.9
    request_at(inst, clocks, 1_001.8)
    clocks.at(1_001.9)
    (first,) = ticker.tick()
    assert (first.timestamp_s, first.requests, first.stalled) == (1_001.0, 1, False)
    clocks.at(1_002.0 + AFTER_BOUNDARY_S)
    (second,) = ticker.tick()
    assert (second.timestamp_s, second.requests, second.stalled) == (1_002.0, 2, False)


def test_a_stall_emits_every_skipped_second_once_marked_as_stalled() -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)
    clocks.at(1_001.002)
    ticker.tick()
    request_at(inst, clocks, 1_001.4)
    request_at(inst, clocks, 1_002.7, status=503)
    request_at(inst, clocks, 1_003.1)  # completed after the stall, before the late tick
    clocks.at(1_004.5)
    snapshots = ticker.tick()
    assert [(s.timestamp_s, s.requests, s.errors, s.stalled) for s in snapshots] == [
        (1_002.0, 1, 0, True),
        (1_003.0, 1, 1, True),
        (1_004.0, 1, 0, False),
    ]
    assert [s.timestamp_s for s in inst.recent] == [1_001.0, 1_002.0, 1_003.0, 1_004.0]
    assert inst.latest is snapshots[-1]
    assert inst.latest.latency_60s.count == 3
    assert ticker.tick() == []  # the same second again: nothing to close


def test_a_stall_longer_than_the_window_catches_up_the_window_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)
    request_at(inst, clocks, 1_000.5)
    clocks.at(1_500.1)
    with caplog.at_level(logging.WARNING, logger="collector.ticker"):
        snapshots = ticker.tick()
    window_s = inst.requests.sketch.window_s
    assert len(snapshots) == window_s
    assert snapshots[0].timestamp_s == 1_500.0 - window_s + 1
    assert snapshots[0].requests == 1  # counted once, in the first second caught up
    assert sum(s.requests for s in snapshots) == 1
    assert "stalled for 500 s" in caplog.text


def test_a_raising_pool_source_is_logged_once_and_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)
    broken = {"on": True}

    def flaky_pool() -> PoolSample:
        if broken["on"]:
            raise ConnectionError("pool is gone")
        return PoolSample(in_use=1, size=5)

    inst.pool_sources.append(lambda: PoolSample(in_use=2, size=10))
    inst.pool_sources.append(flaky_pool)
    with caplog.at_level(logging.INFO, logger="collector.instrumentation"):
        for second in range(1_001, 1_004):
            clocks.at(second + AFTER_BOUNDARY_S)
            (snapshot,) = ticker.tick()
            assert snapshot.db_pool == PoolSample(in_use=2, size=10)
        broken["on"] = False
        clocks.at(1_004 + AFTER_BOUNDARY_S)
        (snapshot,) = ticker.tick()
    assert snapshot.db_pool == PoolSample(in_use=3, size=15)
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "pool is gone" in caplog.text
    assert "works again" in caplog.text


def test_a_raising_process_sampler_keeps_the_last_good_sample(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clocks = FakeClocks()
    _, ticker, sampler = make(clocks)
    clocks.at(1_001.002)
    (good,) = ticker.tick()
    sampler.failing = True
    clocks.at(1_002.002)
    with caplog.at_level(logging.ERROR, logger="collector.instrumentation"):
        (kept,) = ticker.tick()
    assert (kept.cpu_percent, kept.rss_bytes) == (good.cpu_percent, good.rss_bytes)
    assert kept.timestamp_s == 1_002.0
    assert "process sampler failed" in caplog.text


def test_a_second_whose_close_raises_is_logged_and_the_next_one_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)

    class BrokenCache:
        @property
        def hits(self) -> int:
            raise RuntimeError("cache counters broke")

    working = inst.cache
    inst.cache = BrokenCache()  # type: ignore[assignment]
    clocks.at(1_001.002)
    with caplog.at_level(logging.ERROR, logger="collector.instrumentation"):
        assert ticker.tick() == []
    inst.cache = working
    request_at(inst, clocks, 1_001.5)
    clocks.at(1_002.002)
    (snapshot,) = ticker.tick()
    assert (snapshot.timestamp_s, snapshot.requests) == (1_002.0, 1)
    assert "closing a second failed" in caplog.text


def test_a_wall_clock_stepped_back_restarts_from_the_new_second() -> None:
    clocks = FakeClocks()
    _, ticker, _ = make(clocks)
    clocks.at(1_001.002)
    ticker.tick()
    clocks.at(1_001.002 - 30)
    assert ticker.tick() == []
    clocks.at(1_001.002 - 29)
    (snapshot,) = ticker.tick()
    assert snapshot.timestamp_s == 1_001.0 - 29


def test_the_delay_aims_just_after_the_next_boundary() -> None:
    clocks = FakeClocks()
    _, ticker, _ = make(clocks)
    clocks.at(1_000.75)
    assert ticker.delay_s() == pytest.approx(0.25 + AFTER_BOUNDARY_S)


async def test_run_survives_failing_ticks_and_ends_only_when_cancelled() -> None:
    clocks = FakeClocks()
    inst, ticker, sampler = make(clocks)
    sampler.failing = True
    sleeps = 0

    async def sleep(delay_s: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps > 5:
            raise asyncio.CancelledError
        clocks.at(clocks.wall() + delay_s)

    with pytest.raises(asyncio.CancelledError):
        await ticker.run(sleep=sleep)
    assert [s.timestamp_s for s in inst.recent] == [1_001.0, 1_002.0, 1_003.0, 1_004.0, 1_005.0]


def test_snapshot_after_lets_a_poller_read_every_second_in_order() -> None:
    clocks = FakeClocks()
    inst, ticker, _ = make(clocks)
    clocks.at(1_004.5)
    ticker.tick()
    seen = []
    after = 0.0
    while (snapshot := inst.snapshot_after(after)) is not None:
        seen.append(snapshot.timestamp_s)
        after = snapshot.timestamp_s
    assert seen == [1_001.0, 1_002.0, 1_003.0, 1_004.0]
