"""`loadwatch loadtest` options: the flags, and the frozen `LoadTestOptions` they become.

    parser = argparse.ArgumentParser(); add_arguments(parser)
    options = from_args(parser.parse_args(argv))     # UsageError names the flag

Flags take strings and are validated in `from_args`, so every mistake is one `UsageError`
("--duration: expected a duration like '30s', got 'soon'") for the CLI to print with exit 2.
`ProcessSpec` and `RunOutcome` are what the runner and its Locust processes exchange (JSON).
"""

from __future__ import annotations

import argparse
import enum
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from collector.units import UnitError, parse_duration
from loadtests.gate import GateOptions
from loadtests.judged import JudgeWindow
from loadtests.record_options import RecordOptions, add_record_arguments, record_from_args
from loadtests.scenarios import SCENARIOS, Scenario, ScenarioError, resolve_scenario
from loadtests.scenarios.common import (
    ScenarioSettings,
    ScenarioSettingsError,
    check_base_url,
)
from loadtests.stages import Stages, StagesError, load_stages, parse_stages
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

DEFAULT_MASTER_PORT = 5557
"""Locust's master port for multi-machine runs (--role); one-machine runs pick a free one."""
MAX_POOL = 2000
MAX_RUN_S = 30 * 86400.0
"""Longest --duration (and --window, --ramp-up, --think-time): 30 days, in seconds."""


class Role(enum.StrEnum):
    """Multi-machine runs: this machine runs the master, or only workers."""

    MASTER = "master"
    WORKER = "worker"


@dataclass(frozen=True, slots=True)
class LoadTestOptions:
    """One load test. Closed model when `rate` is None (`users` at `spawn_rate` users/s),
    else open model (`rate` req/s started on schedule). Times in seconds. `scenario` is a
    built-in scenario's name or a locustfile's absolute path; `service` the SLA service
    that judges it (None: the built-in scenario's, else the SLA's defaults)."""

    scenario: str
    host: str | None
    users: int = 10
    spawn_rate: float = 10.0
    rate: float | None = None
    connections: int | None = None
    duration_s: float = 30.0
    workers: int = 0
    sla_path: Path | None = None
    json_path: Path | None = None
    html_path: Path | None = None
    abort_on_fail: bool = False
    window_s: float | None = None
    ramp_up_s: float = 0.0
    role: Role | None = None
    master_host: str = "127.0.0.1"
    master_port: int | None = None
    prometheus_url: str | None = None
    live_port: int = 0
    settings: ScenarioSettings = field(default_factory=ScenarioSettings)
    service: str | None = None
    judge_from_s: float = 0.0
    judge_until_s: float | None = None
    workers_auto: dict[str, Any] | None = None
    """With --workers auto: `WorkerChoice.to_dict()`, what was chosen and why."""
    stages: str | None = None

    def resolved(self) -> Scenario:
        """The scenario to run (the locustfile was checked to exist when parsing flags)."""
        return resolve_scenario(self.scenario, self.service)

    def gate_options(self, closed_ceiling_rps: float | None = None) -> GateOptions:
        """How the gate judges this run; `closed_ceiling_rps` as measured by the Locust
        process (users / mean think time), ignored in the open model."""
        return GateOptions(
            service=self.resolved().service,
            offered_rps=self.rate,
            windowed=self.window_s is not None,
            ramp_up_s=self.ramp_up_s,
            closed_ceiling_rps=closed_ceiling_rps if self.rate is None else None,
            judge_from_s=self.judge_from_s,
            judge_until_s=self.judge_until_s,
        )

    def shape(self) -> Stages | None:
        """The --stages load shape (targets in req/s when `rate` is set, else users); `rate`
        or `users` then holds its peak."""
        return parse_stages(self.stages) if self.stages is not None else None

    def shaped(self, stages: Stages, *, open_model: bool) -> LoadTestOptions:
        """These options following `stages` (req/s if `open_model`, else users) for their
        total duration, as --stages would: how a program (a capacity search) shapes a run."""
        peak = stages.peak
        load = {"rate": peak} if open_model else {"rate": None, "users": math.ceil(peak)}
        return replace(self, stages=stages.spec, duration_s=stages.total_s, **load)

    @property
    def model(self) -> str:
        """ "open" (--rate) or "closed" (--users)."""
        return "open" if self.rate is not None else "closed"

    @property
    def processes(self) -> int:
        """Processes that generate load: the workers, or the one local process."""
        return max(1, self.workers)

    def pool_size(self) -> int:
        """Open model: scenario users per process (--connections, else max(50, 2 x rate)
        capped at 2000); each has one request in flight at most."""
        if self.connections is not None:
            return self.connections
        per_process = (self.rate or 0.0) / self.processes
        return min(MAX_POOL, max(50, math.ceil(2 * per_process)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the Locust child processes."""
        data = asdict(self)
        for key in ("sla_path", "json_path", "html_path"):
            data[key] = str(data[key]) if data[key] is not None else None
        data["role"] = self.role.value if self.role is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadTestOptions:
        values = dict(data)
        for key in ("sla_path", "json_path", "html_path"):
            values[key] = Path(values[key]) if values.get(key) is not None else None
        values["role"] = Role(values["role"]) if values.get("role") else None
        values["settings"] = ScenarioSettings.from_dict(values["settings"])
        return cls(**values)


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


# -- what the runner and the Locust processes (loadtests.process) exchange --------------


class ProcessRole(enum.StrEnum):
    """What a Locust child process does."""

    LOCAL = "local"
    MASTER = "master"
    WORKER = "worker"


class StopReason(enum.StrEnum):
    """Why the run ended."""

    COMPLETED = "completed"
    ABORT_ON_FAIL = "abort_on_fail"
    INTERRUPTED = "interrupted"
    WORKERS_LOST = "workers_lost"


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """How the runner starts one Locust child process (`python -m loadtests.process`)."""

    role: ProcessRole
    options: LoadTestOptions
    sla_path: Path | None = None
    result_path: Path | None = None
    master_host: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT

    def to_json(self) -> str:
        return json.dumps(
            {
                "role": self.role.value,
                "options": self.options.to_dict(),
                "sla_path": str(self.sla_path) if self.sla_path else None,
                "result_path": str(self.result_path) if self.result_path else None,
                "master_host": self.master_host,
                "master_port": self.master_port,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ProcessSpec:
        data = json.loads(text)
        return cls(
            role=ProcessRole(data["role"]),
            options=LoadTestOptions.from_dict(data["options"]),
            sla_path=Path(data["sla_path"]) if data["sla_path"] else None,
            result_path=Path(data["result_path"]) if data["result_path"] else None,
            master_host=data["master_host"],
            master_port=int(data["master_port"]),
        )


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the master (or local) child hands back: the merged recorder and how it ended.

    `worker_requests` maps each worker to the requests it recorded in all; `locust_requests`
    is Locust's own merged count (both to check that no report was lost);
    `closed_ceiling_rps` the most req/s the closed model's users can offer (None: unknown
    or unbounded, or the open model). `late_requests`
    completed after the run's end, while users were being stopped; they are not recorded
    (stopping 10,000 users blocks the process, so their latency is the teardown's).
    """

    recorder: Mapping[str, Any]
    duration_s: float
    started_at_s: float
    stopped: StopReason
    detail: str = ""
    abort_threshold: Mapping[str, Any] | None = None
    worker_requests: Mapping[str, int] = field(default_factory=dict)
    locust_requests: int = 0
    late_requests: int = 0
    closed_ceiling_rps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorder": self.recorder,
            "duration_s": self.duration_s,
            "started_at_s": self.started_at_s,
            "stopped": self.stopped.value,
            "detail": self.detail,
            "abort_threshold": self.abort_threshold,
            "worker_requests": dict(self.worker_requests),
            "locust_requests": self.locust_requests,
            "late_requests": self.late_requests,
            "closed_ceiling_rps": self.closed_ceiling_rps,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunOutcome:
        return cls(**{**data, "stopped": StopReason(data["stopped"])})
