"""`LoadTestOptions`: one load test as a frozen value, and what it derives (pure, no I/O).

    options = LoadTestOptions("course", "http://127.0.0.1:8101", rate=50.0, duration_s=60.0)
    options.gate_options(), options.pool_size(), options.shape(), options.to_dict()

`loadtests.options.from_args` builds one from the `loadwatch loadtest` flags; a program (a
capacity search, the demo) builds one directly. `to_dict`/`from_dict` carry it to the Locust
processes as JSON. `Role` and `DEFAULT_MASTER_PORT` describe multi-machine runs.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from loadtests.gate import GateOptions
from loadtests.scenarios import Scenario, resolve_scenario
from loadtests.scenarios.common import ScenarioSettings
from loadtests.stages import Stages, parse_stages

__all__ = ["DEFAULT_MASTER_PORT", "MAX_POOL", "LoadTestOptions", "Role"]

DEFAULT_MASTER_PORT = 5557
"""Locust's master port for multi-machine runs (--role); one-machine runs pick a free one."""
MAX_POOL = 2000
"""Most open-model users (one request in flight each) per process: --connections' limit."""


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
