"""Open-model load (an arrival rate, constant or shaped) for a Locust process; imports locust.

One `OpenModelDriver` user runs per process (the runner spawns it like any user). It starts
request i at ``start + i / rate`` (with a load shape, `--stages`: where the integral of the
shape's rate reaches i, counted from the run's start) on a free user from a pool of scenario
users (created on demand, at most `pool_size`), each running one task (= one request) at a
time. When every user is busy the start waits in a backlog and runs as soon as one frees up,
as wrk2 queues behind busy connections; its latency still counts from the intended start.
A start is *missed* (`OpenLoopSink.missed`) only when the backlog already holds
`backlog_limit` starts, or the run ends before it began.

The intended start (`time.perf_counter()` seconds) rides on the request's greenlet as
`INTENDED_ATTR`, where the request listener reads it to report the corrected latency.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gevent
from gevent import GreenletExit
from gevent.pool import Group
from locust import User, constant, task
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser

from loadtests.stages import Stages

__all__ = ["INTENDED_ATTR", "OpenLoop", "OpenLoopConfig", "OpenLoopSink", "OpenModelDriver"]

INTENDED_ATTR = "loadwatch_intended_s"
"""Greenlet attribute: the request's intended start, in time.perf_counter() seconds."""
CONFIG_ATTR = "loadwatch_open"
"""Environment attribute holding the process's OpenLoopConfig."""

_log = logging.getLogger(__name__)
_IGNORED = (InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser)


class OpenLoopSink(Protocol):
    """Where the loop reports what is not a request: missed starts and requests in flight."""

    def missed(self, now_s: float, count: int) -> None: ...

    def in_flight(self, busy: int) -> None: ...


@dataclass(frozen=True, slots=True)
class OpenLoopConfig:
    """`rate_per_s` starts per second in this process (the peak, with a `shape`); `pool_size`
    users at most. A `shape` (this process's share of --stages) sets the rate over time from
    `started_at_s`, the run's wall-clock start (time.time() seconds)."""

    rate_per_s: float
    pool_size: int
    sink: OpenLoopSink
    shape: Stages | None = None
    started_at_s: float = 0.0

    @property
    def backlog_limit(self) -> int:
        """Starts that may wait for a free user: a minute of schedule, at least 1,000."""
        return max(1_000, int(60 * self.rate_per_s))


class OpenLoop:
    """The schedule of one process. `run()` blocks until the greenlet running it is killed,
    then kills requests in flight and counts the backlog as missed."""

    def __init__(
        self,
        environment: Any,
        user_classes: Sequence[type[Any]],
        config: OpenLoopConfig,
        *,
        clock: Callable[[], float] = time.perf_counter,
        rng: random.Random | None = None,
    ) -> None:
        if not user_classes:
            raise ValueError("user_classes: expected at least one scenario user class")
        self.environment = environment
        self.classes = list(user_classes)
        self.weights = list(itertools.accumulate(max(1, int(c.weight)) for c in self.classes))
        self.config = config
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.free: list[list[Any]] = [[] for _ in self.classes]
        self.backlog: list[deque[float]] = [deque() for _ in self.classes]
        self.created = 0
        self.busy = 0
        self.waiting = 0
        self.requests = Group()

    def _user(self, index: int) -> Any | None:
        """A free user of class `index`, creating one while the pool has room."""
        free = self.free[index]
        if free:
            return free.pop()
        if self.created >= self.config.pool_size:
            return None
        cls = self.classes[index]
        if self.environment.host:
            cls.host = self.environment.host
        user = cls(self.environment)
        user.on_start()
        self.created += 1
        return user

    def start_one(self, intended_s: float) -> None:
        """Start (or queue) the request intended at `intended_s` perf_counter seconds."""
        index = self.rng.choices(range(len(self.classes)), cum_weights=self.weights)[0]
        user = self._user(index)
        if user is not None:
            self.busy += 1
            self.config.sink.in_flight(self.busy)
            self.requests.spawn(self._serve, user, index, intended_s)
        elif self.waiting < self.config.backlog_limit:
            self.backlog[index].append(intended_s)
            self.waiting += 1
        else:
            self.config.sink.missed(time.time(), 1)

    def _serve(self, user: Any, index: int, intended_s: float) -> None:
        current = gevent.getcurrent()
        try:
            while True:
                setattr(current, INTENDED_ATTR, intended_s)
                self._run_task(user)
                queue = self.backlog[index]
                if not queue:
                    return
                intended_s = queue.popleft()
                self.waiting -= 1
        finally:
            self.busy -= 1
            self.free[index].append(user)

    def _run_task(self, user: Any) -> None:
        chosen = self.rng.choice(user.tasks)
        try:
            chosen(user)
        except _IGNORED:
            pass
        except GreenletExit:
            raise
        except Exception as exc:
            _log.error("task %s failed: %r", getattr(chosen, "__name__", chosen), exc)
            self.environment.events.user_error.fire(
                user_instance=user, exception=exc, tb=exc.__traceback__
            )

    def _due_s(self, index: int) -> float | None:
        """Seconds after the schedule's start when request `index` is due (None: never)."""
        shape = self.config.shape
        return index / self.config.rate_per_s if shape is None else shape.arrival_s(index)

    def run(self) -> None:
        """Start requests on schedule until killed (GreenletExit), then clean up."""
        start_s = self.clock()
        issued = 0
        if self.config.shape is not None:  # follow the shape from the run's start
            late_s = max(0.0, time.time() - self.config.started_at_s)
            start_s -= late_s
            issued = math.ceil(self.config.shape.cumulative(late_s))
        try:
            while True:
                due_s = self._due_s(issued)
                while due_s is not None and start_s + due_s <= self.clock():
                    self.start_one(start_s + due_s)
                    issued += 1
                    due_s = self._due_s(issued)
                wait_s = 1.0 if due_s is None else start_s + due_s - self.clock()
                gevent.sleep(max(0.0, wait_s))
        finally:
            self.requests.kill(block=True, timeout=2.0)
            if self.waiting:
                self.config.sink.missed(time.time(), self.waiting)
                self.waiting = 0
                for queue in self.backlog:
                    queue.clear()


class OpenModelDriver(User):
    """The one user per process that runs the open-model schedule (see the module doc).

    The process sets `environment.loadwatch_open` (an OpenLoopConfig) before spawning it;
    the scenario's user classes are the environment's other user classes.
    """

    wait_time = constant(0)
    weight = 1

    @task
    def drive(self) -> None:
        config = getattr(self.environment, CONFIG_ATTR, None)
        if not isinstance(config, OpenLoopConfig):
            raise StopUser("no open-model configuration on this process")
        classes = [c for c in self.environment.user_classes if c is not OpenModelDriver]
        OpenLoop(self.environment, classes, config).run()
