"""Per-second KPI snapshots: built once a second, served at /live/snapshot, merged by the hub.

A snapshot carries its latency sketches (the closed second and the last 60 s), so snapshots
from several processes or services merge exactly: `merge_snapshots` sums the counts and
merges the bins, then recomputes the percentiles. Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collector.quantiles import QuantileSketch

__all__ = [
    "LatencySummary",
    "PoolSample",
    "Snapshot",
    "SnapshotBuilder",
    "SnapshotError",
    "merge_snapshots",
]


class SnapshotError(ValueError):
    """A snapshot payload is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """p50/p95/p99 in milliseconds (None when the interval had no request)."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, sketch: QuantileSketch) -> LatencySummary:
        """Percentiles of a sketch of seconds, within its relative accuracy."""
        if sketch.count == 0:
            return cls(None, None, None)
        return cls(*(sketch.quantile(q) * 1000.0 for q in (0.5, 0.95, 0.99)))


@dataclass(frozen=True, slots=True)
class PoolSample:
    """Database connection pool: connections checked out, and the pool's configured size."""

    in_use: int
    size: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The KPIs of one closed second of one service (or a merge of several).

    `timestamp_s` is the Unix time at which the second ended; counts cover the requests
    that completed in that second, `*_60s` the 60 s window ending there.

    `stalled` marks a second that could only be closed after the next one had ended too
    (the event loop or the process was blocked for over a second). Its request counts and
    latencies are still exact; its gauges (in-flight, CPU, RSS, pool) and cache counts
    were sampled when the process resumed. A stall emits one snapshot per skipped second,
    never a gap followed by a double second. A merge is stalled if any input is.
    """

    service: str
    timestamp_s: float
    requests: int
    errors: int
    in_flight: int
    cpu_percent: float
    rss_bytes: int
    db_pool: PoolSample | None
    cache_hits: int
    cache_lookups: int
    latency_1s: QuantileSketch
    latency_60s: QuantileSketch
    processes: int = 1
    stalled: bool = False

    @property
    def rps(self) -> float:
        """Requests completed in the second."""
        return float(self.requests)

    @property
    def error_ratio(self) -> float:
        """5xx and exceptions, of all requests in the second (0 when there were none)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def cache_hit_ratio(self) -> float | None:
        """Lookups answered by any cache layer, of all lookups (None without lookups)."""
        return self.cache_hits / self.cache_lookups if self.cache_lookups else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the /live/snapshot body)."""
        return {
            "service": self.service,
            "timestamp_s": self.timestamp_s,
            "processes": self.processes,
            "stalled": self.stalled,
            "requests": self.requests,
            "errors": self.errors,
            "rps": self.rps,
            "error_ratio": self.error_ratio,
            "latency_ms": {
                "1s": _summary_dict(LatencySummary.of(self.latency_1s)),
                "60s": _summary_dict(LatencySummary.of(self.latency_60s)),
            },
            "requests_60s": self.latency_60s.count,
            "in_flight": self.in_flight,
            "cpu_percent": round(self.cpu_percent, 2),
            "rss_bytes": self.rss_bytes,
            "db_pool": None
            if self.db_pool is None
            else {"in_use": self.db_pool.in_use, "size": self.db_pool.size},
            "cache": {
                "hits": self.cache_hits,
                "lookups": self.cache_lookups,
                "hit_ratio": self.cache_hit_ratio,
            },
            "sketch": {"1s": self.latency_1s.to_dict(), "60s": self.latency_60s.to_dict()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Parse `to_dict()` output; SnapshotError names the first bad field."""
        try:
            pool = data["db_pool"]
            sketches = data["sketch"]
            cache = data["cache"]
            return cls(
                service=_typed(data, "service", str),
                timestamp_s=float(_typed(data, "timestamp_s", (int, float))),
                requests=_typed(data, "requests", int),
                errors=_typed(data, "errors", int),
                in_flight=_typed(data, "in_flight", int),
                cpu_percent=float(_typed(data, "cpu_percent", (int, float))),
                rss_bytes=_typed(data, "rss_bytes", int),
                db_pool=None
                if pool is None
                else PoolSample(_typed(pool, "in_use", int), _typed(pool, "size", int)),
                cache_hits=_typed(cache, "hits", int),
                cache_lookups=_typed(cache, "lookups", int),
                latency_1s=QuantileSketch.from_dict(sketches["1s"]),
                latency_60s=QuantileSketch.from_dict(sketches["60s"]),
                processes=_typed(data, "processes", int),
                stalled=_flag(data, "stalled"),
            )
        except KeyError as exc:
            raise SnapshotError(f"snapshot: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise SnapshotError(f"snapshot: {exc}") from None


def _typed(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise SnapshotError(f"snapshot: field {key!r}: expected {kind}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SnapshotError(f"snapshot: field {key!r}: expected a finite number, got {value!r}")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    """An optional boolean field (absent in snapshots from older collectors: False)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SnapshotError(f"snapshot: field {key!r}: expected true or false, got {value!r}")
    return value


def _summary_dict(summary: LatencySummary) -> dict[str, float | None]:
    return {
        "p50": _round(summary.p50_ms),
        "p95": _round(summary.p95_ms),
        "p99": _round(summary.p99_ms),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class SnapshotBuilder:
    """Turns cumulative cache counts into per-second deltas and assembles snapshots."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._cache_hits = 0
        self._cache_lookups = 0

    def build(
        self,
        *,
        timestamp_s: float,
        requests: int,
        errors: int,
        latency_1s: QuantileSketch,
        latency_60s: QuantileSketch,
        in_flight: int,
        cpu_percent: float,
        rss_bytes: int,
        db_pool: PoolSample | None,
        cache_hits_total: int,
        cache_lookups_total: int,
        stalled: bool = False,
    ) -> Snapshot:
        """A snapshot of the second ending at `timestamp_s`; cache counts are cumulative."""
        hits = cache_hits_total - self._cache_hits
        lookups = cache_lookups_total - self._cache_lookups
        self._cache_hits, self._cache_lookups = cache_hits_total, cache_lookups_total
        return Snapshot(
            service=self.service,
            timestamp_s=timestamp_s,
            requests=requests,
            errors=errors,
            in_flight=in_flight,
            cpu_percent=cpu_percent,
            rss_bytes=rss_bytes,
            db_pool=db_pool,
            cache_hits=hits,
            cache_lookups=lookups,
            latency_1s=latency_1s,
            latency_60s=latency_60s,
            stalled=stalled,
        )


def merge_snapshots(snapshots: Sequence[Snapshot], service: str) -> Snapshot:
    """One snapshot for several processes or services, exact: counts add, sketches merge.

    Raises ValueError for an empty sequence. The timestamp is the latest of the inputs.
    """
    if not snapshots:
        raise ValueError("merge_snapshots: expected at least one snapshot, got none")
    accuracy = snapshots[0].latency_1s.relative_accuracy
    latency_1s = QuantileSketch(accuracy)
    latency_60s = QuantileSketch(accuracy)
    pools = [s.db_pool for s in snapshots if s.db_pool is not None]
    for snap in snapshots:
        latency_1s.merge(snap.latency_1s)
        latency_60s.merge(snap.latency_60s)
    return Snapshot(
        service=service,
        timestamp_s=max(s.timestamp_s for s in snapshots),
        requests=sum(s.requests for s in snapshots),
        errors=sum(s.errors for s in snapshots),
        in_flight=sum(s.in_flight for s in snapshots),
        cpu_percent=sum(s.cpu_percent for s in snapshots),
        rss_bytes=sum(s.rss_bytes for s in snapshots),
        db_pool=PoolSample(sum(p.in_use for p in pools), sum(p.size for p in pools))
        if pools
        else None,
        cache_hits=sum(s.cache_hits for s in snapshots),
        cache_lookups=sum(s.cache_lookups for s in snapshots),
        latency_1s=latency_1s,
        latency_60s=latency_60s,
        processes=sum(s.processes for s in snapshots),
        stalled=any(s.stalled for s in snapshots),
    )
