"""Garbage-collector settings for processes that hold thousands of connections.

CPython's cyclic collector runs a young collection every 700 net allocations and a full
one whenever the long-lived heap has grown by a quarter. A service that takes 10,000
keep-alive connections within seconds (about 50 tracked objects each) therefore runs
several full collections during the ramp, each pausing every request for hundreds of
milliseconds on a slow core. `settle_heap()` moves everything allocated during start-up
(modules, classes, compiled queries, the model) out of the collector's sight with
`gc.freeze()`, and raises the young-generation threshold so collections are rarer and
the long-lived heap is scanned less often. Cycles are still collected.
"""

from __future__ import annotations

import gc

__all__ = ["DEFAULT_GEN0_THRESHOLD", "settle_heap"]

DEFAULT_GEN0_THRESHOLD = 50_000
"""Net allocations between young collections (CPython's default: 700)."""


def settle_heap(gen0_threshold: int = DEFAULT_GEN0_THRESHOLD) -> int:
    """Collect once, freeze the survivors, raise the gen-0 threshold; returns the frozen
    object count. Call at the end of start-up, before traffic arrives."""
    if gen0_threshold < 1:
        raise ValueError(f"gen0_threshold: expected >= 1, got {gen0_threshold!r}")
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
    return gc.get_freeze_count()
