"""The hub's message to its subscribers: typed values, one JSON encoding and one frame per tick.

Pure: no I/O, no clock. `encode(tick)` is one `json.dumps` per tick, never per subscriber;
`text_frame(payload)` builds the unmasked server-to-client websocket text frame (RFC 6455,
section 5.2) once, so the server writes the very same bytes to every connection. Numbers
are rounded to 3 decimals on the wire; `timestamp_s` comes first so a reader can find it
without parsing the whole message.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass
from typing import Any

from collector.snapshot import LatencySummary, Snapshot
from livehub.alerts import FiringAlert

__all__ = [
    "MESSAGE_VERSION",
    "AlertsView",
    "Kpis",
    "Latency",
    "ObjectiveStatus",
    "ServiceView",
    "Status",
    "TargetState",
    "TargetView",
    "Tick",
    "encode",
    "text_frame",
]

MESSAGE_VERSION = 1
"""Bumped when a field changes meaning or disappears; added fields keep the version."""


class TargetState(enum.Enum):
    """A polled target: not polled yet, answered with a valid snapshot, or not."""

    PENDING = "pending"
    UP = "up"
    DOWN = "down"


class Status(enum.Enum):
    """One objective over the hub's window: met, missed, or no request to judge by."""

    MET = "met"
    MISSED = "missed"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles in milliseconds (None: no request in the interval)."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, summary: LatencySummary) -> Latency:
        return cls(summary.p50_ms, summary.p95_ms, summary.p99_ms)


@dataclass(frozen=True, slots=True)
class Kpis:
    """The KPIs of one second of a service (or of all of them), from merged snapshots."""

    snapshot_timestamp_s: float
    processes: int
    requests: int
    errors: int
    error_ratio: float
    latency_1s: Latency
    latency_60s: Latency
    in_flight: int
    cpu_percent: float
    rss_bytes: int
    db_pool_in_use: int | None
    db_pool_size: int | None
    cache_hit_ratio: float | None

    @property
    def rps(self) -> float:
        """Requests completed in the second."""
        return float(self.requests)

    @classmethod
    def of(cls, snapshot: Snapshot) -> Kpis:
        pool = snapshot.db_pool
        return cls(
            snapshot_timestamp_s=snapshot.timestamp_s,
            processes=snapshot.processes,
            requests=snapshot.requests,
            errors=snapshot.errors,
            error_ratio=snapshot.error_ratio,
            latency_1s=Latency.of(LatencySummary.of(snapshot.latency_1s)),
            latency_60s=Latency.of(LatencySummary.of(snapshot.latency_60s)),
            in_flight=snapshot.in_flight,
            cpu_percent=snapshot.cpu_percent,
            rss_bytes=snapshot.rss_bytes,
            db_pool_in_use=None if pool is None else pool.in_use,
            db_pool_size=None if pool is None else pool.size,
            cache_hit_ratio=snapshot.cache_hit_ratio,
        )


@dataclass(frozen=True, slots=True)
class ObjectiveStatus:
    """One stated SLA objective judged over the last `window_s` seconds the hub has seen.

    `observed` and `threshold` are in `unit` ("ms", "ratio", "req/s"); `observed` is None
    when the window holds no request (status NO_DATA).
    """

    objective: str
    statement: str
    window_s: int
    observed: float | None
    threshold: float
    unit: str
    status: Status


@dataclass(frozen=True, slots=True)
class ServiceView:
    """A service (or the total over services): its KPIs and objective statuses.

    `kpis` is None when none of its targets is up. `client` marks the load generator's
    own view, which the total leaves out (its requests are the services' requests).
    """

    name: str
    client: bool
    targets_up: int
    targets: int
    kpis: Kpis | None
    objectives: tuple[ObjectiveStatus, ...]
    not_judged: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TargetView:
    """One polled URL: its state, why it is down, the service it reported last."""

    url: str
    service: str | None
    state: TargetState
    reason: str | None
    last_ok_s: float | None


@dataclass(frozen=True, slots=True)
class AlertsView:
    """The alert receiver: its state like a target's, and the alerts it last said fire.

    While the receiver is down, `firing` keeps its last answer (received at `last_ok_s`).
    """

    url: str
    state: TargetState
    reason: str | None
    last_ok_s: float | None
    firing: tuple[FiringAlert, ...]


@dataclass(frozen=True, slots=True)
class Tick:
    """Everything a subscriber gets once a second. `timestamp_s`: Unix time of the tick.

    `alerts` is None when the hub has no receiver configured.
    """

    timestamp_s: float
    sequence: int
    sla_source: str
    services: tuple[ServiceView, ...]
    total: ServiceView | None
    targets: tuple[TargetView, ...]
    alerts: AlertsView | None = None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _latency(latency: Latency) -> dict[str, float | None]:
    return {"p50": _r(latency.p50_ms), "p95": _r(latency.p95_ms), "p99": _r(latency.p99_ms)}


def _kpis(kpis: Kpis | None) -> dict[str, Any] | None:
    if kpis is None:
        return None
    return {
        "snapshot_timestamp_s": kpis.snapshot_timestamp_s,
        "processes": kpis.processes,
        "requests": kpis.requests,
        "errors": kpis.errors,
        "rps": kpis.rps,
        "error_ratio": _r(kpis.error_ratio),
        "latency_ms": {"1s": _latency(kpis.latency_1s), "60s": _latency(kpis.latency_60s)},
        "in_flight": kpis.in_flight,
        "cpu_percent": _r(kpis.cpu_percent),
        "rss_bytes": kpis.rss_bytes,
        "db_pool": None
        if kpis.db_pool_size is None
        else {"in_use": kpis.db_pool_in_use, "size": kpis.db_pool_size},
        "cache_hit_ratio": _r(kpis.cache_hit_ratio),
    }


def _objective(status: ObjectiveStatus) -> dict[str, Any]:
    return {
        "objective": status.objective,
        "statement": status.statement,
        "window_s": status.window_s,
        "observed": _r(status.observed),
        "threshold": _r(status.threshold),
        "unit": status.unit,
        "status": status.status.value,
    }


def _service(view: ServiceView) -> dict[str, Any]:
    return {
        "name": view.name,
        "client": view.client,
        "targets_up": view.targets_up,
        "targets": view.targets,
        "kpis": _kpis(view.kpis),
        "objectives": [_objective(o) for o in view.objectives],
        "not_judged": list(view.not_judged),
    }


def _alerts(view: AlertsView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {
        "receiver": view.url,
        "state": view.state.value,
        "reason": view.reason,
        "last_ok_s": view.last_ok_s,
        "firing": [
            {"name": a.name, "severity": a.severity, "service": a.service, "since_s": a.since_s}
            for a in view.firing
        ],
    }


def to_dict(tick: Tick) -> dict[str, Any]:
    """The JSON-safe form of a tick (documented field by field in docs/livehub.md)."""
    return {
        "timestamp_s": round(tick.timestamp_s, 6),
        "type": "tick",
        "version": MESSAGE_VERSION,
        "sequence": tick.sequence,
        "sla": tick.sla_source,
        "services": [_service(s) for s in tick.services],
        "total": None if tick.total is None else _service(tick.total),
        "targets": [
            {
                "url": t.url,
                "service": t.service,
                "state": t.state.value,
                "reason": t.reason,
                "last_ok_s": t.last_ok_s,
            }
            for t in tick.targets
        ],
        "alerts": _alerts(tick.alerts),
    }


def encode(tick: Tick) -> bytes:
    """Compact UTF-8 JSON of `to_dict(tick)`: encode once per tick, send to everyone."""
    return json.dumps(to_dict(tick), separators=(",", ":"), allow_nan=False).encode()


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed websocket text frame carrying `payload` (UTF-8).

    Servers never mask (RFC 6455, 5.1), so one frame serves every subscriber; valid only on
    connections that negotiated no extension (the hub turns compression off).
    """
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload
