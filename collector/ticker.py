"""The 1 Hz ticker: closes every second of one service, once, in order, whatever happens.

    ticker = Ticker(inst)                 # wall clock time.time, monotonic perf_counter
    task = loop.create_task(ticker.run())

Each tick reads both clocks, so the recorder can put every request in the Unix second it
completed in (`RequestRecorder.clock_offset_s`), then closes every second that ended
since the previous tick. A tick late by 0.9 s therefore still closes exactly the requests
of its second; a stall over a second closes each skipped second with its own snapshot,
marked `stalled` (never a gap followed by a double second). At most `window_s` seconds are
caught up at once; older ones are skipped with a warning (their requests, if any, count in
the first second closed). A failing pool source, psutil or close is logged (once, until it
recovers) and the ticker goes on: `run()` only ends when cancelled.

Cost per tick: one fold and one snapshot per closed second (~0.1 ms at 2,000 req/s).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from collector.instrumentation import Instrumentation
from collector.process_stats import ProcessSample, ProcessSampler
from collector.snapshot import Snapshot

__all__ = ["AFTER_BOUNDARY_S", "Ticker"]

_log = logging.getLogger(__name__)

AFTER_BOUNDARY_S = 0.002
"""How long after a wall-clock second boundary a tick is due (seconds)."""


class Ticker:
    """Closes the seconds of `inst`; clocks and the process sampler are injectable.

    `clock` gives Unix seconds; `monotonic` must be the clock whose values the requests'
    `end_s` carry (the middleware's `time.perf_counter`). `sampler(now_s)` samples CPU and
    memory (default: psutil via `ProcessSampler`).
    """

    def __init__(
        self,
        inst: Instrumentation,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.perf_counter,
        sampler: Callable[[float], ProcessSample] | None = None,
    ) -> None:
        self.inst = inst
        self._clock = clock
        self._monotonic = monotonic
        self._sampler = sampler if sampler is not None else ProcessSampler().sample
        self._max_catch_up = inst.requests.sketch.window_s
        self._process = ProcessSample(cpu_percent=0.0, rss_bytes=0)
        now = self._sync_clocks()
        self._next = math.floor(now)  # the first second not closed yet
        self._sample(now)

    def delay_s(self) -> float:
        """Seconds from now until the next tick is due (just after the next boundary)."""
        now = self._clock()
        return max(0.0, math.floor(now) + 1 - now) + AFTER_BOUNDARY_S

    def tick(self) -> list[Snapshot]:
        """Close every second that ended since the previous tick; their snapshots, oldest
        first (none when called again within the same second, or the clock went back)."""
        now = self._sync_clocks()
        current = math.floor(now)  # the second still open
        first = self._next
        if current < first - 1:
            _log.warning(
                "%s: the wall clock went back by %d s; closing seconds from %d on",
                self.inst.service,
                first - current,
                current,
            )
            self._next = current
            return []
        if first >= current:
            return []
        if current - first > self._max_catch_up:
            skipped_to = current - self._max_catch_up
            _log.warning(
                "%s: the ticker was stalled for %d s; seconds %d..%d get no snapshot of "
                "their own (only the last %d s are caught up)",
                self.inst.service,
                current - first,
                first,
                skipped_to - 1,
                self._max_catch_up,
            )
            first = skipped_to
        process = self._sample(now)
        part = f"{self.inst.service}: closing a second"
        closed = []
        for second in range(first, current):
            try:
                snapshot = self.inst.close_second(second, process, stalled=second < current - 1)
            except Exception:
                self.inst.failures.failed(part)
            else:
                self.inst.failures.ok(part)
                closed.append(snapshot)
        self._next = current
        return closed

    async def run(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Tick just after every wall-clock second boundary until cancelled; never raises
        anything else (a failing tick is logged)."""
        while True:
            await sleep(self.delay_s())
            try:
                self.tick()
            except Exception:
                self.inst.failures.failed(f"{self.inst.service}: the ticker")
            else:
                self.inst.failures.ok(f"{self.inst.service}: the ticker")

    def _sync_clocks(self) -> float:
        """Read both clocks; tell the recorder how to turn monotonic ends into Unix time."""
        now = self._clock()
        self.inst.requests.clock_offset_s = now - self._monotonic()
        return now

    def _sample(self, now_s: float) -> ProcessSample:
        """CPU and memory now, or the last good sample when the sampler raises."""
        part = f"{self.inst.service}: process sampler"
        try:
            self._process = self._sampler(now_s)
        except Exception:
            self.inst.failures.failed(part)
        else:
            self.inst.failures.ok(part)
        return self._process
