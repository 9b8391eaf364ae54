"""One service's instrumentation state: HTTP recorder, statements, cache, pool, snapshots.

Framework-free: the aiohttp glue (`collector.middleware`) feeds it requests and a clock.
Several services may share one `prometheus_client` registry: `shared_collector(registry)`
returns the one collector that renders all of them, since a metric name may be registered
only once per registry.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable

from prometheus_client.registry import CollectorRegistry

from collector import conventions as names
from collector.cache_metrics import CacheCounters
from collector.exposition import (
    CounterFamily,
    Family,
    FamilyCollector,
    GaugeFamily,
    HistogramFamily,
)
from collector.process_stats import ProcessSample
from collector.recorder import RequestRecorder, StatementRecorder
from collector.sla import SLA
from collector.snapshot import PoolSample, Snapshot, SnapshotBuilder

__all__ = ["Instrumentation", "shared_collector"]

_MAX_STATEMENTS = 50
"""Distinct statement names kept per service; later ones are counted as OTHER_STATEMENT."""


class Instrumentation:
    """Everything one service records. `close_second` builds the per-second snapshot."""

    def __init__(self, service: str, sla: SLA, *, window_s: int = 60) -> None:
        self.service = service
        self.sla = sla
        self.bounds_s = names.duration_buckets(sla)
        self.requests = RequestRecorder(service, self.bounds_s, window_s=window_s)
        self.statements = StatementRecorder(
            self.bounds_s,
            max_series=_MAX_STATEMENTS,
            overflow_labels=(service, names.OTHER_STATEMENT),
        )
        self.cache = CacheCounters()
        self.pool_sources: list[Callable[[], PoolSample | None]] = []
        self.latest: Snapshot | None = None
        self._builder = SnapshotBuilder(service)

    def pool(self) -> PoolSample | None:
        """The sum over every registered pool source, or None without any."""
        samples = [s for s in (source() for source in self.pool_sources) if s is not None]
        if not samples:
            return None
        return PoolSample(sum(s.in_use for s in samples), sum(s.size for s in samples))

    def close_second(self, now_s: float, process: ProcessSample) -> Snapshot:
        """Close the second that ended at floor(now_s) and keep its snapshot as `latest`."""
        ended_at = math.floor(now_s)
        delta = self.requests.close_second(ended_at - 1)
        snapshot = self._builder.build(
            timestamp_s=float(ended_at),
            requests=delta.requests,
            errors=delta.errors,
            latency_1s=delta.latency,
            latency_60s=self.requests.sketch.window(float(ended_at - 1)),
            in_flight=self.requests.in_flight,
            cpu_percent=process.cpu_percent,
            rss_bytes=process.rss_bytes,
            db_pool=self.pool(),
            cache_hits_total=self.cache.hits,
            cache_lookups_total=self.cache.lookups,
        )
        self.latest = snapshot
        return snapshot


def _families(instrumentations: list[Instrumentation]) -> list[Family]:
    """loadwatch's metric families over every instrumentation of one registry."""
    for inst in instrumentations:
        inst.requests.fold()
    route_series = [s for inst in instrumentations for s in inst.requests.all_series()]
    request_labels = (names.LABEL_SERVICE, names.LABEL_ROUTE, names.LABEL_METHOD)
    pools = [(inst.service, inst.pool()) for inst in instrumentations]
    bounds = instrumentations[0].bounds_s if instrumentations else ()
    return [
        HistogramFamily(
            names.HTTP_REQUEST_DURATION,
            "Time from routing to the handler's return, in seconds, by route template.",
            request_labels,
            bounds,
            route_series,
        ),
        CounterFamily(
            names.HTTP_REQUESTS,
            "HTTP requests handled, by route template, method and status code.",
            (*request_labels, names.LABEL_CODE),
            [
                ((*s.label_values, str(code)), count)
                for s in route_series
                for code, count in sorted(s.status_counts.items())
            ],
        ),
        CounterFamily(
            names.HTTP_EXCEPTIONS,
            "Unhandled exceptions raised by handlers (each also counted as a 500).",
            request_labels,
            [(s.label_values, s.exceptions) for s in route_series if s.exceptions],
        ),
        GaugeFamily(
            names.HTTP_REQUESTS_IN_FLIGHT,
            "Requests being handled right now.",
            (names.LABEL_SERVICE,),
            [((inst.service,), inst.requests.in_flight) for inst in instrumentations],
        ),
        HistogramFamily(
            names.DB_STATEMENT_DURATION,
            "Database statement execution time in seconds, by bounded statement name.",
            (names.LABEL_SERVICE, names.LABEL_STATEMENT),
            bounds,
            [s for inst in instrumentations for s in inst.statements.all_series()],
        ),
        GaugeFamily(
            names.DB_POOL_CONNECTIONS,
            "Database pool connections by state (in_use, idle).",
            (names.LABEL_SERVICE, names.LABEL_STATE),
            [
                row
                for service, pool in pools
                if pool is not None
                for row in (
                    ((service, "in_use"), pool.in_use),
                    ((service, "idle"), max(pool.size - pool.in_use, 0)),
                )
            ],
        ),
        GaugeFamily(
            names.DB_POOL_SIZE,
            "Database pool capacity (size plus allowed overflow).",
            (names.LABEL_SERVICE,),
            [((service,), pool.size) for service, pool in pools if pool is not None],
        ),
        CounterFamily(
            names.CACHE_REQUESTS,
            "Cache lookups by layer and result (hit, miss, error).",
            (names.LABEL_SERVICE, names.LABEL_LAYER, names.LABEL_RESULT),
            [row for inst in instrumentations for row in inst.cache.rows(inst.service)],
        ),
    ]


class SharedCollector(FamilyCollector):
    """The collector of one registry: renders every instrumentation attached to it."""

    def __init__(self) -> None:
        self.instrumentations: list[Instrumentation] = []
        super().__init__(lambda: _families(self.instrumentations))

    def attach(self, inst: Instrumentation) -> None:
        """Add a service; a service name may be attached once per registry."""
        if any(other.service == inst.service for other in self.instrumentations):
            raise ValueError(
                f"service {inst.service!r} is already instrumented on this registry; "
                "pass a distinct service name or a registry of its own"
            )
        if self.instrumentations and inst.bounds_s != self.instrumentations[0].bounds_s:
            raise ValueError(
                f"service {inst.service!r}: its SLA gives other histogram buckets than the "
                "services already on this registry; use a registry per SLA"
            )
        self.instrumentations.append(inst)

    def detach(self, inst: Instrumentation) -> None:
        """Remove a service (on application cleanup)."""
        if inst in self.instrumentations:
            self.instrumentations.remove(inst)


_shared: weakref.WeakKeyDictionary[CollectorRegistry, SharedCollector] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_collector(registry: CollectorRegistry) -> SharedCollector:
    """The registry's loadwatch collector, registered on first use."""
    with _shared_lock:
        found = _shared.get(registry)
        if found is None:
            found = _shared[registry] = SharedCollector()
            registry.register(found)
        return found
