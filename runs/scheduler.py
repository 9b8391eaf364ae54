"""The loop behind `loadwatch schedule`: asks the `Plan` what is due, starts runs, reaps them.

    code = run_schedule(config, stop=event)      # until `stop` is set (SIGTERM at the CLI)

Each run is a child `python -m loadwatch loadtest ARGS --record ...`, so a run's Locust
processes live and die with it. Clock, waiting and launching are parameters, so a test
drives days of cron slots in milliseconds. On stop, running children get SIGTERM (the
load test stops and reports), then SIGKILL after `grace_s` seconds.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TextIO

from loadtests.record_options import GRAFANA_TOKEN_ENV
from runs.schedule import EventKind, Job, Plan, ScheduleConfig, cron_interval_s

__all__ = ["Running", "launch_loadtest", "loadtest_command", "run_schedule"]

POLL_S = 1.0
"""Longest wait between two looks at the plan and the children, in seconds."""


class Running(Protocol):
    """A started run: `subprocess.Popen` is one."""

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


def loadtest_command(job: Job, config: ScheduleConfig, now: datetime) -> list[str]:
    """The command line of one run of `job`: recorded, pushed with the cron's interval
    (its longest gap after `now`) and annotated when configured. The Grafana token is not
    on it (process listings show it): `launch_loadtest` passes it in the environment."""
    command = [sys.executable, "-m", "loadwatch", "loadtest", *job.loadtest, "--record"]
    if config.history_url is not None:
        command += ["--history-url", config.history_url]
    if config.pushgateway_url is not None:
        interval_s = cron_interval_s(job.cron, now)
        command += ["--pushgateway", config.pushgateway_url]
        command += ["--schedule-interval", f"{interval_s:g}s"]
    if config.grafana_url is not None:
        command += ["--grafana-url", config.grafana_url]
    command += ["--label", f"schedule={job.name}"]
    return command


def launch_loadtest(job: Job, config: ScheduleConfig) -> Running:
    """Start one run of `job` as a child process sharing our output."""
    environ = dict(os.environ)
    if config.grafana_token is not None:
        environ[GRAFANA_TOKEN_ENV] = config.grafana_token
    return subprocess.Popen(loadtest_command(job, config, _now()), env=environ)


def _now() -> datetime:
    return datetime.now(UTC)


def run_schedule(
    config: ScheduleConfig,
    *,
    stop: threading.Event,
    clock: Callable[[], datetime] = _now,
    wait: Callable[[float], object] | None = None,
    launch: Callable[[Job, ScheduleConfig], Running] = launch_loadtest,
    rng: random.Random | None = None,
    out: TextIO | None = None,
    grace_s: float = 30.0,
) -> int:
    """Run `config`'s jobs until `stop` is set; returns 0. `wait(seconds)` pauses (default
    `stop.wait`, which returns early on stop)."""
    out = out if out is not None else sys.stdout
    pause = wait if wait is not None else stop.wait
    plan = Plan(config.jobs, now=clock(), rng=rng if rng is not None else random.Random())
    running: dict[str, Running] = {}
    names = ", ".join(f"{job.name} ({job.cron})" for job in config.jobs)
    print(f"loadwatch schedule: {len(config.jobs)} jobs: {names}", file=out, flush=True)
    while not stop.is_set():
        now = clock()
        for name, child in list(running.items()):
            code = child.poll()
            if code is not None:
                del running[name]
                plan.finished(name)
                print(f"{_stamp(now)} {name}: finished, exit code {code}", file=out, flush=True)
        for event in plan.due(now):
            slot = event.slot.strftime("%H:%M")
            if event.kind is EventKind.SKIP:
                print(
                    f"{_stamp(now)} {event.job.name}: skipped the {slot} slot ({event.reason})",
                    file=out,
                    flush=True,
                )
                continue
            print(f"{_stamp(now)} {event.job.name}: starting ({slot} slot)", file=out, flush=True)
            running[event.job.name] = launch(event.job, config)
        delay = (plan.next_wake() - clock()).total_seconds()
        pause(min(max(delay, 0.0), POLL_S))
    _stop_children(running, grace_s, out)
    print("loadwatch schedule: stopped", file=out, flush=True)
    return 0


def _stop_children(running: dict[str, Running], grace_s: float, out: TextIO) -> None:
    for name, child in running.items():
        if child.poll() is None:
            print(f"stopping {name}", file=out, flush=True)
            child.terminate()
    deadline = time.monotonic() + grace_s
    for child in running.values():
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.poll() is None:
            child.kill()


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M:%S")
