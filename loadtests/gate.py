"""The SLA gate: judges a load-test run against every objective of sla.yaml (pure).

`evaluate(sla, stats, options)` returns a `Verdict`; the CLI exits 0 when `verdict.passed`,
else 1. `failed_beyond_recovery(...)` is the decision behind ``--abort-on-fail``.
`verdict_table(verdict)` renders the terminal table. No I/O, no clock: times come in seconds.

Rules (objectives are those of `options.service`, or the defaults; "<" is strict, so a value
exactly at its limit fails):

- **latency**: the SLA percentile of the requests to routes without an override of their
  own (their merged sketches, so within 1 % relative error) < the threshold. **Per route**:
  every endpoint (named ``METHOD /template``) whose template has an override under
  ``services.<service>.routes`` (any service's, when `service` is None) is judged on its own
  sketch against the override's percentile and threshold instead, so `/ai/generate`, slow by
  design, neither hides nor spoils the p95 of the rest. Other overridden fields of a route
  are not judged per route. Windows hold every request.
- **error rate**: failures / requests < ``error_rate``.
- **throughput**: achieved req/s >= ``throughput_rps``, over the windows that start at or
  after ``ramp_up_s`` (the whole run without a ramp-up). When the load cannot offer the
  objective the run cannot show it: n/a (``ok=None``) with the reason, never a failure. That
  is the open model's rate (``offered_rps``) below the objective, or the closed model's
  ceiling (``closed_ceiling_rps``: users / mean think time) below it.
- **scenario failures**: answers the scenario did not expect (a 4xx, a failed check) are
  not SLA errors, but a run full of them measured something else than the scenario meant
  (ids the data does not have, a wrong route): their ratio must stay below ``error_rate``
  (1 % when the SLA states none), or the run is invalid and fails. No row without any.
- **generator**: the load generator kept up. With its own samples (`stats.generator`, see
  `loadtests.saturation`: CPU over 90 % of a core, loop lag p95 over 50 ms, or a missed
  start, in any window) a saturated window fails the run whatever else passed, and the
  verdict is `invalid` with the reason: a saturated generator measures itself, not the
  service. The service is then not blamed: the latency rows, the slow ratio and throughput
  are n/a with that reason, and the windowed latency skips the saturated windows. Without
  samples (open model, ``offered_rps`` set) the row only counts missed starts.
- **slow ratio**: requests slower than ``slow_request`` / requests < ``error_rate``: slow
  requests spend the same budget as errors. The count is ``stats.slow``, so the recorder must
  have been built with ``slow_s`` equal to the SLA's ``slow_request``.
- **windowed latency** (``options.windowed``): in every window that starts at or after
  ``ramp_up_s`` and has a request, the percentile < the threshold. ``observed`` is the worst
  window's value, ``detail`` names the first failing window. A short last window is judged too.
- An objective that sla.yaml does not state is not judged and gets no row; the slow ratio
  needs both ``slow_request`` and ``error_rate``.
- No requests at all: every threshold is n/a ("no requests completed") and the run fails.
- ``ok=None`` is never a failure; a verdict passes when nothing failed and something was judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from fractions import Fraction
from typing import Any

from collector.quantiles import QuantileSketch
from collector.sla import SLA, LatencyObjective, Objectives
from collector.units import format_duration
from loadtests.saturation import CPU_LIMIT_PERCENT, LAG_LIMIT_S, Saturation, judge
from loadtests.stats import EndpointStats, RunStats

__all__ = [
    "NO_REQUESTS",
    "GateOptions",
    "Metric",
    "ThresholdResult",
    "Verdict",
    "closed_ceiling_rps",
    "evaluate",
    "failed_beyond_recovery",
    "format_value",
    "verdict_table",
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


_NOT_THE_SERVICE = (Metric.LATENCY, Metric.SLOW_RATIO, Metric.THROUGHPUT)
"""Rows a saturated generator makes n/a: they would measure the generator."""


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
    time in seconds); None when unknown or unbounded (no think time).
    """

    service: str | None = None
    offered_rps: float | None = None
    windowed: bool = False
    ramp_up_s: float = 0.0
    closed_ceiling_rps: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """All thresholds in report order; `passed`: none failed and at least one was judged.

    `invalid` is why the run cannot be trusted ("" when it can): the generator was saturated.
    `saturated_windows` are the 0-based windows in which the service was not judged."""

    thresholds: tuple[ThresholdResult, ...]
    passed: bool
    invalid: str = ""
    saturated_windows: tuple[int, ...] = ()


def closed_ceiling_rps(users: int, classes: Sequence[tuple[float, float | None]]) -> float | None:
    """The most req/s `users` closed-model users can offer: each user class as (weight, mean
    think time in seconds), users shared by weight, at most one request per think time.
    Response time is ignored, so the true ceiling is lower: a throughput objective above
    this bound cannot be shown. None when a class's think time is unknown or 0 (unbounded)."""
    total = sum(weight for weight, _ in classes)
    if users < 1 or total <= 0:
        return None
    per_user = 0.0
    for weight, mean_s in classes:
        if mean_s is None or mean_s <= 0:
            return None
        per_user += (weight / total) / mean_s
    return users * per_user


def evaluate(sla: SLA, stats: RunStats, options: GateOptions) -> Verdict:
    """Judge a finished run (see the module docstring for the rules). O(buckets x endpoints)."""
    objectives = sla.objectives_for(options.service)
    saturation = judge(stats.generator)
    results: list[ThresholdResult] = []
    if objectives.latency is not None:
        default_sketch = _default_routes_sketch(sla, stats, options.service)
        results.append(_latency(objectives.latency, default_sketch))
    results += [
        _latency(route_objectives.latency, endpoint.sketch, on=endpoint.name)
        for endpoint, route_objectives in _route_overrides(sla, stats, options.service)
        if route_objectives.latency is not None
    ]
    limit = objectives.error_rate
    if limit is not None:
        results.append(
            _ratio(
                Metric.ERROR_RATE,
                _error_rate_name(limit),
                stats.failures,
                stats.requests,
                limit,
            )
        )
    if objectives.throughput_rps is not None:
        results.append(_throughput(objectives.throughput_rps, stats, options))
    if limit is not None and objectives.slow_request_s is not None:
        slow_name = _slow_name(objectives.slow_request_s, limit)
        results.append(_ratio(Metric.SLOW_RATIO, slow_name, stats.slow, stats.requests, limit))
    if options.windowed and objectives.latency is not None:
        results.append(_windowed(objectives.latency, stats, options.ramp_up_s, saturation))
    if saturation.saturated:
        results = [_not_judged(r, saturation) for r in results]
    if stats.unexpected:
        unexpected_limit = limit if limit is not None else DEFAULT_UNEXPECTED
        results.append(_scenario_failures(stats, unexpected_limit))
    if stats.requests == 0:
        results = [replace(r, observed=None, ok=None, detail=NO_REQUESTS) for r in results]
    passed = any(r.ok is not None for r in results) and all(r.ok is not False for r in results)
    if any(r.samples for r in stats.generator):
        generator = _kept_up(saturation, open_model=options.offered_rps is not None)
        results.append(generator)
        passed = passed and bool(generator.ok)
    elif options.offered_rps is not None:
        generator = _generator(stats.missed_starts)
        results.append(generator)
        passed = passed and bool(generator.ok)
    return Verdict(tuple(results), passed, saturation.reason, saturation.windows)


def _not_judged(result: ThresholdResult, saturation: Saturation) -> ThresholdResult:
    """A row the generator's saturation would decide: n/a with the reason."""
    if result.metric not in _NOT_THE_SERVICE or result.ok is None:
        return result
    return replace(result, ok=None, detail=f"not judged: {saturation.short}")


def _kept_up(saturation: Saturation, *, open_model: bool) -> ThresholdResult:
    name = (
        f"generator kept up (CPU < {CPU_LIMIT_PERCENT:g}% of a core, loop lag p95 < "
        f"{LAG_LIMIT_S * 1000.0:g} ms{', no missed starts' if open_model else ''})"
    )
    observed = float(len(saturation.windows))
    return ThresholdResult(
        name,
        Metric.GENERATOR,
        0.0,
        observed,
        not saturation.saturated,
        "windows",
        saturation.reason,
    )


def failed_beyond_recovery(
    sla: SLA, partial: RunStats, options: GateOptions, *, planned_duration_s: float
) -> ThresholdResult | None:
    """The first threshold that can no longer pass whatever the rest of the run does, or None.

    `partial` holds every request completed in its first `partial.duration_s` seconds of a
    run planned for `planned_duration_s`. Assumptions (an abort is final, so each errs
    towards running on):

    - The rest of the run adds at most 2 x max(average rate so far, the busiest full window's
      rate, `offered_rps`) req/s, and any one route may receive all of them. Rates are only
      extrapolated once `ramp_up_s` has passed, as load still grows during ramp-up.
    - error rate / slow ratio: fails for sure once count / (most requests the run can reach)
      >= the limit, i.e. even if every later request is fast and succeeds.
    - latency percentile p (overall and per route): the requests the sketch already places at
      or above the threshold exceed the N - ceil(p N) the final total N may hold (+1 to absorb
      float rounding of the rank).
    - windowed latency: a failed window after ramp-up is final once the window has ended
      (windows are only known to have ended when their length can be read from the stats).
    - throughput never aborts: a slow start may still be made up.
    - a missed start (open model) or a saturated generator window is final: the run is invalid.
    """
    saturation = judge(partial.generator)
    if saturation.saturated:
        return _kept_up(saturation, open_model=options.offered_rps is not None)
    if options.offered_rps is not None and partial.missed_starts > 0:
        return _generator(partial.missed_starts)
    objectives = sla.objectives_for(options.service)
    if options.windowed and objectives.latency is not None:
        window = _final_window_failure(objectives.latency, partial, options.ramp_up_s)
        if window is not None:
            return window
    elapsed_s = partial.duration_s
    if partial.requests == 0 or elapsed_s <= 0 or elapsed_s < options.ramp_up_s:
        return None
    remaining_s = max(0.0, planned_duration_s - elapsed_s)
    full_s = max((w.length_s for w in partial.windows), default=0.0)
    busiest = max((w.rps for w in partial.windows if w.length_s >= full_s), default=0.0)
    rate = max(partial.rps, busiest, options.offered_rps or 0.0)
    extra = 2.0 * rate * remaining_s  # the most requests the rest of the run can add
    ceiling = partial.requests + extra
    limit = objectives.error_rate
    ratios: list[tuple[Metric, str, int, str, float]] = []
    if limit is not None:
        name = _error_rate_name(limit)
        ratios.append((Metric.ERROR_RATE, name, partial.failures, "failures", limit))
        if objectives.slow_request_s is not None:
            name = _slow_name(objectives.slow_request_s, limit)
            ratios.append((Metric.SLOW_RATIO, name, partial.slow, "slow requests", limit))
    for metric, name, count, noun, limit in ratios:
        if count / ceiling >= limit:
            result = _ratio(metric, name, count, partial.requests, limit)
            detail = (
                f"{count:,} {noun} already reach {_pct(limit)} of the at most "
                f"{math.floor(ceiling):,} requests the run can reach"
            )
            return replace(result, ok=False, detail=detail)
    judged: list[tuple[LatencyObjective, QuantileSketch, str]] = []
    if objectives.latency is not None:
        default_sketch = _default_routes_sketch(sla, partial, options.service)
        judged.append((objectives.latency, default_sketch, ""))
    judged += [
        (route_objectives.latency, endpoint.sketch, endpoint.name)
        for endpoint, route_objectives in _route_overrides(sla, partial, options.service)
        if route_objectives.latency is not None
    ]
    for objective, sketch, on in judged:
        above = _count_at_or_above(sketch, objective.threshold_s)
        most = math.floor(sketch.count + extra)
        allowed = most - math.ceil(Fraction(objective.percentile) * most)
        if above > allowed + 1:
            detail = (
                f"{above:,} requests already at or above {format_duration(objective.threshold_s)};"
                f" at most {allowed + 1:,} of {most:,} may be"
            )
            return replace(_latency(objective, sketch, on=on), ok=False, detail=detail)
    return None


def verdict_table(verdict: Verdict) -> str:
    """Plain-ASCII aligned table: result (PASS/FAIL/n/a), threshold, observed, limit, detail."""
    header = ("RESULT", "THRESHOLD", "OBSERVED", "LIMIT", "DETAIL")
    rows = [header] + [
        (
            _status(r.ok),
            r.name,
            format_value(r.observed, r.unit),
            format_value(r.limit, r.unit),
            r.detail,
        )
        for r in verdict.thresholds
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            (
                row[0].ljust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].rjust(widths[2]),
                row[3].rjust(widths[3]),
                row[4],
            )
        ).rstrip()
        for row in rows
    ]
    counts = [sum(1 for r in verdict.thresholds if r.ok is ok) for ok in (True, False, None)]
    lines.append(
        f"{'PASSED' if verdict.passed else 'FAILED'}: {counts[0]} passed, {counts[1]} failed, "
        f"{counts[2]} not applicable"
    )
    if verdict.invalid:
        lines.append(f"INVALID: {verdict.invalid}; the service was not judged by its latency")
    return "\n".join(lines) + "\n"


def format_value(value: float | None, unit: str) -> str:
    """A threshold value for people: '212 ms', '1.25%' (a "ratio"), '980.0 req/s',
    '3 missed' (starts), '-' if None."""
    if value is None:
        return "-"
    if unit == "ms":
        return f"{_short_ms(value)} ms"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "starts":
        return f"{value:,.0f} missed"
    if unit == "windows":
        return f"{value:,.0f} saturated"
    return f"{value:,.1f} {unit}"


def _route_overrides(
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


def _default_routes_sketch(sla: SLA, stats: RunStats, service: str | None) -> QuantileSketch:
    """The latency sketch of every endpoint without a route override of its own."""
    overridden = {endpoint.name for endpoint, _ in _route_overrides(sla, stats, service)}
    if not overridden:
        return stats.sketch
    merged = QuantileSketch(stats.sketch.relative_accuracy)
    for name, endpoint in stats.endpoints.items():
        if name not in overridden:
            merged.merge(endpoint.sketch)
    return merged


def _latency(objective: LatencyObjective, sketch: QuantileSketch, on: str = "") -> ThresholdResult:
    name = f"latency {objective.label} < {format_duration(objective.threshold_s)}"
    name += f" on {on}" if on else ""
    limit_ms = objective.threshold_s * 1000.0
    if sketch.count == 0:
        return ThresholdResult(name, Metric.LATENCY, limit_ms, None, None, "ms", NO_REQUESTS)
    value_s = sketch.quantile(objective.percentile)
    return ThresholdResult(
        name, Metric.LATENCY, limit_ms, value_s * 1000.0, value_s < objective.threshold_s, "ms"
    )


def _ratio(metric: Metric, name: str, count: int, requests: int, limit: float) -> ThresholdResult:
    if requests == 0:
        return ThresholdResult(name, metric, limit, None, None, "ratio", NO_REQUESTS)
    observed = count / requests
    return ThresholdResult(name, metric, limit, observed, observed < limit, "ratio")


def _throughput(limit: float, stats: RunStats, options: GateOptions) -> ThresholdResult:
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


def _scenario_failures(stats: RunStats, limit: float) -> ThresholdResult:
    name = f"scenario failures (unexpected answers) < {_pct(limit)}"
    result = _ratio(Metric.SCENARIO_FAILURES, name, stats.unexpected, stats.requests, limit)
    if result.ok is False:
        detail = "not SLA errors, but the run is invalid: see the failures by reason"
        return replace(result, detail=detail)
    return result


def _generator(missed_starts: int) -> ThresholdResult:
    name = "generator kept up (no missed starts)"
    if missed_starts == 0:
        return ThresholdResult(name, Metric.GENERATOR, 0.0, 0.0, True, "starts")
    detail = f"the generator could not keep up: {missed_starts:,} starts missed; the run is invalid"
    return ThresholdResult(
        name, Metric.GENERATOR, 0.0, float(missed_starts), False, "starts", detail
    )


def _windowed(
    objective: LatencyObjective,
    stats: RunStats,
    ramp_up_s: float,
    saturation: Saturation | None = None,
) -> ThresholdResult:
    """Every window after the ramp-up with requests, except those with a saturated generator."""
    skipped = set(saturation.windows) if saturation is not None else set()
    length_s = _window_length_s(stats)
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
        detail = f"no window starting at or after {ramp_up_s:g}s has requests"
        if skipped and saturation is not None:
            detail = f"not judged: {saturation.short}"
        return ThresholdResult(name, Metric.WINDOW_LATENCY, limit_ms, None, None, "ms", detail)
    worst_s = max(value for _, value in judged)
    failed = [(w, value) for w, value in judged if value >= objective.threshold_s]
    detail = ""
    if failed:
        first, value = failed[0]
        detail = (
            f"window {first.start_s:g}-{first.start_s + first.length_s:g}s: "
            f"{objective.label} {_short_ms(value * 1000.0)}ms; "
            f"{len(failed)} of {len(judged)} windows failed"
        )
    if skipped:
        note = f"{len(skipped)} window(s) not judged: the load generator was saturated"
        detail = f"{detail}; {note}" if detail else note
    return ThresholdResult(
        name, Metric.WINDOW_LATENCY, limit_ms, worst_s * 1000.0, not failed, "ms", detail
    )


def _final_window_failure(
    objective: LatencyObjective, partial: RunStats, ramp_up_s: float
) -> ThresholdResult | None:
    """The windowed result if a window that has already ended failed, else None."""
    length_s = _window_length_s(partial)
    if length_s is None:
        return None
    ended = [w for w in partial.windows if w.start_s + length_s <= partial.duration_s]
    result = _windowed(objective, replace(partial, windows=tuple(ended)), ramp_up_s)
    return result if result.ok is False else None


def _window_length_s(stats: RunStats) -> float | None:
    """The nominal window length in seconds (window i starts at i x length), if knowable."""
    for window in stats.windows:
        if window.index > 0:
            return window.start_s / window.index
    return None


def _count_at_or_above(sketch: QuantileSketch, threshold_s: float) -> int:
    """Samples whose bucket estimate is >= threshold_s: those that push a quantile over it."""
    value = sketch.mapping.value
    return sum(count for key, count in sketch.bins.items() if value(key) >= threshold_s)


def _error_rate_name(limit: float) -> str:
    return f"error rate < {_pct(limit)}"


def _slow_name(slow_request_s: float, limit: float) -> str:
    return f"slow requests (> {format_duration(slow_request_s)}) < {_pct(limit)}"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _short_ms(ms: float) -> str:
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "FAIL"
