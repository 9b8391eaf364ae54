"""`RunInfo`: what a run's report needs that its statistics do not know (pure, no I/O).

The runner builds one per run; `loadtests.summary.json_summary` and
`loadtests.report.html_report` read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RunInfo"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What the stats do not know about a run.

    `started_at` is ISO 8601 UTC; `model` is "closed" or "open"; `users` and `spawn_rate`
    (users/s) describe a closed model, `target_rate` (req/s) an open one; `server` holds
    optional server-side figures from Prometheus (`p95_ms`, `p50_ms`, `error_rate`,
    `requests`, the client's `network_ms` and `p95_agrees`: whether the client's p95 agrees
    with the server's within 2 % plus that network time); `workers_auto` what ``--workers
    auto`` chose and why (`loadtests.worker_count`), None when a count was given; `stages`
    the --stages load shape (then `users` or `target_rate` is its peak).
    """

    scenario: str
    host: str
    started_at: str
    model: str
    users: int | None
    spawn_rate: float | None
    target_rate: float | None
    workers: int
    sla_source: str
    server: Mapping[str, float | bool | None] | None = None
    workers_auto: Mapping[str, Any] | None = None
    stages: str | None = None
