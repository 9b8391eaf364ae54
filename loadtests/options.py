"""`loadwatch loadtest` flags: their definitions, and their validation into `LoadTestOptions`.

    parser = argparse.ArgumentParser(); add_arguments(parser)
    options = from_args(parser.parse_args(argv))     # UsageError names the flag

Flags take strings and are validated in `from_args`, so every mistake is one `UsageError`
("--duration: expected a duration like '30s', got 'soon'") for the CLI to print with exit 2.
Re-exported here, where the CLI, the runner and `loadtests.process` import them: the options
value (`loadtests.run_options`), the runner's messages to and from its Locust processes
(`loadtests.process_messages`) and the --record flags (`loadtests.record_options`).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from collector.units import UnitError, parse_duration
from loadtests.judged import JudgeWindow
from loadtests.process_messages import ProcessRole, ProcessSpec, RunOutcome, StopReason
from loadtests.record_options import RecordOptions, add_record_arguments, record_from_args
from loadtests.run_options import DEFAULT_MASTER_PORT, MAX_POOL, LoadTestOptions, Role
from loadtests.scenarios import SCENARIOS, ScenarioError, resolve_scenario
from loadtests.scenarios.common import (
    ScenarioSettings,
    ScenarioSettingsError,
    check_base_url,
)
from loadtests.stages import Stages, StagesError, load_stages
from loadtests.usage import UsageError
from loadtests.worker_count import auto_workers

__all__ = [
    "DEFAULT_MASTER_PORT",
    "MAX_RUN_S",
    "LoadTestOptions",
    "ProcessRole",
    "ProcessSpec",
    "RecordOptions",
    "Role",
    "RunOutcome",
    "StopReason",
    "UsageError",
    "add_arguments",
    "from_args",
    "record_from_args",
]

MAX_RUN_S = 30 * 86400.0
"""Longest --duration (and --window, --ramp-up, --think-time): 30 days, in seconds."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `loadwatch loadtest` arguments to `parser` (values are checked by from_args)."""
    parser.add_argument(
        "scenario",
        help=f"a built-in scenario ({', '.join(sorted(SCENARIOS))}) or a locustfile's path",
    )
    parser.add_argument(
        "--service",
        metavar="NAME",
        help="the sla.yaml service whose objectives judge the run"
        " (default: the built-in scenario's; a locustfile: the defaults)",
    )
    parser.add_argument(
        "--host", help="base URL of the service under test, e.g. http://127.0.0.1:8101"
    )
    closed = parser.add_argument_group("closed model (default)")
    closed.add_argument("--users", metavar="N", help="concurrent users (default 10)")
    closed.add_argument("--spawn-rate", metavar="R", help="users started per second (default 10)")
    closed.add_argument(
        "--think-time",
        metavar="DURATION",
        help="mean pause between a user's requests, e.g. 10s (default: 0.2-1 s)",
    )
    opened = parser.add_argument_group("open model")
    opened.add_argument(
        "--rate", metavar="RPS", help="start requests on a schedule at this many per second"
    )
    opened.add_argument(
        "--connections",
        metavar="N",
        help="users (one request in flight each) per process; default max(50, 2 x rate)",
    )
    parser.add_argument(
        "--stages",
        metavar="D:T,...",
        help="a load shape, e.g. 30s:100,2m:100,30s:0: ramp linearly to each target (users;"
        " req/s with --model open) over its duration; the run lasts the stages' total",
    )
    parser.add_argument(
        "--model",
        metavar="closed|open",
        help="with --stages: the targets are users (closed, default) or req/s (open)",
    )
    parser.add_argument("--duration", help="run time, e.g. 30s or 5m (default 30s)")
    parser.add_argument(
        "--workers",
        default="0",
        metavar="N",
        help="Locust worker processes (default 0: one), or auto: one per core to spare",
    )
    parser.add_argument("--sla", metavar="FILE", help="SLA file (default: nearest sla.yaml)")
    parser.add_argument("--json", metavar="FILE", help="write the JSON summary here")
    parser.add_argument("--html", metavar="FILE", help="write the HTML report here")
    parser.add_argument(
        "--abort-on-fail",
        action="store_true",
        help="stop as soon as a threshold can no longer pass (exit 1)",
    )
    parser.add_argument("--window", metavar="DURATION", help="also judge latency per window")
    parser.add_argument(
        "--live-port",
        metavar="PORT",
        help="serve the generator's own /live/snapshot on 127.0.0.1:PORT (default: a free port)",
    )
    parser.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus scraping the target: show the server-side p95 and error ratio too",
    )
    parser.add_argument(
        "--ramp-up", metavar="DURATION", help="windows before this are not judged (default 0)"
    )
    parser.add_argument(
        "--judge-window",
        metavar="START:END",
        help="judge only the windows inside this part of the run, e.g. 30s:150s (either end"
        " optional; default the whole run)",
    )
    multi = parser.add_argument_group("multi-machine runs")
    multi.add_argument("--role", help="master or worker (default: everything on this machine)")
    multi.add_argument(
        "--master-host", help="master: address to bind; worker: the master (default 127.0.0.1)"
    )
    multi.add_argument("--master-port", help=f"default {DEFAULT_MASTER_PORT} with --role")
    add_record_arguments(parser)


def _int(value: str | None, flag: str, default: int, minimum: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise UsageError(flag, f"expected a whole number >= {minimum}, got {value!r}")
    return number


def _positive(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise UsageError(flag, f"expected a number > 0, got {value!r}")
    return number


def _duration(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        raise UsageError(flag, str(exc)) from None
    if seconds > MAX_RUN_S:
        raise UsageError(flag, f"expected a duration of at most 30d, got {value!r}")
    return seconds


def _writable(value: str | None, flag: str) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.parent.is_dir():
        raise UsageError(flag, f"directory {str(path.parent)!r} does not exist")
    return path


def from_args(
    namespace: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> LoadTestOptions:
    """Validate parsed flags (and the LOADWATCH_SEED_*/LOADWATCH_CAMPAIGN_HOST variables of
    `environ`, default os.environ); UsageError names the first bad flag or variable."""
    ns = namespace
    try:
        scenario = resolve_scenario(ns.scenario)
    except ScenarioError as exc:
        raise UsageError("scenario", str(exc)) from None
    reference = ns.scenario if scenario.built_in else str(scenario.path)
    role = None
    if ns.role is not None:
        try:
            role = Role(ns.role)
        except ValueError:
            raise UsageError("--role", f"expected master or worker, got {ns.role!r}") from None
    if ns.host is None and role is not Role.WORKER:
        raise UsageError("--host", "required: the base URL of the service under test")
    if ns.host is not None:
        try:
            check_base_url(ns.host, "--host")
        except ScenarioSettingsError as exc:
            raise UsageError("--host", str(exc).split(": ", 1)[1]) from None
        except ValueError:  # urlsplit: an unclosed '[' of an IPv6 address
            raise UsageError(
                "--host", f"expected a base URL like http://127.0.0.1:8101, got {ns.host!r}"
            ) from None
    rate = _positive(ns.rate, "--rate")
    think_time = getattr(ns, "think_time", None)
    if rate is not None and (
        ns.users is not None or ns.spawn_rate is not None or think_time is not None
    ):
        flag = (
            "--users"
            if ns.users is not None
            else "--spawn-rate"
            if ns.spawn_rate is not None
            else "--think-time"
        )
        raise UsageError(flag, "the closed model's flag cannot be combined with --rate")
    stages = _stages(ns, rate)
    if stages is not None and getattr(ns, "model", None) == "open":
        rate = stages.peak
    if ns.connections is not None and rate is None:
        raise UsageError("--connections", "only applies to the open model (--rate)")
    connections = (
        _int(ns.connections, "--connections", 0, 1) if ns.connections is not None else None
    )
    if connections is not None and connections > MAX_POOL:
        raise UsageError("--connections", f"expected at most {MAX_POOL}, got {connections}")
    duration = _duration(ns.duration, "--duration") or 30.0
    if stages is not None:
        duration = _staged_duration(ns.duration, duration, stages)
    window = _duration(ns.window, "--window")
    ramp_up = _duration(ns.ramp_up, "--ramp-up") or 0.0
    if ramp_up >= duration:
        raise UsageError("--ramp-up", f"expected less than --duration ({duration:g} s)")
    try:
        workers_auto = auto_workers(ns.workers, master=role, host=ns.host)
    except ValueError as exc:
        raise UsageError("--workers", str(exc)) from None
    workers = workers_auto["workers"] if workers_auto else _int(ns.workers, "--workers", 0, 0)
    try:
        judge_window = JudgeWindow.parse(getattr(ns, "judge_window", None), duration)
    except ValueError as exc:
        raise UsageError("--judge-window", str(exc)) from None
    if role is Role.MASTER and workers < 1:
        raise UsageError("--workers", "with --role master: how many workers to wait for (>= 1)")
    master_port = _int(ns.master_port, "--master-port", 0, 1) if ns.master_port else None
    if master_port is not None and master_port > 65535:
        raise UsageError("--master-port", f"expected a port 1..65535, got {ns.master_port!r}")
    if master_port is not None and role is None and workers == 0:
        raise UsageError("--master-port", "only applies with --workers N or --role")
    try:
        settings = ScenarioSettings.from_environ(os.environ if environ is None else environ)
    except ScenarioSettingsError as exc:
        raise UsageError(str(exc).split(": ", 1)[0], str(exc).split(": ", 1)[1]) from None
    think = _duration(getattr(ns, "think_time", None), "--think-time")
    if think is not None and not scenario.built_in:
        raise UsageError(
            "--think-time", "only applies to the built-in scenarios; a locustfile has wait_time"
        )
    if think is not None:
        settings = replace(settings, think_s=think)
    spawn_rate = _positive(ns.spawn_rate, "--spawn-rate")
    users = _int(ns.users, "--users", 10, 1)
    return LoadTestOptions(
        scenario=reference,
        host=ns.host.rstrip("/") if ns.host else None,
        users=int(stages.peak) if stages is not None and rate is None else users,
        spawn_rate=spawn_rate if spawn_rate is not None else 10.0,
        rate=rate,
        connections=connections,
        duration_s=duration,
        workers=workers,
        sla_path=Path(ns.sla) if ns.sla is not None else None,
        json_path=_writable(ns.json, "--json"),
        html_path=_writable(ns.html, "--html"),
        abort_on_fail=bool(ns.abort_on_fail),
        window_s=window,
        ramp_up_s=ramp_up,
        role=role,
        master_host=ns.master_host or "127.0.0.1",
        master_port=master_port,
        prometheus_url=_prometheus(getattr(ns, "prometheus", None)),
        live_port=_live_port(getattr(ns, "live_port", None)),
        settings=settings,
        service=getattr(ns, "service", None) or None,
        judge_from_s=judge_window.start_s,
        judge_until_s=judge_window.end_s,
        workers_auto=workers_auto,
        stages=ns.stages.strip() if stages is not None else None,
    )


def _stages(ns: argparse.Namespace, rate: float | None) -> Stages | None:
    """--stages (with --model), checked against the flags that a load shape replaces."""
    text, model = getattr(ns, "stages", None), getattr(ns, "model", None)
    if model not in (None, "closed", "open"):
        raise UsageError("--model", f"expected closed or open, got {model!r}")
    if text is None and model is not None:
        raise UsageError("--model", "only applies with --stages (--rate is the open model)")
    for flag, value in (("--rate", rate), ("--users", ns.users), ("--spawn-rate", ns.spawn_rate)):
        if text is not None and value is not None:
            raise UsageError(flag, "cannot be combined with --stages, which sets the load")
    if model == "open" and getattr(ns, "think_time", None) is not None:
        raise UsageError(
            "--think-time", "the closed model's flag cannot be combined with --model open"
        )
    try:
        return None if text is None else load_stages(text, users=model != "open")
    except StagesError as exc:
        raise UsageError("--stages", str(exc)) from None


def _staged_duration(given: str | None, duration_s: float, stages: Stages) -> float:
    """A staged run lasts the stages' total; --duration may only repeat it."""
    if given is not None and abs(duration_s - stages.total_s) > 1e-6:
        message = f"contradicts --stages, which last {stages.total_s:g} s: omit --duration"
        raise UsageError("--duration", message + " or add a stage to hold longer")
    if stages.total_s > MAX_RUN_S:
        raise UsageError("--stages", "expected stages lasting at most 30d in all")
    return stages.total_s


def _live_port(value: str | None) -> int:
    if value is None:
        return 0
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UsageError("--live-port", f"expected a port 0..65535, got {value!r}")
    return port


def _prometheus(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise UsageError(
            "--prometheus", f"expected a URL like http://127.0.0.1:9090, got {value!r}"
        )
    return value.rstrip("/")
