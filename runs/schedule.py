"""`loadwatch schedule`: load tests on cron expressions, one at a time per target.

    config = load_schedule(Path("schedule.yaml"))        # ScheduleError names file/field/value
    plan = Plan(config.jobs, now=datetime.now(UTC), rng=random.Random())
    for event in plan.due(now): ...                       # START or SKIP, per job slot
    plan.finished("nightly")                              # its run ended

`Plan` is pure (time is passed in, randomness too). A job's slot fires at its cron time plus
a jitter drawn uniformly from [0, jitter] seconds; a slot whose job, or another job on the
same target, is still running is skipped (SKIP), never queued. Slots missed while the
process was away are skipped as one. Cron expressions are parsed by `cronsim` (UTC).
"""

from __future__ import annotations

import argparse
import enum
import random
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import yaml
from cronsim import CronSim, CronSimError

from collector.units import UnitError, parse_duration
from loadtests.options import UsageError, add_arguments, from_args, record_from_args

__all__ = [
    "Event",
    "EventKind",
    "Job",
    "Plan",
    "ScheduleConfig",
    "ScheduleError",
    "cron_interval_s",
    "load_schedule",
    "parse_schedule",
]


_Fail = Callable[[str, str, object], NoReturn]
"""fail(field, expected, value): raise the ScheduleError that names them."""


class ScheduleError(ValueError):
    """A schedule file is invalid: the message names the file, the field, the value and
    what was expected."""


@dataclass(frozen=True)
class Job:
    """One scheduled load test: `loadtest` are `loadwatch loadtest` arguments (checked at
    load), `target` its --host, `jitter_s` the most seconds a start is delayed."""

    name: str
    cron: str
    loadtest: tuple[str, ...]
    target: str
    jitter_s: float = 0.0


@dataclass(frozen=True)
class ScheduleConfig:
    """The jobs, where every run is recorded (None: the default history) and pushed, and
    the Grafana each run annotates (`loadwatch schedule --grafana-url`, not the file)."""

    jobs: tuple[Job, ...]
    history_url: str | None = None
    pushgateway_url: str | None = None
    grafana_url: str | None = None
    grafana_token: str | None = field(default=None, repr=False)


INTERVAL_HORIZON = timedelta(days=8)
"""cron_interval_s looks this far ahead: a weekday-only or weekly gap shows up within it."""


def cron_interval_s(cron: str, start: datetime, *, max_slots: int = 2_000) -> float:
    """The longest gap between consecutive slots of `cron` after `start`, in seconds, over
    `INTERVAL_HORIZON` (at least two gaps, at most `max_slots` slots): '*/30 * * * *' is
    1800, '0 9 * * 1-5' is 259200 (Friday to Monday). What 'no run for two intervals'
    doubles. O(slots)."""
    slots = iter(CronSim(cron, start))
    previous = next(slots)
    longest = 0.0
    for gaps, slot in enumerate(slots, start=1):
        longest = max(longest, (slot - previous).total_seconds())
        if gaps >= max_slots or (gaps >= 2 and slot - start >= INTERVAL_HORIZON):
            break
        previous = slot
    return longest


class EventKind(enum.Enum):
    START = "start"
    SKIP = "skip"


@dataclass(frozen=True)
class Event:
    """`job`'s slot at `slot` (the cron time, UTC) starts now, or is skipped (`reason`)."""

    kind: EventKind
    job: Job
    slot: datetime
    reason: str = ""


class Plan:
    """Which job starts when. Call `due(now)` at least once a second (or at `next_wake()`),
    `finished(name)` when a started run ends."""

    def __init__(self, jobs: Sequence[Job], *, now: datetime, rng: random.Random) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._rng = rng
        self._running: set[str] = set()
        self._slot: dict[str, datetime] = {}
        self._fire: dict[str, datetime] = {}
        for job in jobs:
            self._advance(job, now)

    def _advance(self, job: Job, after: datetime) -> None:
        slot = next(iter(CronSim(job.cron, after)))
        self._slot[job.name] = slot
        self._fire[job.name] = slot + timedelta(seconds=self._rng.uniform(0.0, job.jitter_s))

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._running)

    def next_wake(self) -> datetime:
        """The earliest time a job may fire."""
        return min(self._fire.values())

    def due(self, now: datetime) -> list[Event]:
        """The jobs whose start time has come: START (now marked running) or SKIP."""
        events = []
        for name in sorted(self._fire, key=lambda n: (self._fire[n], n)):
            if self._fire[name] > now:
                continue
            job, slot = self._jobs[name], self._slot[name]
            busy = self._busy_with(job)
            if busy == name:
                events.append(Event(EventKind.SKIP, job, slot, "its previous run is still going"))
            elif busy is not None:
                reason = f"{busy} is still running against {job.target}"
                events.append(Event(EventKind.SKIP, job, slot, reason))
            else:
                self._running.add(name)
                events.append(Event(EventKind.START, job, slot))
            self._advance(job, max(now, slot))
        return events

    def _busy_with(self, job: Job) -> str | None:
        if job.name in self._running:
            return job.name
        for name in sorted(self._running):
            if self._jobs[name].target == job.target:
                return name
        return None

    def finished(self, name: str) -> None:
        self._running.discard(name)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError("loadtest", message)


def _loadtest_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="loadwatch loadtest", add_help=False)
    add_arguments(parser)
    return parser


def parse_schedule(text: str, source: str = "schedule.yaml") -> ScheduleConfig:
    """Validate a schedule file's text; ScheduleError names `source`, the field, the value."""

    def fail(field: str, expected: str, value: object) -> NoReturn:
        raise ScheduleError(f"{source}: {field}: expected {expected}, got {value!r}")

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, Mapping):
        fail("(top level)", "a mapping with 'jobs'", data)
    unknown = sorted(set(data) - {"jobs", "history_url", "pushgateway"})
    if unknown:
        fail(unknown[0], "one of jobs, history_url, pushgateway", unknown[0])
    history_url = _optional_str(data, "history_url", fail)
    pushgateway = _optional_str(data, "pushgateway", fail)
    try:
        record_from_args(argparse.Namespace(history_url=history_url, pushgateway=pushgateway))
    except UsageError as exc:  # the message already says what was expected and got
        field = exc.flag.removeprefix("--").replace("-", "_")
        raise ScheduleError(f"{source}: {field}: {str(exc).split(': ', 1)[1]}") from None
    raw_jobs = data.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        fail("jobs", "a non-empty list of jobs", raw_jobs)
    jobs: list[Job] = []
    for index, raw in enumerate(raw_jobs):
        jobs.append(_job(raw, f"jobs[{index}]", fail))
    names = [job.name for job in jobs]
    for index, name in enumerate(names):
        if name in names[:index]:
            fail(f"jobs[{index}].name", "a name no other job has", name)
    return ScheduleConfig(tuple(jobs), history_url, pushgateway)


def _optional_str(data: Mapping[str, Any], key: str, fail: _Fail) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(key, "a URL", value)
    return value


def _job(raw: object, path: str, fail: _Fail) -> Job:
    if not isinstance(raw, Mapping):
        fail(path, "a mapping with name, cron and loadtest", raw)
    unknown = sorted(set(raw) - {"name", "cron", "jitter", "loadtest"})
    if unknown:
        fail(f"{path}.{unknown[0]}", "one of name, cron, jitter, loadtest", unknown[0])
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        fail(f"{path}.name", "a non-empty name", name)
    cron = raw.get("cron")
    if not isinstance(cron, str):
        fail(f"{path}.cron", "a cron expression like '*/30 * * * *'", cron)
    try:
        CronSim(cron, datetime(2026, 1, 1))
    except CronSimError as exc:
        fail(f"{path}.cron", f"a cron expression like '*/30 * * * *' ({exc})", cron)
    jitter = raw.get("jitter")
    jitter_s = 0.0
    if jitter is not None and jitter != 0:
        try:
            jitter_s = parse_duration(str(jitter))
        except UnitError:
            fail(f"{path}.jitter", "a duration like '30s'", jitter)
    loadtest = raw.get("loadtest")
    if isinstance(loadtest, str):
        args = shlex.split(loadtest)
    elif isinstance(loadtest, list) and all(isinstance(a, str) for a in loadtest):
        args = list(loadtest)
    else:
        fail(f"{path}.loadtest", "loadwatch loadtest arguments, e.g. 'course --host URL'", loadtest)
    if any(a in ("--record", "--history-url", "--pushgateway") for a in args):
        fail(f"{path}.loadtest", "no --record/--history-url/--pushgateway (set per file)", loadtest)
    try:
        options = from_args(_loadtest_parser().parse_args(args))
    except UsageError as exc:
        fail(f"{path}.loadtest", f"valid loadwatch loadtest arguments ({exc})", loadtest)
    host = options.host
    if host is None or options.role is not None:
        fail(f"{path}.loadtest", "a local run with --host (no --role)", loadtest)
    return Job(name.strip(), cron, tuple(args), host, jitter_s)


def load_schedule(path: Path) -> ScheduleConfig:
    """Read and validate a schedule file; ScheduleError when it is missing or invalid."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_schedule(text, str(path))
