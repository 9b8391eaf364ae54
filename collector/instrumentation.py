"""One service's instrumentation state: HTTP recorder, statements, cache, pool, snapshots.

Framework-free: the aiohttp glue (`collector.middleware`) feeds it requests, and the
ticker (`collector.ticker`) closes its seconds. Several services may share one
`prometheus_client` registry: `shared_collector(registry)` returns the one collector that
renders all of them, since a metric name may be registered only once per registry. Any
thread may scrape: the collector holds every recorder's lock while it folds and renders.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client.registry import CollectorRegistry

from collector import conventions as names
from collector.cache_metrics import CacheCounters
from collector.exposition import (
    CounterFamily,
    Family,
    FamilyCollector,
    GaugeFamily,
    HistogramFamily,
    NativeHistogramFamily,
)
from collector.process_stats import ProcessSample
from collector.recorder import RequestRecorder, StatementRecorder
from collector.sla import SLA
from collector.snapshot import PoolSample, Snapshot, SnapshotBuilder

__all__ = ["FailureLog", "Instrumentation", "shared_collector"]

_log = logging.getLogger(__name__)

_MAX_STATEMENTS = 50
"""Distinct statement names kept per service; later ones are counted as OTHER_STATEMENT."""


class FailureLog:
    """Logs a failing part (a pool source, psutil, ...) once with its traceback, and once
    when it works again, instead of once a second. Call `failed` inside the `except`."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._failing: set[str] = set()

    def failed(self, part: str) -> None:
        """Record that `part` raised (log the traceback the first time in a row)."""
        if part not in self._failing:
            self._failing.add(part)
            self._logger.exception("%s failed; carrying on without it", part)

    def ok(self, part: str) -> None:
        """Record that `part` worked (log the recovery after a failure)."""
        if part in self._failing:
            self._failing.discard(part)
            self._logger.warning("%s works again", part)


class Instrumentation:
    """Everything one service records. `close_second` builds the per-second snapshot.

    `latest` is the last closed second's snapshot; `recent` the last `window_s` of them,
    oldest first, one per second without gaps (a catch-up after a stall adds several).
    """

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
        self.recent: deque[Snapshot] = deque(maxlen=window_s)
        self.failures = FailureLog(_log)
        self._builder = SnapshotBuilder(service)

    def pool(self) -> PoolSample | None:
        """The sum over every registered pool source, or None without any. A source that
        raises is logged (see `FailureLog`) and left out."""
        samples = []
        for source in list(self.pool_sources):
            part = f"{self.service}: pool source {source!r}"
            try:
                sample = source()
            except Exception:
                self.failures.failed(part)
                continue
            self.failures.ok(part)
            if sample is not None:
                samples.append(sample)
        if not samples:
            return None
        return PoolSample(sum(s.in_use for s in samples), sum(s.size for s in samples))

    def close_second(
        self, second: int, process: ProcessSample, *, stalled: bool = False
    ) -> Snapshot:
        """Close Unix second `second` (the interval [second, second + 1)), keep its snapshot
        as `latest` and in `recent`. Call once per second, in order; `stalled` marks a
        second closed only after the next one had ended too (see `Snapshot.stalled`)."""
        delta = self.requests.close_second(second)
        snapshot = self._builder.build(
            timestamp_s=float(second + 1),
            requests=delta.requests,
            errors=delta.errors,
            latency_1s=delta.latency,
            latency_60s=self.requests.sketch.window(float(second)),
            in_flight=self.requests.in_flight,
            cpu_percent=process.cpu_percent,
            rss_bytes=process.rss_bytes,
            db_pool=self.pool(),
            cache_hits_total=self.cache.hits,
            cache_lookups_total=self.cache.lookups,
            stalled=stalled,
        )
        self.latest = snapshot
        self.recent.append(snapshot)
        return snapshot

    def snapshot_after(self, timestamp_s: float) -> Snapshot | None:
        """The oldest kept snapshot whose `timestamp_s` is later than `timestamp_s`, or None
        (lets a poller that fell behind read every second in order)."""
        for snapshot in list(self.recent):
            if snapshot.timestamp_s > timestamp_s:
                return snapshot
        return None


def _families(instrumentations: list[Instrumentation]) -> list[Family]:
    """loadwatch's metric families over every instrumentation of one registry; call it
    while holding `_hold_locks(instrumentations)`."""
    for inst in instrumentations:
        inst.requests.fold()
    route_series = [s for inst in instrumentations for s in inst.requests.all_series()]
    request_labels = (names.LABEL_SERVICE, names.LABEL_ROUTE, names.LABEL_METHOD)
    pools = [(inst.service, inst.pool()) for inst in instrumentations]
    bounds = instrumentations[0].bounds_s if instrumentations else ()
    schema = instrumentations[0].requests.mapping.native_schema if instrumentations else None
    native: list[Family] = []
    if schema is not None:
        native.append(
            NativeHistogramFamily(
                names.HTTP_REQUEST_DURATION_NATIVE,
                "Time from routing to the handler's return, in seconds, by route template: "
                "the latency sketch's buckets as a native histogram (protobuf scrapes only).",
                request_labels,
                schema,
                [(s.label_values, s.native_histogram()) for s in route_series if s.count],
            )
        )
    return [
        *native,
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


@contextlib.contextmanager
def _hold_locks(instrumentations: list[Instrumentation]) -> Iterator[None]:
    """Hold every recorder's lock, always in list order (so two scrapes cannot deadlock)."""
    with contextlib.ExitStack() as stack:
        for inst in instrumentations:
            stack.enter_context(inst.requests.lock)
            stack.enter_context(inst.statements.lock)
        yield


class SharedCollector(FamilyCollector):
    """The collector of one registry: renders every instrumentation attached to it.

    Safe from any thread: a scrape folds and renders while holding the locks of every
    attached recorder (appends on the hot path take none).
    """

    def __init__(self) -> None:
        self.instrumentations: list[Instrumentation] = []
        self._scrape_lock = threading.Lock()
        super().__init__(lambda: _families(self.instrumentations), guard=self._guard)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        with self._scrape_lock, _hold_locks(self.instrumentations):
            yield

    def attach(self, inst: Instrumentation) -> None:
        """Add a service; a service name may be attached once per registry."""
        with self._scrape_lock:
            if any(other.service == inst.service for other in self.instrumentations):
                raise ValueError(
                    f"service {inst.service!r} is already instrumented on this registry; "
                    "pass a distinct service name or a registry of its own"
                )
            if self.instrumentations and inst.bounds_s != self.instrumentations[0].bounds_s:
                raise ValueError(
                    f"service {inst.service!r}: its SLA gives other histogram buckets than "
                    "the services already on this registry; use a registry per SLA"
                )
            self.instrumentations.append(inst)

    def detach(self, inst: Instrumentation) -> None:
        """Remove a service (on application cleanup)."""
        with self._scrape_lock:
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
