"""Spawn users in small batches so that a fast ramp does not stall measurements.

Locust's dispatcher starts `floor(spawn_rate)` users at once, once a second: at 1,000
users/s that is a tight loop of 1,000 user constructions (about 250 ms on one core here)
during which no response is read, so every request in flight looks 250 ms slower. The SLA
scenario's ramp showed exactly that: p95 of 250 ms on every route, L1 cache hits included,
with both processes mostly idle. `SmoothDispatcher` keeps Locust's schedule (the same
users per second) but dispatches `DISPATCHES_PER_S` smaller batches a second.

Imports locust (gevent-patched): Locust processes only.
"""

from __future__ import annotations

import math
from typing import Any

from locust.dispatch import UsersDispatcher

__all__ = ["DISPATCHES_PER_S", "SmoothDispatcher", "batch_size"]

DISPATCHES_PER_S = 20
"""Batches a second; 1,000 users/s becomes 50 users every 50 ms."""


def batch_size(spawn_rate: float, dispatches_per_s: int = DISPATCHES_PER_S) -> int:
    """Users started per dispatch at `spawn_rate` users/s (at least 1)."""
    return max(1, math.ceil(spawn_rate / dispatches_per_s))


class SmoothDispatcher(UsersDispatcher):  # type: ignore[misc]
    """Locust's UsersDispatcher with batches of `batch_size(spawn_rate)` users."""

    def new_dispatch(
        self, target_user_count: int, spawn_rate: float, user_classes: list[Any] | None = None
    ) -> None:
        super().new_dispatch(target_user_count, spawn_rate, user_classes)
        per_dispatch = batch_size(spawn_rate)
        self._user_count_per_dispatch_iteration = per_dispatch
        self._wait_between_dispatch = per_dispatch / spawn_rate
