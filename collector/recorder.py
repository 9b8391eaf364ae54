"""Request and statement recording: the hot path, and the once-a-second fold.

A request pays one `list.append((status, duration_s, end_s))` (`RouteSeries.append`,
~0.1 us), where `end_s` is when it completed on a monotonic clock (the one its duration
was measured with). Everything else is derived later, in bulk, by `RequestRecorder.fold()`
(at every scrape and every second): exact Prometheus bucket counts (`searchsorted`, so
`le` is inclusive exactly as prometheus_client's), per-status counters, the duration sum,
and per-second request/error counts and sketch bins, each request in the Unix second it
completed in (`floor(end_s + clock_offset_s)`), vectorized with numpy when more than a few
requests are pending. Pure: it never reads a clock; the caller keeps `clock_offset_s`
current. Call `fold` at least once a second (the instrumentation's ticker does): pending
requests are kept until then.

Threads: appends need no lock (one `list.append`, atomic under the GIL). `fold`,
`close_second` and `series` may be called from any thread: they hold `lock` (reentrant),
drain exactly the requests appended before the drain (`n = len(p); p[:n]; del p[:n]`), so
none is lost or counted twice. Hold `lock` to read the cumulative counts consistently.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from math import floor

import numpy as np

from collector.conventions import CLIENT_CLOSED_CODE, NON_SLA_ROUTES, is_sla_error
from collector.native_buckets import MAX_CHANGES, DenseBuckets
from collector.quantiles import LogMapping, QuantileSketch, WindowedSketch

__all__ = [
    "HistogramSeries",
    "NativeHistogram",
    "RequestRecorder",
    "RouteSeries",
    "SecondDelta",
    "StatementRecorder",
]

_VECTOR_FROM = 32
"""Pending requests from which the fold uses numpy instead of a Python loop."""

Sample = tuple[int, float, float]
"""One request: (status code, duration in seconds, completion time in seconds on the
recorder's monotonic clock)."""


@dataclass(slots=True)
class NativeHistogram:
    """One native histogram series, cumulative since start, on one bucket schema.

    `buckets` maps bucket index k to its count; bucket k holds values in
    (2**((k-1) * 2**-schema), 2**(k * 2**-schema)] seconds. `zero_count` counts values of 0.
    Any mapping does; `RouteSeries` hands out a `DenseBuckets`, which the encoder reads
    without a per-bucket loop. `count` is `zero_count` plus the buckets' counts: the
    encoder takes it as a bound on every bucket count (to work on int32 below 2**31).
    Treat it as immutable: `protobuf_cache` (the encoder's last encoding of it, with what
    else that depended on) stays valid only while the fields do not change.

    `base` is the `protobuf_cache` of an earlier snapshot of the same series and `changed`
    lists every bucket index whose count may differ from that snapshot's (repeats allowed):
    the encoder then patches that encoding (`native_incremental`) instead of redoing it.
    Counts never decrease. None (the default) promises nothing.
    """

    count: int
    sum_s: float
    zero_count: int
    buckets: Mapping[int, int]
    protobuf_cache: object = field(default=None, repr=False, compare=False)
    base: object = field(default=None, repr=False, compare=False)
    changed: Sequence[int] = field(default=(), repr=False, compare=False)


class HistogramSeries:
    """Cumulative histogram counts for one label set: `counts[i]` falls in bucket i.

    Bucket i covers (bounds[i-1], bounds[i]]; the last bucket is (bounds[-1], +Inf).
    """

    __slots__ = ("counts", "label_values", "protobuf_cache", "render_cache", "sum_s")

    def __init__(self, label_values: tuple[str, ...], n_buckets: int) -> None:
        self.label_values = label_values
        self.counts = [0] * (n_buckets + 1)
        self.sum_s = 0.0
        self.render_cache: object = None
        """The text renderer's line prefixes (written by `collector.exposition`)."""
        self.protobuf_cache: object = None
        """The protobuf encoder's last encoding, with the counts it encoded."""

    @property
    def count(self) -> int:
        """Observations so far."""
        return sum(self.counts)

    def cumulative(self) -> list[int]:
        """Counts of observations <= each bound, ending with the +Inf bucket (= count)."""
        total = 0
        out = []
        for value in self.counts:
            total += value
            out.append(total)
        return out


class RouteSeries(HistogramSeries):
    """One (route template, method) of one service: its histogram and its status counters.

    `label_values` is (service, route, method). The hot path is
    `append((status, duration_s, end_s))` (bind it once; the list object never changes);
    `record` is the same as a method.
    """

    __slots__ = (
        "append",
        "exceptions",
        "in_sla",
        "method",
        "native_buckets",
        "native_snapshot",
        "native_zero",
        "pending",
        "route",
        "status_counts",
    )

    def __init__(self, recorder: RequestRecorder, route: str, method: str) -> None:
        super().__init__((recorder.service, route, method), len(recorder.bounds_s))
        self.route = route
        self.method = method
        self.in_sla = route not in NON_SLA_ROUTES
        """False for NON_SLA_ROUTES: counted by status only, never timed into the histogram,
        the sketch or the per-second figures."""
        self.status_counts: dict[int, int] = {}
        self.exceptions = 0
        self.native_buckets = DenseBuckets()
        """Cumulative sketch bins since start: the native histogram's buckets."""
        self.native_zero = 0
        self.native_snapshot: NativeHistogram | None = None
        self.pending: list[Sample] = []
        self.append = self.pending.append

    def record(self, status: int, duration_s: float, end_s: float = 0.0) -> None:
        """Count one request: `status` code, `duration_s` >= 0 seconds, completed at `end_s`
        (recorder clock; the default 0.0, long past, counts it in the next closed second)."""
        self.append((status, duration_s, end_s))

    def native_histogram(self) -> NativeHistogram:
        """The cumulative native histogram as folded so far (hold the recorder's lock).

        The same object comes back while the count is unchanged (every fold that changes
        the buckets, sum or zero count adds requests), so encoders may cache on it; a new
        one copies the dense bucket array (a memcpy of 8 bytes a bucket in its range) and
        names the buckets changed since the last encoded snapshot (`NativeHistogram.base`).
        """
        count = self.count
        snapshot = self.native_snapshot
        if snapshot is None or snapshot.count != count:
            live = self.native_buckets
            changes, live.changes = live.changes, []
            base: object = None
            changed: Sequence[int] = ()
            if snapshot is None or changes is None:
                pass
            elif snapshot.protobuf_cache is not None:  # relative to the last encoded one
                base, changed = snapshot.protobuf_cache, changes
            elif snapshot.base is not None and len(snapshot.changed) + len(changes) <= MAX_CHANGES:
                base, changed = snapshot.base, [*snapshot.changed, *changes]  # text scrapes
            snapshot = NativeHistogram(
                count, self.sum_s, self.native_zero, live.copy(), None, base, changed
            )
            self.native_snapshot = snapshot
        return snapshot


@dataclass(slots=True)
class SecondDelta:
    """What one closed second added: request and error counts and the latency bins."""

    second: int
    requests: int = 0
    errors: int = 0
    latency: QuantileSketch = field(default_factory=QuantileSketch)


class RequestRecorder:
    """All HTTP series of one service, plus the windowed latency sketch over them.

    Call `series(route, method)` once per route (at start-up, not per request), then
    `RouteSeries.append` per request. `fold()` makes the cumulative counts current;
    `close_second(second)` folds and moves that second's latency bins into the sketch.
    `clock_offset_s` turns a request's `end_s` into Unix seconds (wall minus monotonic).
    """

    def __init__(
        self,
        service: str,
        bounds_s: tuple[float, ...],
        *,
        window_s: int = 60,
        relative_accuracy: float = 0.01,
    ) -> None:
        if list(bounds_s) != sorted(set(bounds_s)) or not bounds_s or bounds_s[0] <= 0:
            raise ValueError(f"bounds_s: expected increasing positive bounds, got {bounds_s!r}")
        self.service = service
        self.bounds_s = bounds_s
        self._bounds = np.asarray(bounds_s, dtype=np.float64)
        self.in_flight = 0
        self.clock_offset_s = 0.0
        self.sketch = WindowedSketch(window_s=window_s, relative_accuracy=relative_accuracy)
        self.mapping: LogMapping = self.sketch.mapping
        self.lock = threading.RLock()
        self._series: dict[tuple[str, str], RouteSeries] = {}
        self._open: dict[int, SecondDelta] = {}

    def series(self, route: str, method: str) -> RouteSeries:
        """The series for a route template and method, created on first use."""
        key = (route, method)
        found = self._series.get(key)
        if found is None:
            with self.lock:
                found = self._series.get(key)
                if found is None:
                    found = self._series[key] = RouteSeries(self, route, method)
        return found

    def all_series(self) -> list[RouteSeries]:
        """Every series, in creation order."""
        return list(self._series.values())

    def fold(self) -> None:
        """Move every pending request into the cumulative counters and its open second."""
        with self.lock:
            for series in list(self._series.values()):
                pending = series.pending
                n = len(pending)
                if not n:
                    continue
                items = pending[:n]
                del pending[:n]
                if not series.in_sla:
                    _count_statuses(series, items)
                elif n >= _VECTOR_FROM:
                    self._fold_vector(series, items)
                else:
                    self._fold_loop(series, items)

    def _fold_loop(self, series: RouteSeries, items: list[Sample]) -> None:
        counts, statuses, bounds = series.counts, series.status_counts, self.bounds_s
        offset = self.clock_offset_s
        by_second: dict[int, list[tuple[int, float]]] = {}
        total = 0.0
        for status, duration, end in items:
            counts[bisect_left(bounds, duration)] += 1
            statuses[status] = statuses.get(status, 0) + 1
            total += duration
            by_second.setdefault(floor(end + offset), []).append((status, duration))
        series.sum_s += total
        key_of = self.mapping.key
        for second, group in by_second.items():
            bins: dict[int, int] = {}
            zero = errors = 0
            for status, duration in group:
                if is_sla_error(status):
                    errors += 1
                if duration > 0.0:
                    key = key_of(duration)
                    bins[key] = bins.get(key, 0) + 1
                else:
                    zero += 1
            self._add_to_open(second, len(group), errors, bins, zero)
            _add_native(series, bins, zero)

    def _fold_vector(self, series: RouteSeries, items: list[Sample]) -> None:
        table = np.fromiter(
            chain.from_iterable(items), dtype=np.float64, count=3 * len(items)
        ).reshape(len(items), 3)
        statuses = table[:, 0].astype(np.int64)
        durations = table[:, 1]
        buckets = np.bincount(
            np.searchsorted(self._bounds, durations, side="left"),
            minlength=len(series.counts),
        )
        for index in np.flatnonzero(buckets).tolist():
            series.counts[index] += int(buckets[index])
        codes, code_counts = np.unique(statuses, return_counts=True)
        for code, n in zip(codes.tolist(), code_counts.tolist(), strict=True):
            series.status_counts[code] = series.status_counts.get(code, 0) + n
        series.sum_s += float(durations.sum())
        seconds = np.floor(table[:, 2] + self.clock_offset_s).astype(np.int64)
        first, last = int(seconds.min()), int(seconds.max())
        if first == last:
            self._add_vector(series, first, statuses, durations)
            return
        for second in np.unique(seconds).tolist():
            chosen = seconds == second
            self._add_vector(series, second, statuses[chosen], durations[chosen])

    def _add_vector(
        self, series: RouteSeries, second: int, statuses: np.ndarray, durations: np.ndarray
    ) -> None:
        positive = durations[durations > 0.0]
        keys = np.ceil(np.log(positive) * self.mapping.multiplier).astype(np.int64)
        uniq, key_counts = np.unique(keys, return_counts=True)
        bins = dict(zip(uniq.tolist(), key_counts.tolist(), strict=True))
        zero = len(durations) - len(positive)
        self._add_to_open(second, len(durations), _count_sla_errors(statuses), bins, zero)
        _add_native(series, bins, zero)

    def _add_to_open(
        self, second: int, requests: int, errors: int, bins: dict[int, int], zero: int
    ) -> None:
        open_second = self._open.get(second)
        if open_second is None:
            open_second = self._open[second] = self._empty(second)
        open_second.requests += requests
        open_second.errors += errors
        if bins or zero:
            open_second.latency.add_bins(bins, zero)

    def _empty(self, second: int) -> SecondDelta:
        return SecondDelta(second=second, latency=QuantileSketch(self.mapping_accuracy))

    def close_second(self, second: int) -> SecondDelta:
        """Fold, then close Unix second `second`: the requests that completed in it (and any
        still open from earlier seconds) form its delta, whose bins enter the sketch.
        Requests that completed after it stay open for later closes."""
        with self.lock:
            self.fold()
            due = sorted(s for s in self._open if s <= second)
            closed = self._open.pop(due.pop()) if due else self._empty(second)
            for earlier in due:
                part = self._open.pop(earlier)
                closed.requests += part.requests
                closed.errors += part.errors
                closed.latency.merge(part.latency)
            closed.second = second
            if closed.requests:
                latency = closed.latency
                self.sketch.add_bins(latency.bins, latency.zero_count, float(second))
            return closed

    @property
    def mapping_accuracy(self) -> float:
        """The sketch's relative accuracy (0.01 = 1 %)."""
        return self.sketch.relative_accuracy


def _count_statuses(series: RouteSeries, items: list[Sample]) -> None:
    """Count requests by status only (a route outside the SLA figures)."""
    statuses = series.status_counts
    for status, _, _ in items:
        statuses[status] = statuses.get(status, 0) + 1


def _count_sla_errors(statuses: np.ndarray) -> int:
    """`is_sla_error` over recorded statuses, vectorized: 5xx and CLIENT_CLOSED_CODE."""
    return int(np.count_nonzero((statuses >= 500) | (statuses == CLIENT_CLOSED_CODE)))


def _add_native(series: RouteSeries, bins: dict[int, int], zero: int) -> None:
    """Add one fold's sketch bins to the series' cumulative native-histogram buckets."""
    series.native_buckets.add(bins)
    series.native_zero += zero


class StatementRecorder:
    """A bounded family of histograms keyed by a label tuple (e.g. database statements).

    `observe(labels, value_s)` bisects into the buckets: ~0.3 us. At most `max_series`
    series exist: `max_series - 1` named ones, then `overflow_labels` for all later names.
    Thread-safe: every call holds `lock`; hold it to read the counts consistently.
    """

    def __init__(
        self,
        bounds_s: tuple[float, ...],
        *,
        max_series: int,
        overflow_labels: tuple[str, ...],
    ) -> None:
        if max_series < 2:
            raise ValueError(f"max_series: expected at least 2, got {max_series}")
        self.bounds_s = bounds_s
        self.max_series = max_series
        self.overflow_labels = overflow_labels
        self._series: dict[tuple[str, ...], HistogramSeries] = {}
        self.lock = threading.Lock()

    def observe(self, labels: tuple[str, ...], value_s: float) -> None:
        """Count one observation of `value_s` seconds (>= 0) under `labels`; thread-safe
        (database drivers may call it from their worker threads)."""
        with self.lock:
            self._observe(labels, value_s)

    def _observe(self, labels: tuple[str, ...], value_s: float) -> None:
        series = self._series.get(labels)
        if series is None:
            if len(self._series) >= self.max_series - 1:
                labels = self.overflow_labels
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = HistogramSeries(labels, len(self.bounds_s))
        series.counts[bisect_left(self.bounds_s, value_s)] += 1
        series.sum_s += value_s

    def all_series(self) -> list[HistogramSeries]:
        """Every series, in creation order."""
        return list(self._series.values())
