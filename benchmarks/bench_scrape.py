"""How long one /metrics scrape blocks the event loop, loadwatch vs prometheus_client.

    python -m benchmarks.bench_scrape [--scrapes 50] [--json OUT]

20 routes x 10 label sets (200 histogram series with the SLA buckets, plus their status
counters), every series observed. loadwatch: the /metrics handler's synchronous work
(`render_metrics`: fold, fast render, the rest of the registry), which is exactly the time
the loop cannot run anything else. Baseline: `generate_latest` over 20 prometheus_client
histograms x 10 label sets with the same buckets.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from collector.exposition import CONTENT_TYPE_OPENMETRICS
from collector.instrumentation import Instrumentation, shared_collector
from collector.middleware import render_metrics
from collector.sla import default_sla

ROUTES = 20
LABEL_SETS = 10
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "LIST", "COPY")


def _timed(fn: object, scrapes: int) -> list[float]:
    samples = []
    for _ in range(scrapes):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def run(scrapes: int) -> dict[str, object]:
    """Median and max milliseconds per scrape for each exposition path."""
    rng = random.Random(2)
    sla = default_sla()
    registry = CollectorRegistry()
    inst = Instrumentation("bench", sla)
    collector = shared_collector(registry)
    collector.attach(inst)
    for r in range(ROUTES):
        for method in _METHODS[:LABEL_SETS]:
            series = inst.requests.series(f"/route{r}/{{id}}", method)
            for _ in range(200):
                series.record(rng.choice((200, 200, 200, 404, 500)), rng.lognormvariate(-3, 1.2))
    inst.requests.fold()

    baseline_registry = CollectorRegistry()
    for r in range(ROUTES):
        hist = Histogram(
            f"route{r}_duration_seconds",
            "d",
            ["method"],
            buckets=inst.bounds_s,
            registry=baseline_registry,
        )
        for method in _METHODS[:LABEL_SETS]:
            child = hist.labels(method)
            for _ in range(200):
                child.observe(rng.lognormvariate(-3, 1.2))

    text = _timed(lambda: render_metrics(registry, collector, "text/plain"), scrapes)
    openmetrics = _timed(
        lambda: render_metrics(registry, collector, CONTENT_TYPE_OPENMETRICS), scrapes
    )
    baseline = _timed(lambda: generate_latest(baseline_registry), scrapes)
    body, _ = render_metrics(registry, collector, "text/plain")
    return {
        "series": ROUTES * LABEL_SETS,
        "buckets": len(inst.bounds_s) + 1,
        "body_bytes": len(body),
        "loadwatch_text_ms": {"median": statistics.median(text), "max": max(text)},
        "loadwatch_openmetrics_ms": {
            "median": statistics.median(openmetrics),
            "max": max(openmetrics),
        },
        "prometheus_client_ms": {"median": statistics.median(baseline), "max": max(baseline)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.scrapes)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
