"""The load generator's own per-second snapshot, in the collector's `/live/snapshot` format.

`LiveView.tick(recorder, now_s, users, process)` turns the growing run recorder into the
last second's `Snapshot` (requests, errors, p50/p95/p99 over 1 s and 60 s, users as
in-flight), by differencing the recorder's cumulative latency bins: exact, and it merges
with the services' snapshots in the stream hub. Pure: time and process figures come in.
"""

from __future__ import annotations

from collections import deque

from collector.process_stats import ProcessSample
from collector.quantiles import QuantileSketch
from collector.snapshot import Snapshot
from loadtests.stats import RunRecorder

__all__ = ["LIVE_SERVICE", "LiveView"]

LIVE_SERVICE = "loadtest"
"""The `service` of the load generator's snapshots."""


class LiveView:
    """Per-second deltas of a cumulative RunRecorder, with a 60 s window."""

    def __init__(self, *, window_s: int = 60, service: str = LIVE_SERVICE) -> None:
        self.service = service
        self._bins: dict[int, int] = {}
        self._zero = 0
        self._requests = 0
        self._failures = 0
        self._recent: deque[QuantileSketch] = deque(maxlen=window_s)
        self.latest: Snapshot | None = None

    def tick(
        self, recorder: RunRecorder, now_s: float, users: int, process: ProcessSample
    ) -> Snapshot:
        """The snapshot of everything recorded since the previous tick."""
        overall = recorder.overall
        sketch = overall.latency
        delta = QuantileSketch(sketch.relative_accuracy)
        bins = dict(sketch.bins)
        added = {k: n - self._bins.get(k, 0) for k, n in bins.items() if n > self._bins.get(k, 0)}
        zero = sketch.zero_count - self._zero
        if added or zero > 0:
            delta.add_bins(added, max(zero, 0))
        self._bins, self._zero = bins, sketch.zero_count
        requests = overall.requests - self._requests
        failures = overall.failures - self._failures
        self._requests, self._failures = overall.requests, overall.failures
        self._recent.append(delta)
        window = QuantileSketch(sketch.relative_accuracy)
        for second in self._recent:
            window.merge(second)
        self.latest = Snapshot(
            service=self.service,
            timestamp_s=float(int(now_s)),
            requests=requests,
            errors=failures,
            in_flight=users,
            cpu_percent=process.cpu_percent,
            rss_bytes=process.rss_bytes,
            db_pool=None,
            cache_hits=0,
            cache_lookups=0,
            latency_1s=delta,
            latency_60s=window,
        )
        return self.latest
