"""What the runner and its Locust processes (`loadtests.process`) exchange, as JSON.

The runner starts each child with a `ProcessSpec` (`to_json`, read back by `from_json`); the
master or local child hands back a `RunOutcome` (`to_dict`/`from_dict`). Plain values, no I/O:
the caller writes and reads the text.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.run_options import DEFAULT_MASTER_PORT, LoadTestOptions

__all__ = ["ProcessRole", "ProcessSpec", "RunOutcome", "StopReason"]


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
