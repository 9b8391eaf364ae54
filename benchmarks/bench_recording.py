"""Cost of recording one request: loadwatch's path vs prometheus_client's, side by side.

    python -m benchmarks.bench_recording [--calls 200000] [--repeats 9] [--json OUT]

loadwatch: in-flight +1, `RouteSeries.append((status, duration, end))`, in-flight -1, plus the
amortized cost of the fold that turns the appended requests into histogram buckets,
status counters, the duration sum and sketch bins (one fold per 2,000 requests, i.e. a
1 Hz fold at 2,000 req/s; the fold's time is included). prometheus_client: `Gauge.inc`,
`Histogram.labels(...).observe`, `Counter.labels(...).inc`, `Gauge.dec`. Durations are
drawn from a lognormal around 20 ms; the loop that walks them is timed alone and
subtracted.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from benchmarks.timing import median_ns_per_call
from collector.conventions import duration_buckets
from collector.recorder import RequestRecorder
from collector.sla import default_sla


def run(calls: int, repeats: int) -> dict[str, object]:
    """Median nanoseconds per request for both paths."""
    bounds = duration_buckets(default_sla())
    rng = random.Random(11)
    durations = [rng.lognormvariate(-3.9, 0.8) for _ in range(calls)]

    recorder = RequestRecorder("bench", bounds)
    series = recorder.series("/courses/{course_id}", "GET")
    append = series.append
    fold_every = 2_000

    def loadwatch_path(n: int) -> None:
        rec = recorder
        fold = rec.fold
        for start in range(0, n, fold_every):
            for d in durations[start : min(n, start + fold_every)]:
                rec.in_flight += 1
                append((200, d, d))  # (status, duration_s, end_s) as the middleware
                rec.in_flight -= 1
            fold()

    registry = CollectorRegistry()
    hist = Histogram("h_seconds", "h", ["route", "method"], buckets=bounds, registry=registry)
    counter = Counter("c", "c", ["route", "method", "code"], registry=registry)
    gauge = Gauge("g", "g", registry=registry)

    def prometheus_path(n: int) -> None:
        for d in durations[:n]:
            gauge.inc()
            hist.labels("/courses/{course_id}", "GET").observe(d)
            counter.labels("/courses/{course_id}", "GET", "200").inc()
            gauge.dec()

    def histogram_observe_only(n: int) -> None:
        child = hist.labels("/courses/{course_id}", "GET")
        for d in durations[:n]:
            child.observe(d)

    class _Holder:
        in_flight = 0

    holder = _Holder()

    def empty(n: int) -> None:
        rec = holder
        for start in range(0, n, fold_every):
            for _d in durations[start : min(n, start + fold_every)]:
                rec.in_flight += 1
                rec.in_flight -= 1

    def bare_loop(n: int) -> None:
        for start in range(0, n, fold_every):
            for _d in durations[start : min(n, start + fold_every)]:
                pass

    # Warm up (fills the sketch-key cache and prometheus_client's label cache).
    loadwatch_path(calls)
    prometheus_path(calls // 10)
    recorder.fold()
    lw = median_ns_per_call(loadwatch_path, bare_loop, calls=calls, repeats=repeats)
    pc = median_ns_per_call(prometheus_path, bare_loop, calls=calls, repeats=repeats)
    observe = median_ns_per_call(histogram_observe_only, bare_loop, calls=calls, repeats=repeats)
    record_only = lw - median_ns_per_call(empty, bare_loop, calls=calls, repeats=repeats)
    return {
        "calls": calls,
        "repeats": repeats,
        "loadwatch_full_path_us": lw / 1000,
        "loadwatch_record_only_us": record_only / 1000,
        "prometheus_client_full_path_us": pc / 1000,
        "prometheus_client_observe_us": observe / 1000,
        "speedup": pc / lw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.calls, args.repeats)
    for key, value in result.items():
        print(f"{key:<32} {value:.3f}" if isinstance(value, float) else f"{key:<32} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
