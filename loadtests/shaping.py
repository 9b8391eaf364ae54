"""Load shapes in a Locust process (imports locust: Locust processes only).

    classes, shape = load_scenario(options)    # shape: a LoadTestShape instance or None
    Environment(user_classes=classes, shape_class=shape, ...); runner.start_shape()

The closed model's `--stages` become a `StagesShape`; a locustfile's own LoadTestShape
subclass is used as it is. Either runs where Locust runs shapes: in the local process, or on
the master, which dispatches each tick's users to the workers. The open model's `--stages`
need no LoadTestShape: each process's `OpenLoop` follows its share of the stages' rate.
`target_source` and `record_targets` give every window the target the run was asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from locust import LoadTestShape

from loadtests.locustfile import LocustfileError, load_locustfile
from loadtests.options import LoadTestOptions
from loadtests.stages import Stages
from loadtests.stats import RunRecorder

__all__ = [
    "LATEST_TICK_ATTR",
    "StagesShape",
    "TargetSource",
    "describe_shape",
    "load_scenario",
    "record_targets",
    "target_source",
]

TargetSource = Callable[[float, float], float]
"""The mean target (users or req/s) between two times, in seconds since the run's start."""
LATEST_TICK_ATTR = "loadwatch_latest_tick"
"""Attribute of a locustfile's own shape: what its latest tick() returned (None: stop)."""


class StagesShape(LoadTestShape):
    """--stages in the closed model: each one-second tick asks for the stages' users now."""

    def __init__(self, stages: Stages) -> None:
        self.start_time = time.perf_counter()  # as LoadTestShape's; the runner resets it
        self.stages = stages

    def tick(self) -> tuple[int, float] | None:
        return self.stages.users_tick(time.perf_counter() - self.start_time)


def load_scenario(
    options: LoadTestOptions, *, owner: bool = True
) -> tuple[list[type[Any]], LoadTestShape | None]:
    """The scenario's User classes, and the shape that sets their number (None: --users, the
    open model, or not the `owner`: workers run what the master dispatches). LocustfileError
    when a locustfile's own shape contradicts the flags (the owner reports it)."""
    scenario = options.resolved()
    classes, own = load_locustfile(scenario.path)
    if not owner:
        return classes, None
    if own is not None:
        where = f"{scenario.path}: its LoadTestShape {own.__name__} sets the users"
        if options.stages is not None:
            raise LocustfileError(f"{where}; --stages cannot be combined with it")
        if options.rate is not None:
            raise LocustfileError(f"{where} (the closed model); it cannot run with --rate")
        return classes, _remembering(own())
    stages = options.shape()
    if stages is not None and options.rate is None:
        return classes, StagesShape(stages)
    return classes, None


def _remembering(shape: LoadTestShape) -> LoadTestShape:
    """`shape`, keeping what each tick() returns as LATEST_TICK_ATTR the moment it returns
    (Locust's own `shape_last_tick` is set only once a master has dispatched the users)."""
    tick = shape.tick

    def remembered() -> Any:
        value = tick()
        setattr(shape, LATEST_TICK_ATTR, value)
        return value

    shape.tick = remembered  # type: ignore[method-assign]
    return shape


def describe_shape(shape: LoadTestShape, duration_s: float) -> str:
    """The line that says a locustfile's own shape runs, and what that means."""
    return (
        f"load shape: the locustfile's {type(shape).__name__} sets the users (not --users);"
        f" the run ends when its tick() returns None, or after {duration_s:g} s"
    )


def target_source(options: LoadTestOptions, shape: LoadTestShape | None) -> TargetSource | None:
    """What each window is measured against: the --stages (exact means), a locustfile's own
    shape (the users its latest tick asked for, 0 before the first and after the last; from
    `load_scenario`), or None."""
    stages = options.shape()
    if stages is not None:
        return stages.mean_between
    if shape is None:
        return None

    def latest_tick(start_s: float, end_s: float) -> float:
        tick = getattr(shape, LATEST_TICK_ATTR, None)
        return float(tick[0]) if tick else 0.0

    return latest_tick


def record_targets(
    recorder: Callable[[], RunRecorder],
    source: TargetSource,
    started_at_s: float,
    users: Callable[[], int] | None = None,
) -> None:
    """Until killed (run it in its own greenlet): the mean target of each second of the run,
    recorded at the middle of that second into `recorder()`, and the `users()` running at
    its end (closed model), so that every window shows both. One wake-up a second."""
    second = 0
    while True:
        gevent.sleep(max(0.0, started_at_s + second + 1.0 - time.time()))
        target = source(float(second), second + 1.0)
        recorder().record_target(target, started_at_s + second + 0.5)
        if users is not None:
            recorder().record_users(users(), started_at_s + second + 0.5)
        second += 1
