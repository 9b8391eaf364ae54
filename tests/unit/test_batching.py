"""Tests for reference_services.batching: batch formation, errors, cancellation, close, metrics."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import CollectorRegistry

from collector.conventions import AI_BATCH_SIZE, AI_INFERENCE_DURATION, AI_QUEUE_WAIT
from reference_services.batching import (
    BatcherClosedError,
    BatchMetrics,
    BatchStats,
    DynamicBatcher,
)
from tests.conftest import TIMEOUT_UNIT_S
from tests.waiting import eventually

DEADLINE_S = 5 * TIMEOUT_UNIT_S
NEVER_S = 3600.0
"""A max_wait_s no test waits for: batches in such tests are dispatched by size or close()."""


class Recorder:
    """A process() that records each batch and doubles every item."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        return [2 * item for item in items]


async def test_seventy_concurrent_submits_with_max_batch_32_form_batches_of_32_32_and_6() -> None:
    recorder = Recorder()
    async with DynamicBatcher(recorder, max_batch=32, max_wait_s=0.005) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            results = await asyncio.gather(*(batcher.submit(i) for i in range(70)))
    assert results == [2 * i for i in range(70)]
    assert [len(batch) for batch in recorder.batches] == [32, 32, 6]
    assert [item for batch in recorder.batches for item in batch] == list(range(70))


async def test_a_full_batch_is_dispatched_without_waiting_for_the_timer() -> None:
    recorder = Recorder()
    async with DynamicBatcher(recorder, max_batch=4, max_wait_s=NEVER_S) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            assert await asyncio.gather(*(batcher.submit(i) for i in range(4))) == [0, 2, 4, 6]
    assert recorder.batches == [[0, 1, 2, 3]]


async def test_a_lone_submit_is_dispatched_when_max_wait_expires() -> None:
    recorder = Recorder()
    async with DynamicBatcher(recorder, max_batch=32, max_wait_s=0.001) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            assert await batcher.submit(21) == 42
    assert recorder.batches == [[21]]


async def test_items_arriving_while_a_batch_runs_in_a_thread_form_the_next_batch() -> None:
    recorder = Recorder()
    release = threading.Event()
    running = 0
    most_running = 0
    lock = threading.Lock()

    def process(items: list[int]) -> list[int]:
        nonlocal running, most_running
        with lock:
            running += 1
            most_running = max(most_running, running)
        release.wait(DEADLINE_S)
        with lock:
            running -= 1
        return recorder(items)

    async with DynamicBatcher(
        process, max_batch=4, max_wait_s=0.001, run_in_thread=True
    ) as batcher:
        first = asyncio.create_task(batcher.submit(0))
        await eventually(
            lambda: batcher.pending == 0 and running == 1, what="the first batch runs", poll_s=0
        )
        later = [asyncio.create_task(batcher.submit(i)) for i in (1, 2, 3)]
        await eventually(lambda: batcher.pending == 3, what="three items are queued", poll_s=0)
        release.set()
        async with asyncio.timeout(DEADLINE_S):
            assert await asyncio.gather(first, *later) == [0, 2, 4, 6]
    assert recorder.batches == [[0], [1, 2, 3]]
    assert most_running == 1


async def test_an_exception_in_process_reaches_every_waiter_of_that_batch_only() -> None:
    error = ValueError("model exploded")

    def process(items: list[int]) -> list[int]:
        if -1 in items:
            raise error
        return [2 * item for item in items]

    async with DynamicBatcher(process, max_batch=2, max_wait_s=NEVER_S) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            results = await asyncio.gather(
                *(batcher.submit(i) for i in (1, -1, 3, 4)), return_exceptions=True
            )
            assert results == [error, error, 6, 8]
            assert list(await asyncio.gather(batcher.submit(5), batcher.submit(6))) == [10, 12]


async def test_a_wrong_number_of_results_fails_every_waiter_of_the_batch() -> None:
    def drop_last(items: list[int]) -> list[int]:
        return items[:-1]

    async with DynamicBatcher(drop_last, max_batch=3, max_wait_s=NEVER_S) as b:
        async with asyncio.timeout(DEADLINE_S):
            results = await asyncio.gather(*(b.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert str(results[0]) == "process() returned 2 results for a batch of 3 items"


async def test_a_waiter_cancelled_while_queued_is_left_out_of_its_batch() -> None:
    recorder = Recorder()
    async with DynamicBatcher(recorder, max_batch=3, max_wait_s=NEVER_S) as batcher:
        kept = asyncio.create_task(batcher.submit(1))
        dropped = asyncio.create_task(batcher.submit(2))
        await eventually(lambda: batcher.pending == 2, what="both items are queued", poll_s=0)
        dropped.cancel()
        with pytest.raises(asyncio.CancelledError):
            await dropped
        assert batcher.pending == 1
        async with asyncio.timeout(DEADLINE_S):
            pending = asyncio.gather(kept, batcher.submit(3), batcher.submit(4))
            assert list(await pending) == [2, 6, 8]
    assert recorder.batches == [[1, 3, 4]]


async def test_a_waiter_cancelled_while_its_batch_runs_does_not_disturb_the_others() -> None:
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release = threading.Event()

    def process(items: list[int]) -> list[int]:
        loop.call_soon_threadsafe(started.set)
        release.wait(DEADLINE_S)
        return [2 * item for item in items]

    async with DynamicBatcher(
        process, max_batch=3, max_wait_s=NEVER_S, run_in_thread=True
    ) as batcher:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in (1, 2, 3)]
        async with asyncio.timeout(DEADLINE_S):
            await started.wait()
        tasks[1].cancel()
        release.set()
        async with asyncio.timeout(DEADLINE_S):
            results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], asyncio.CancelledError)


async def test_close_processes_queued_items_without_waiting_for_the_timer() -> None:
    recorder = Recorder()
    batcher = DynamicBatcher(recorder, max_batch=2, max_wait_s=NEVER_S)
    tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
    await eventually(
        lambda: batcher.pending == 1 and len(recorder.batches) == 1, what="one batch ran", poll_s=0
    )
    async with asyncio.timeout(DEADLINE_S):
        await batcher.close()
        assert await asyncio.gather(*tasks) == [0, 2, 4]
    assert recorder.batches == [[0, 1], [2]]
    assert batcher.closed


async def test_close_without_drain_fails_queued_items_with_batcher_closed_error() -> None:
    recorder = Recorder()
    batcher = DynamicBatcher(recorder, max_batch=10, max_wait_s=NEVER_S)
    tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
    await eventually(lambda: batcher.pending == 3, what="three items are queued", poll_s=0)
    async with asyncio.timeout(DEADLINE_S):
        await batcher.close(drain=False)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, BatcherClosedError) for result in results)
    assert "closed before this item was processed" in str(results[0])
    assert recorder.batches == []


async def test_submit_after_close_raises_and_close_is_idempotent() -> None:
    async with DynamicBatcher(Recorder()) as batcher:
        pass
    await batcher.close()
    with pytest.raises(BatcherClosedError, match=r"submit\(\) after close\(\)"):
        await batcher.submit(1)


async def test_a_submit_from_another_event_loop_is_refused() -> None:
    async with DynamicBatcher(Recorder(), max_batch=1) as batcher:
        assert await batcher.submit(1) == 2
        with pytest.raises(RuntimeError, match="bound to the event loop of its first submit"):
            await asyncio.to_thread(asyncio.run, batcher.submit(2))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_batch": 0}, r"max_batch: expected an integer >= 1, got 0"),
        ({"max_batch": 2.5}, r"max_batch: expected an integer >= 1, got 2.5"),
        ({"max_batch": True}, r"max_batch: expected an integer >= 1, got True"),
        ({"max_wait_s": -0.001}, r"max_wait_s: expected a finite number >= 0, got -0.001"),
        ({"max_wait_s": math.inf}, r"max_wait_s: expected a finite number >= 0, got inf"),
        ({"max_wait_s": math.nan}, r"max_wait_s: expected a finite number >= 0, got nan"),
    ],
)
def test_invalid_batcher_settings_are_rejected_by_name(
    arguments: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DynamicBatcher(Recorder(), **arguments)  # type: ignore[arg-type]


def readings(*values: float) -> Callable[[], float]:
    """A clock returning `values` in order, then failing: each test knows its reads."""
    iterator: Iterator[float] = iter(values)
    return lambda: next(iterator)


async def test_stats_give_size_oldest_queue_wait_and_process_time_of_each_batch() -> None:
    stats: list[BatchStats] = []
    # Clock reads: arrival of 1, arrival of 2, batch start, batch end.
    clock = readings(10.0, 10.003, 10.004, 10.024)
    async with DynamicBatcher(
        Recorder(), max_batch=2, max_wait_s=NEVER_S, on_batch=stats.append, clock=clock
    ) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            await asyncio.gather(batcher.submit(1), batcher.submit(2))
    assert len(stats) == 1
    assert stats[0].size == 2
    assert stats[0].max_queue_wait_s == pytest.approx(0.004)
    assert stats[0].process_s == pytest.approx(0.020)


async def test_stats_are_reported_for_a_failed_batch_too() -> None:
    stats: list[BatchStats] = []

    def fail(items: list[int]) -> list[int]:
        raise ValueError("no")

    async with DynamicBatcher(fail, max_batch=1, on_batch=stats.append) as batcher:
        with pytest.raises(ValueError, match="no"):
            await batcher.submit(1)
    assert [s.size for s in stats] == [1]


async def test_a_failing_on_batch_callback_is_logged_and_the_batcher_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(stats: BatchStats) -> None:
        raise KeyError("metrics backend gone")

    with caplog.at_level(logging.ERROR, logger="reference_services.batching"):
        async with DynamicBatcher(Recorder(), max_batch=1, on_batch=broken) as batcher:
            async with asyncio.timeout(DEADLINE_S):
                assert await batcher.submit(1) == 2
                assert await batcher.submit(2) == 4
    assert len(caplog.records) == 2
    assert "on_batch callback failed" in caplog.records[0].getMessage()


def test_batch_metrics_record_size_queue_wait_and_inference_time_under_the_service_label() -> None:
    registry = CollectorRegistry()
    metrics = BatchMetrics(registry, service="course")
    metrics.observe(BatchStats(size=2, max_queue_wait_s=0.004, process_s=0.02))
    metrics.observe(BatchStats(size=32, max_queue_wait_s=0.0001, process_s=0.003))
    labels = {"service": "course"}

    def sample(name: str, **extra: str) -> float | None:
        return registry.get_sample_value(name, {**labels, **extra})

    assert sample(f"{AI_BATCH_SIZE}_count") == 2
    assert sample(f"{AI_BATCH_SIZE}_sum") == 34
    assert sample(f"{AI_BATCH_SIZE}_bucket", le="2.0") == 1
    assert sample(f"{AI_BATCH_SIZE}_bucket", le="16.0") == 1
    assert sample(f"{AI_BATCH_SIZE}_bucket", le="32.0") == 2
    assert sample(f"{AI_QUEUE_WAIT}_sum") == pytest.approx(0.0041)
    assert sample(f"{AI_QUEUE_WAIT}_bucket", le="0.0005") == 1
    assert sample(f"{AI_QUEUE_WAIT}_bucket", le="0.005") == 2
    assert sample(f"{AI_INFERENCE_DURATION}_sum") == pytest.approx(0.023)
    assert sample(f"{AI_INFERENCE_DURATION}_bucket", le="0.005") == 1
    assert sample(f"{AI_INFERENCE_DURATION}_bucket", le="0.025") == 2


async def test_batch_metrics_count_every_batch_when_used_as_on_batch() -> None:
    registry = CollectorRegistry()
    metrics = BatchMetrics(registry, service="course")
    async with DynamicBatcher(
        Recorder(), max_batch=32, max_wait_s=0.005, on_batch=metrics.observe
    ) as batcher:
        async with asyncio.timeout(DEADLINE_S):
            await asyncio.gather(*(batcher.submit(i) for i in range(70)))
    labels = {"service": "course"}
    assert registry.get_sample_value(f"{AI_BATCH_SIZE}_count", labels) == 3
    assert registry.get_sample_value(f"{AI_BATCH_SIZE}_sum", labels) == 70
    assert registry.get_sample_value(f"{AI_BATCH_SIZE}_bucket", {**labels, "le": "8.0"}) == 1
    assert registry.get_sample_value(f"{AI_QUEUE_WAIT}_count", labels) == 3
    assert registry.get_sample_value(f"{AI_INFERENCE_DURATION}_count", labels) == 3
