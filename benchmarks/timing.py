"""Timing helpers: medians of repeated runs, loop overhead subtracted."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

__all__ = ["median_ns_per_call"]


def median_ns_per_call(
    body: Callable[[int], None], baseline: Callable[[int], None], *, calls: int, repeats: int
) -> float:
    """Median over `repeats` of (body(calls) - baseline(calls)) / calls, in nanoseconds.

    `body(n)` and `baseline(n)` run the same loop of n iterations; the baseline's loop
    does everything but the call being measured, so the difference is the call's cost.
    The garbage collector is off while timing.
    """
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter_ns()
            baseline(calls)
            middle = time.perf_counter_ns()
            body(calls)
            end = time.perf_counter_ns()
            samples.append(((end - middle) - (middle - start)) / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(samples)
