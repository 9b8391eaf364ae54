"""Dynamic batching for asyncio: concurrent ``submit()`` calls share one ``process(batch)`` call.

The first item of a batch starts a ``max_wait_s`` timer; the batch is dispatched when it
holds ``max_batch`` items or the timer fires, whichever comes first. One batch runs at a
time, so a burst forms full batches while the previous one is processed. There is no
backpressure: the queue of waiting items is unbounded (bound it upstream, e.g. with a
semaphore or the HTTP server's connection limit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Histogram

from collector.conventions import (
    AI_BATCH_SIZE,
    AI_INFERENCE_DURATION,
    AI_QUEUE_WAIT,
    LABEL_SERVICE,
)

__all__ = [
    "BATCH_SIZE_BUCKETS",
    "INFERENCE_DURATION_BUCKETS_S",
    "QUEUE_WAIT_BUCKETS_S",
    "BatchMetrics",
    "BatchStats",
    "BatcherClosedError",
    "DynamicBatcher",
]

T = TypeVar("T")
R = TypeVar("R")

BATCH_SIZE_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
QUEUE_WAIT_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1)
INFERENCE_DURATION_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

_log = logging.getLogger(__name__)


class BatcherClosedError(RuntimeError):
    """The batcher was closed before this item could be processed."""


@dataclass(frozen=True)
class BatchStats:
    """One dispatched batch: its size, its oldest item's queue wait and process() time (s)."""

    size: int
    max_queue_wait_s: float
    process_s: float


class _Entry(Generic[T, R]):
    """A queued item, the future its submitter awaits, when it arrived (``clock`` seconds)
    and when its batch is due if it is the first of one (loop seconds). Identity equality.
    """

    __slots__ = ("arrived", "due", "future", "item")

    def __init__(self, item: T, future: asyncio.Future[R], arrived: float, due: float) -> None:
        self.item, self.future, self.arrived, self.due = item, future, arrived, due


class DynamicBatcher(Generic[T, R]):
    """Groups concurrent ``submit(item)`` calls into ``process(items)`` calls of <= max_batch.

    ``process`` receives a non-empty list and must return a list of results of the same
    length, in order. Its exception (or a wrong result length, as RuntimeError) goes to
    every submitter of that batch; later batches are unaffected. Inline (the default),
    ``process`` blocks the event loop while it runs (the loop gets a turn between batches);
    with ``run_in_thread`` it runs in ``asyncio.to_thread``, still one batch at a time. An
    item waits at most ``max_wait_s`` plus the time to finish the batches ahead of it; with
    fewer concurrent submitters than ``max_batch``, every batch waits the full ``max_wait_s``.
    Overhead: a future and a few microseconds per item, one worker wake-up per batch.

    ``on_batch`` is called on the loop after each batch (its exceptions are logged, not
    raised); ``clock`` (seconds) times the stats only, the timer uses the loop's clock.
    The batcher binds to the running loop at its first ``submit``. Use ``async with`` or
    call ``close()``.
    """

    def __init__(
        self,
        process: Callable[[list[T]], list[R]],
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.005,
        run_in_thread: bool = False,
        on_batch: Callable[[BatchStats], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Raises ValueError unless max_batch >= 1 and max_wait_s >= 0 (finite)."""
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch: expected an integer >= 1, got {max_batch!r}")
        if not 0 <= max_wait_s < float("inf"):
            raise ValueError(f"max_wait_s: expected a finite number >= 0, got {max_wait_s!r}")
        self._process = process
        self._max_batch = max_batch
        self._max_wait_s = float(max_wait_s)
        self._run_in_thread = run_in_thread
        self._on_batch = on_batch
        self._clock = clock
        self._queue: deque[_Entry[T, R]] = deque()
        self._in_flight: list[_Entry[T, R]] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Items waiting to be dispatched (not counting the batch being processed)."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called; ``submit()`` then raises BatcherClosedError."""
        return self._closed

    async def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch has been processed.

        Raises what ``process`` raised for the batch, RuntimeError for a wrong result
        length, or BatcherClosedError if the batcher is (or gets) closed without draining.
        Cancelling the caller removes the item; the rest of its batch proceeds.
        """
        if self._closed:
            raise BatcherClosedError("DynamicBatcher is closed: submit() after close()")
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._loop = loop
            self._worker = loop.create_task(self._run(), name="DynamicBatcher")
        elif loop is not self._loop:
            raise RuntimeError("DynamicBatcher is bound to the event loop of its first submit()")
        future: asyncio.Future[R] = loop.create_future()
        entry = _Entry(item, future, self._clock(), loop.time() + self._max_wait_s)
        self._queue.append(entry)
        if len(self._queue) == 1 or len(self._queue) >= self._max_batch:
            self._wake.set()
        try:
            return await future
        except asyncio.CancelledError:
            if entry in self._queue:  # not dispatched yet: its batch goes on without it
                self._queue.remove(entry)
            raise

    async def close(self, *, drain: bool = True) -> None:
        """Stop accepting items and return once the worker has stopped.

        With ``drain`` (the default) every queued item is still processed, in full batches
        without waiting for timers; otherwise queued items fail at once with
        BatcherClosedError. The batch already running always completes. Idempotent.
        """
        if not self._closed:
            self._closed = True
            if not drain:
                self._fail(self._queue, "DynamicBatcher closed before this item was processed")
                self._queue.clear()
            self._wake.set()
        if self._worker is not None:
            await asyncio.shield(self._worker)

    async def __aenter__(self) -> DynamicBatcher[T, R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(self) -> None:
        try:
            while True:
                while not self._queue and not self._closed:
                    self._wake.clear()
                    await self._wake.wait()
                if not self._queue:
                    return
                while self._queue and len(self._queue) < self._max_batch and not self._closed:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout_at(self._queue[0].due):
                            await self._wake.wait()
                    except TimeoutError:
                        break
                count = min(self._max_batch, len(self._queue))
                self._in_flight = [self._queue.popleft() for _ in range(count)]
                await self._dispatch(self._in_flight)
                self._in_flight = []
                if not self._run_in_thread:
                    await asyncio.sleep(0)  # let other tasks run between inline batches
        finally:
            self._closed = True
            self._fail(self._in_flight, "DynamicBatcher stopped while processing this item")
            self._fail(self._queue, "DynamicBatcher stopped before this item was processed")
            self._queue.clear()

    async def _dispatch(self, batch: list[_Entry[T, R]]) -> None:
        live = [entry for entry in batch if not entry.future.done()]
        if not live:
            return
        items = [entry.item for entry in live]
        start = self._clock()
        try:
            if self._run_in_thread:
                results = await asyncio.to_thread(self._process, items)
            else:
                results = self._process(items)
            if len(results) != len(items):
                raise RuntimeError(
                    f"process() returned {len(results)} results for a batch of {len(items)} items"
                )
        except Exception as exc:
            for entry in live:
                if not entry.future.done():
                    entry.future.set_exception(exc)
        else:
            for entry, result in zip(live, results, strict=True):
                if not entry.future.done():
                    entry.future.set_result(result)
        end = self._clock()
        if self._on_batch is not None:
            stats = BatchStats(
                size=len(live),
                max_queue_wait_s=start - min(entry.arrived for entry in live),
                process_s=end - start,
            )
            try:
                self._on_batch(stats)
            except Exception:
                _log.exception("DynamicBatcher on_batch callback failed for %s", stats)

    @staticmethod
    def _fail(entries: Iterable[_Entry[T, R]], message: str) -> None:
        for entry in entries:
            if not entry.future.done():
                entry.future.set_exception(BatcherClosedError(message))


class BatchMetrics:
    """Prometheus histograms of batch size, queue wait and inference time, for one service.

    Registers ``AI_BATCH_SIZE``, ``AI_QUEUE_WAIT`` (the oldest item's wait per batch,
    seconds) and ``AI_INFERENCE_DURATION`` (process() per batch, seconds), each labelled
    ``service``. Pass ``observe`` as a DynamicBatcher's ``on_batch``; it costs ~3 us.
    """

    def __init__(self, registry: CollectorRegistry, *, service: str) -> None:
        """Raises ValueError (from prometheus_client) if the names are already registered."""
        labels = (LABEL_SERVICE,)
        self._size = Histogram(
            AI_BATCH_SIZE,
            "Items per dispatched inference batch.",
            labels,
            registry=registry,
            buckets=BATCH_SIZE_BUCKETS,
        ).labels(service)
        self._wait = Histogram(
            AI_QUEUE_WAIT,
            "Longest time an item of the batch waited in the queue before dispatch, seconds.",
            labels,
            registry=registry,
            buckets=QUEUE_WAIT_BUCKETS_S,
        ).labels(service)
        self._duration = Histogram(
            AI_INFERENCE_DURATION,
            "Time to run the model on one batch, seconds.",
            labels,
            registry=registry,
            buckets=INFERENCE_DURATION_BUCKETS_S,
        ).labels(service)

    def observe(self, stats: BatchStats) -> None:
        """Record one batch."""
        self._size.observe(stats.size)
        self._wait.observe(stats.max_queue_wait_s)
        self._duration.observe(stats.process_s)
