"""The live progress line of a load test (pure formatting, no clock, no I/O).

print(progress_line(elapsed_s=12.0, users=50, rps=312.4, stats=stats, verdict=verdict,
                    percentile=0.95, model="closed"))
#   12s  users 50  312.4 req/s  p95 41.2ms  errors 0.12%  generator cpu 35% lag 2ms
#        [latency ok, errors FAIL, ...]   (one line)
"""

from __future__ import annotations

from collections.abc import Sequence

from loadtests.gate import Metric, ThresholdResult, Verdict
from loadtests.saturation import live_figures
from loadtests.stats import RunStats

__all__ = ["objective_mark", "progress_line"]

_SHORT = {
    Metric.LATENCY: "latency",
    Metric.ERROR_RATE: "errors",
    Metric.THROUGHPUT: "throughput",
    Metric.SLOW_RATIO: "slow",
    Metric.WINDOW_LATENCY: "windows",
    Metric.SCENARIO_FAILURES: "scenario",
    Metric.GENERATOR: "generator",
}


def _ms(value_s: float | None) -> str:
    if value_s is None:
        return "-"
    ms = value_s * 1000.0
    return f"{ms:,.0f}ms" if ms >= 100 else f"{ms:.1f}ms" if ms >= 1 else f"{ms:.3f}ms"


def objective_mark(result: ThresholdResult) -> str:
    """'latency ok', 'errors FAIL', 'throughput n/a'; per-route latency names its route."""
    label = _SHORT[result.metric]
    if result.metric is Metric.LATENCY and " on " in result.name:
        label += " " + result.name.rsplit(" on ", 1)[1].split(" ", 1)[-1]
    state = "n/a" if result.ok is None else "ok" if result.ok else "FAIL"
    return f"{label} {state}"


def progress_line(
    *,
    elapsed_s: float,
    users: int,
    rps: float,
    stats: RunStats,
    verdict: Verdict,
    percentile: float,
    model: str = "closed",
    target: float | None = None,
) -> str:
    """One line: elapsed seconds, users (open model: requests in flight), current req/s, the
    SLA percentile so far, the error ratio so far, the generator's own latest CPU share and
    loop lag (worst process), and a mark per threshold of `verdict`. A load shape's `target`
    (users; req/s in the open model) shows as `target X / achieved Y` beside what it sets."""
    marks: Sequence[str] = [objective_mark(r) for r in verdict.thresholds]
    label = "in flight" if model == "open" else "users"
    value = stats.sketch.quantile(percentile) if stats.sketch.count else None
    users_part, rps_part = f"{label} {users}", f"{rps:,.1f} req/s"
    if target is not None and model == "open":
        rps_part = f"req/s target {target:,.1f} / achieved {rps:,.1f}"
    elif target is not None:
        users_part = f"users target {target:,.0f} / achieved {users}"
    parts = [
        f"{elapsed_s:5.0f}s",
        users_part,
        rps_part,
        f"p{percentile * 100:g} {_ms(value)}",
        f"errors {stats.error_rate * 100:.2f}%",
    ]
    if stats.missed_starts:
        parts.append(f"missed {stats.missed_starts:,}")
    figures = live_figures(stats.generator_latest)
    if figures is not None:
        mark = "  SATURATED" if figures["saturated"] else ""
        parts.append(
            f"generator cpu {figures['cpu_percent']:.0f}% lag {figures['loop_lag_ms']:.0f}ms{mark}"
        )
    return "  ".join(parts) + "  [" + ", ".join(marks) + "]"
