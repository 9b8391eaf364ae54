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

Locust compares each batch with `Runner.user_classes_count`, which walks every running
user's greenlet (two or three walks per batch): O(users) a batch, so a 10,000-user ramp
in 1,000 batches walked 15 million greenlets and took a quarter of the generator's CPU
over the whole SLA scenario run (py-spy, docs/loadtests.md). `count_users_by_class(runner)`
gives the runner a `CountedUserGroup`, which counts users by class as greenlets come and
go, so the same figure costs O(classes).

Imports locust (gevent-patched): Locust processes only.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from typing import Any

from gevent.pool import Group
from locust.dispatch import UsersDispatcher
from locust.runners import Runner

__all__ = [
    "DISPATCHES_PER_S",
    "CountedUserGroup",
    "SmoothDispatcher",
    "batch_size",
    "count_users_by_class",
    "freeze_started_users",
]

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


class CountedUserGroup(Group):  # type: ignore[misc]
    """A gevent Group of user greenlets (`greenlet.args[0]` is the User) that also keeps
    `by_class`: running users by User class name, updated in O(1) as each greenlet is
    added and as it ends or is discarded (a dead greenlet's args are gone: the class name
    is kept from when it was added)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: Counter[str] = Counter()
        self._class_of: dict[Any, str] = {}

    def add(self, greenlet: Any) -> None:
        if greenlet not in self._class_of and greenlet.args:
            name = type(greenlet.args[0]).__name__
            self._class_of[greenlet] = name
            self.by_class[name] += 1
        super().add(greenlet)

    def _discard(self, greenlet: Any) -> None:
        name = self._class_of.pop(greenlet, None)
        if name is not None:
            self.by_class[name] -= 1
        super()._discard(greenlet)


_walking_count: Any = Runner.user_classes_count


def _counted_user_classes(runner: Any) -> dict[str, int]:
    """`Runner.user_classes_count` from a CountedUserGroup's counts, else by Locust's walk."""
    group = runner.user_greenlets
    if not isinstance(group, CountedUserGroup):
        walked: dict[str, int] = _walking_count.fget(runner)
        return walked
    counts = {user_class.__name__: 0 for user_class in runner.user_classes}
    counts.update((name, n) for name, n in group.by_class.items() if n > 0)
    return counts


def count_users_by_class(runner: Any) -> Any:
    """Make `runner` (a local or worker runner, before it starts users) count its users by
    class in O(1) per change instead of walking them on every query; returns `runner`."""
    if runner.user_greenlets:
        raise ValueError("count_users_by_class: the runner has already started users")
    runner.user_greenlets = CountedUserGroup()
    setattr(Runner, "user_classes_count", property(_counted_user_classes))  # noqa: B010
    return runner
