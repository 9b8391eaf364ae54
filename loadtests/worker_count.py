"""``--workers auto``: how many Locust worker processes this machine has cores to spare for.

    choice = choose_workers(usable_cores(), local_target=True)
    print(choice.line)   # --workers auto: 3 worker processes (8 usable cores: 1 for the ...)

A Locust process is one gevent loop on one core, so one worker per spare core is the most
load one machine can generate without the workers starving each other. The rule (pure):

- usable cores: those this process may run on (`os.sched_getaffinity`, so a container's
  or taskset's CPU set counts, not the host's), read once by `usable_cores`;
- minus 1 for the Locust master, when it runs here (not with ``--role worker``);
- minus half of the rest, rounded up, when the target is on this machine (localhost or a
  loopback address): the service under test needs cores too, and a starved service is
  as wrong a measurement as a starved generator;
- at least 1.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "WorkerChoice",
    "auto_line",
    "auto_workers",
    "choose_workers",
    "local_host",
    "usable_cores",
]


@dataclass(frozen=True, slots=True)
class WorkerChoice:
    """The chosen worker count and the cores that explain it."""

    workers: int
    usable_cores: int
    for_master: int
    for_service: int
    service: str = ""

    @property
    def reason(self) -> str:
        """ "8 usable cores: 1 for the master, 4 for the service at 127.0.0.1, 3 to spare"."""
        parts = [f"{self.for_master} for the master"] if self.for_master else []
        if self.for_service:
            parts.append(f"{self.for_service} for the service at {self.service}")
        spare = self.usable_cores - self.for_master - self.for_service
        parts.append(f"{spare} to spare" if spare > 0 else "none to spare, so 1")
        where = "" if self.for_master else "; the master runs elsewhere"
        plural = "s" if self.usable_cores != 1 else ""
        return f"{self.usable_cores} usable core{plural}: {', '.join(parts)}{where}"

    @property
    def line(self) -> str:
        """The one line printed at the start of the run."""
        return auto_line(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary's ``workers_auto``."""
        return {
            "workers": self.workers,
            "usable_cores": self.usable_cores,
            "for_master": self.for_master,
            "for_service": self.for_service,
            "reason": self.reason,
        }


def choose_workers(usable: int, *, master_here: bool = True, service: str = "") -> WorkerChoice:
    """Apply the module's rule to `usable` cores; `service` names a target on this machine
    ("127.0.0.1"), "" when the target is elsewhere."""
    usable = max(1, usable)
    for_master = 1 if master_here else 0
    rest = max(0, usable - for_master)
    for_service = math.ceil(rest / 2) if service else 0
    workers = max(1, rest - for_service)
    return WorkerChoice(workers, usable, for_master, for_service, service)


def auto_workers(
    value: str | None, *, master: str | None, host: str | None
) -> dict[str, Any] | None:
    """The ``--workers`` flag: for "auto", this machine's `WorkerChoice` as a dict (reads the
    CPU affinity); None for a number. `master` is the --role ("master", "worker" or None:
    everything here). ValueError when auto cannot apply (a master elsewhere waits for a count)."""
    if value != "auto":
        return None
    if master == "master":
        raise ValueError("with --role master: how many workers to wait for, not auto")
    choice = choose_workers(usable_cores(), master_here=master is None, service=local_host(host))
    return choice.to_dict()


def auto_line(choice: Mapping[str, Any]) -> str:
    """ "--workers auto: 3 worker processes (8 usable cores: ...)" for a `to_dict()`."""
    workers = int(choice["workers"])
    plural = "es" if workers != 1 else ""
    return f"--workers auto: {workers} worker process{plural} ({choice['reason']})"


def local_host(url: str | None) -> str:
    """The host of `url` when it is this machine (localhost or a loopback address), else ""."""
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    if host == "localhost":
        return host
    try:
        return host if ipaddress.ip_address(host).is_loopback else ""
    except ValueError:
        return ""


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; os.cpu_count() where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
