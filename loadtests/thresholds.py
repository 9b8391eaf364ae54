"""The rows of an SLA verdict: what a threshold is, and how each one is computed (pure).

`loadtests.gate.evaluate` and `loadtests.early_abort.failed_beyond_recovery` build their
`ThresholdResult`s with these functions, so a row reads the same whether the run ended or
was stopped early. No I/O, no clock; latencies in seconds in, milliseconds in the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from collector.quantiles import QuantileSketch
from collector.sla import SLA, LatencyObjective, Objectives
from collector.units import format_duration
from loadtests.judged import JudgedWindows
from loadtests.saturation import (
    CPU_LIMIT_PERCENT,
    LAG_LIMIT_S,
    WindowLoad,
    judge,
    window_ranges,
)
from loadtests.stats import EndpointStats, RunStats

__all__ = [
    "DEFAULT_UNEXPECTED",
    "NO_REQUESTS",
    "GateOptions",
    "Metric",
    "ThresholdResult",
    "counted_reason",
    "default_routes_sketch",
    "error_rate_name",
    "format_value",
    "kept_up_row",
    "latency_row",
    "missed_starts_row",
    "pct",
    "ratio_row",
    "route_overrides",
    "scenario_failures_row",
    "short_ms",
    "slow_name",
    "throughput_row",
    "window_length_s",
    "windowed_row",
]

NO_REQUESTS = "no requests completed"
DEFAULT_UNEXPECTED = 0.01
"""Largest share of scenario failures a run may have when the SLA states no error rate."""
_DIGITS = {"ms": 3, "ratio": 6, "req/s": 3, "starts": 0, "windows": 0}


class Metric(Enum):
    """What a threshold measures; the value is the JSON report's ``metric``."""

    LATENCY = "latency"
    ERROR_RATE = "error_rate"
    THROUGHPUT = "throughput"
    SLOW_RATIO = "slow_ratio"
    WINDOW_LATENCY = "window_latency"
    SCENARIO_FAILURES = "scenario_failures"
    GENERATOR = "generator"


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """One judged objective. `limit`/`observed` are in `unit` ("ms", "ratio" or "req/s").

    `ok` is True (pass), False (fail) or None (not applicable or no data; never a failure);
    `detail` says why it is n/a, or which window failed.
    """

    name: str
    metric: Metric
    limit: float
    observed: float | None
    ok: bool | None
    unit: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's ``thresholds[]`` entry, numbers rounded by unit (ms to 3 places)."""
        digits = _DIGITS.get(self.unit, 6)
        observed = self.observed
        return {
            "name": self.name,
            "metric": self.metric.value,
            "limit": round(self.limit, digits),
            "observed": round(observed, digits) if observed is not None else None,
            "ok": self.ok,
            "unit": self.unit,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class GateOptions:
    """How to judge a run.

    `service`: the SLA service whose overrides apply (None: the defaults). `offered_rps`: the
    open model's target rate in req/s (None for a closed model). `windowed`: also judge
    latency per window. `ramp_up_s`: windows starting before this many seconds are ignored,
    and `failed_beyond_recovery` waits this long before extrapolating rates.
    `closed_ceiling_rps`: the most req/s a closed model's users can offer (users / mean think
    time in seconds); None when unknown or unbounded (no think time). `judge_from_s` and
    `judge_until_s` (seconds from the start; None: the run's end): only the windows wholly
    inside this span are judged (``--judge-window``, e.g. only the hold of a staged run).
    """

    service: str | None = None
    offered_rps: float | None = None
    windowed: bool = False
    ramp_up_s: float = 0.0
    closed_ceiling_rps: float | None = None
    judge_from_s: float = 0.0
    judge_until_s: float | None = None


def route_overrides(
    sla: SLA, stats: RunStats, service: str | None
) -> Iterator[tuple[EndpointStats, Objectives]]:
    """Endpoints whose route template (after ``METHOD ``) has an override in the service
    (in any service when `service` is None), looked up through `SLA.route_overrides`."""
    overrides = sla.route_overrides(service)
    if not overrides:
        return
    for name, endpoint in stats.endpoints.items():
        route = name.split(" ", 1)[1].strip() if " " in name.strip() else name.strip()
        if route in overrides:
            yield endpoint, overrides[route]


def default_routes_sketch(sla: SLA, stats: RunStats, service: str | None) -> QuantileSketch:
    """The latency sketch of every endpoint without a route override of its own."""
    overridden = {endpoint.name for endpoint, _ in route_overrides(sla, stats, service)}
    if not overridden:
        return stats.sketch
    merged = QuantileSketch(stats.sketch.relative_accuracy)
    for name, endpoint in stats.endpoints.items():
        if name not in overridden:
            merged.merge(endpoint.sketch)
    return merged


def latency_row(
    objective: LatencyObjective, sketch: QuantileSketch, on: str = ""
) -> ThresholdResult:
    """The percentile of `sketch` against the objective's threshold (on endpoint `on`)."""
    name = f"latency {objective.label} < {format_duration(objective.threshold_s)}"
    name += f" on {on}" if on else ""
    limit_ms = objective.threshold_s * 1000.0
    if sketch.count == 0:
        return ThresholdResult(name, Metric.LATENCY, limit_ms, None, None, "ms", NO_REQUESTS)
    value_s = sketch.quantile(objective.percentile)
    return ThresholdResult(
        name, Metric.LATENCY, limit_ms, value_s * 1000.0, value_s < objective.threshold_s, "ms"
    )


def ratio_row(
    metric: Metric, name: str, count: int, requests: int, limit: float
) -> ThresholdResult:
    """`count / requests` < `limit` (n/a without requests)."""
    if requests == 0:
        return ThresholdResult(name, metric, limit, None, None, "ratio", NO_REQUESTS)
    observed = count / requests
    return ThresholdResult(name, metric, limit, observed, observed < limit, "ratio")


def throughput_row(limit: float, stats: RunStats, options: GateOptions) -> ThresholdResult:
    """Achieved req/s after the ramp-up >= `limit`; n/a when the load cannot offer it."""
    name = f"throughput >= {limit:g} req/s"
    observed, after = _steady_rps(stats, options.ramp_up_s)
    offered, ceiling = options.offered_rps, options.closed_ceiling_rps
    detail = ""
    if offered is not None and offered < limit:
        detail = f"offered {offered:g} req/s is below the objective; the run cannot show it"
    elif offered is None and ceiling is not None and ceiling < limit:
        detail = (
            f"users / mean think time offer at most {ceiling:,.1f} req/s, below the objective;"
            " the run cannot show it"
        )
    if detail:
        return ThresholdResult(name, Metric.THROUGHPUT, limit, observed, None, "req/s", detail)
    detail = f"over the windows from {after:g}s (after the ramp-up)" if after > 0 else ""
    ok = observed >= limit
    return ThresholdResult(name, Metric.THROUGHPUT, limit, observed, ok, "req/s", detail)


def _steady_rps(stats: RunStats, ramp_up_s: float) -> tuple[float, float]:
    """(req/s, from s): over the windows starting at or after `ramp_up_s`, else the run's."""
    if ramp_up_s > 0:
        steady = [w for w in stats.windows if w.start_s >= ramp_up_s]
        length_s = sum(w.length_s for w in steady)
        if steady and length_s > 0:
            return sum(w.requests for w in steady) / length_s, steady[0].start_s
    return stats.rps, 0.0


def scenario_failures_row(stats: RunStats, limit: float) -> ThresholdResult:
    """Answers the scenario did not expect, as a share of all requests, < `limit`."""
    name = f"scenario failures (unexpected answers) < {pct(limit)}"
    result = ratio_row(Metric.SCENARIO_FAILURES, name, stats.unexpected, stats.requests, limit)
    if result.ok is False:
        detail = "not SLA errors, but the run is invalid: see the failures by reason"
        return replace(result, detail=detail)
    return result


def windowed_row(
    objective: LatencyObjective,
    stats: RunStats,
    ramp_up_s: float,
    skipped: frozenset[int] = frozenset(),
    skipped_note: str = "",
) -> ThresholdResult:
    """Every window after the ramp-up with requests, except the `skipped` ones (their
    `skipped_note` says why, e.g. "not judged: the load generator was saturated ...")."""
    length_s = window_length_s(stats)
    if length_s is None and stats.windows:
        length_s = stats.windows[0].length_s
    name = f"latency {objective.label} < {format_duration(objective.threshold_s)} in every"
    name += f" {format_duration(length_s)} window" if length_s else " window"
    name += f" after {format_duration(ramp_up_s)}" if ramp_up_s > 0 else ""
    limit_ms = objective.threshold_s * 1000.0
    judged = [
        (w, w.sketch.quantile(objective.percentile))
        for w in stats.windows
        if w.start_s >= ramp_up_s and w.requests > 0 and w.index not in skipped
    ]
    if not judged:
        detail = skipped_note or f"no window starting at or after {ramp_up_s:g}s has requests"
        return ThresholdResult(name, Metric.WINDOW_LATENCY, limit_ms, None, None, "ms", detail)
    worst_s = max(value for _, value in judged)
    failed = [(w, value) for w, value in judged if value >= objective.threshold_s]
    detail = ""
    if failed:
        first, value = failed[0]
        detail = (
            f"window {first.start_s:g}-{first.start_s + first.length_s:g}s: "
            f"{objective.label} {short_ms(value * 1000.0)}ms; "
            f"{len(failed)} of {len(judged)} windows failed"
        )
    if skipped:
        note = f"{len(skipped)} window(s) not judged: the load generator was saturated"
        detail = f"{detail}; {note}" if detail else note
    return ThresholdResult(
        name, Metric.WINDOW_LATENCY, limit_ms, worst_s * 1000.0, not failed, "ms", detail
    )


def kept_up_row(
    loads: Sequence[WindowLoad], scope: JudgedWindows, *, open_model: bool
) -> ThresholdResult:
    """Whether the generator kept up in enough windows to judge the service
    (`loadtests.judged`); `loads` are the run's generator rows. When it did not, the detail
    is the saturation's reason over the eligible windows (the verdict's `invalid`)."""
    name = (
        f"generator kept up (CPU < {CPU_LIMIT_PERCENT:g}% of a core, loop lag p95 < "
        f"{LAG_LIMIT_S * 1000.0:g} ms{', no missed starts' if open_model else ''})"
    )
    saturation = judge(loads)
    detail = ""
    if not scope.enough:
        detail = counted_reason(loads, scope)
    elif scope.saturated:
        plural = "s" if len(scope.saturated) > 1 else ""
        detail = (
            f"the load generator was saturated in window{plural}"
            f" {window_ranges(scope.saturated)}: not judged there; the service was judged on"
            f" the other {len(scope.judged)} of {len(scope.eligible)} windows"
        )
    elif saturation.saturated:
        detail = f"{saturation.short}, none of them judged (ramp-up or outside the judge window)"
    observed = float(len(scope.saturated))
    return ThresholdResult(name, Metric.GENERATOR, 0.0, observed, scope.enough, "windows", detail)


def counted_reason(loads: Sequence[WindowLoad], scope: JudgedWindows) -> str:
    """The saturation's reason over the eligible windows only (those the rule counts)."""
    eligible = set(scope.eligible)
    return judge([r for r in loads if r.index in eligible]).reason


def missed_starts_row(missed_starts: int) -> ThresholdResult:
    """Open model without generator samples: any missed start fails the run."""
    name = "generator kept up (no missed starts)"
    if missed_starts == 0:
        return ThresholdResult(name, Metric.GENERATOR, 0.0, 0.0, True, "starts")
    detail = f"the generator could not keep up: {missed_starts:,} starts missed; the run is invalid"
    return ThresholdResult(
        name, Metric.GENERATOR, 0.0, float(missed_starts), False, "starts", detail
    )


def window_length_s(stats: RunStats) -> float | None:
    """The nominal window length in seconds (window i starts at i x length), if knowable."""
    for window in stats.windows:
        if window.index > 0:
            return window.start_s / window.index
    return None


def error_rate_name(limit: float) -> str:
    return f"error rate < {pct(limit)}"


def slow_name(slow_request_s: float, limit: float) -> str:
    return f"slow requests (> {format_duration(slow_request_s)}) < {pct(limit)}"


def pct(fraction: float) -> str:
    """0.01 -> "1%"."""
    return f"{fraction * 100:g}%"


def short_ms(ms: float) -> str:
    """Milliseconds with as many digits as they deserve: "212", "4.2", "0.350"."""
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def format_value(value: float | None, unit: str) -> str:
    """A threshold value for people: '212 ms', '1.25%' (a "ratio"), '980.0 req/s',
    '3 missed' (starts), '-' if None."""
    if value is None:
        return "-"
    if unit == "ms":
        return f"{short_ms(value)} ms"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "starts":
        return f"{value:,.0f} missed"
    if unit == "windows":
        return f"{value:,.0f} saturated"
    return f"{value:,.1f} {unit}"
