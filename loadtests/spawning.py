"""Spawn users in small batches so that a fast ramp does not stall measurements.

Locust's dispatcher starts `floor(spawn_rate)` users at once, once a second: at 1,000
users/s that is a tight loop of 1,000 user constructions (about 250 ms on one core here)
during which no response is read, so every request in flight looks 250 ms slower. The SLA
scenario's ramp showed exactly that: p95 of 250 ms on every route, L1 cache hits included,
with both processes mostly idle. `SmoothDispatcher` keeps Locust's schedule (the same
users per second) but dispatches `DISPATCHES_PER_S` smaller batches a second.

Before each batch it also calls `gc.freeze()`, so users already started (about 40 tracked
objects each) leave the collector's generations: otherwise, once the ramp has grown the
heap by a quarter, a full collection walks all 10,000 users and pauses every request in
flight for 150 ms or more (seen as one window with a p95 of 167 ms right after the ramp).
Freezing is O(1); what it keeps alive is at most the cyclic garbage of that moment.

Imports locust (gevent-patched): Locust processes only.
"""

from __future__ import annotations

import gc
import math
from typing import Any

from locust.dispatch import UsersDispatcher

__all__ = ["DISPATCHES_PER_S", "SmoothDispatcher", "batch_size", "freeze_started_users"]

DISPATCHES_PER_S = 100
"""Batches a second; 1,000 users/s becomes 10 users every 10 ms (about 2.5 ms of work)."""


def batch_size(spawn_rate: float, dispatches_per_s: int = DISPATCHES_PER_S) -> int:
    """Users started per dispatch at `spawn_rate` users/s (at least 1)."""
    return max(1, math.ceil(spawn_rate / dispatches_per_s))


def freeze_started_users(**_: Any) -> None:
    """`spawning_complete` listener: workers, which spawn what a master dispatches, freeze
    their users once the ramp is over (the dispatcher's freezes run on the master)."""
    gc.freeze()


class SmoothDispatcher(UsersDispatcher):
    """Locust's UsersDispatcher with batches of `batch_size(spawn_rate)` users."""

    def new_dispatch(
        self, target_user_count: int, spawn_rate: float, user_classes: list[Any] | None = None
    ) -> None:
        super().new_dispatch(target_user_count, spawn_rate, user_classes)
        per_dispatch = batch_size(spawn_rate)
        self._user_count_per_dispatch_iteration = per_dispatch
        self._wait_between_dispatch = per_dispatch / spawn_rate

    def __next__(self) -> dict[str, dict[str, int]]:
        gc.freeze()  # the users started so far are long-lived: keep them out of collections
        result: dict[str, dict[str, int]] = super().__next__()
        return result
