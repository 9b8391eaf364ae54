"""``--abort-on-fail``: the first threshold a running load test can no longer pass (pure).

`failed_beyond_recovery(sla, partial, options, planned_duration_s=...)` is called by the
Locust master (or local process) every few seconds with the run so far; a result stops the
run. An abort is final, so every assumption errs towards running on. No I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from collector.quantiles import QuantileSketch
from collector.sla import SLA, LatencyObjective
from collector.units import format_duration
from loadtests.judged import JudgeWindow, judged_windows, restrict, rule_lost
from loadtests.saturation import judge
from loadtests.stats import RunStats
from loadtests.thresholds import (
    GateOptions,
    Metric,
    ThresholdResult,
    counted_reason,
    default_routes_sketch,
    error_rate_name,
    kept_up_row,
    latency_row,
    missed_starts_row,
    pct,
    ratio_row,
    route_overrides,
    slow_name,
    windowed_row,
)

__all__ = ["failed_beyond_recovery"]


def failed_beyond_recovery(
    sla: SLA, partial: RunStats, options: GateOptions, *, planned_duration_s: float
) -> ThresholdResult | None:
    """The first threshold that can no longer pass whatever the rest of the run does, or None.

    `partial` holds every request completed in its first `partial.duration_s` seconds of a
    run planned for `planned_duration_s`. Assumptions:

    - Only windows that have ended are judged (a running window may still turn out
      saturated), and only those the final verdict would judge (`loadtests.judged`).
    - A saturated generator is final only once the judged-window rule can no longer hold:
      the saturated windows that have ended already leave at most half of the planned run's
      eligible windows to judge. The row is then the generator's, and the run is invalid.
    - The rest of the run adds at most 2 x max(average rate so far, the busiest full window's
      rate, `offered_rps`) req/s, and any one route may receive all of them. Rates are only
      extrapolated once `ramp_up_s` has passed, as load still grows during ramp-up.
    - error rate / slow ratio: fails for sure once count / (most requests the run can reach)
      >= the limit, i.e. even if every later request is fast and succeeds.
    - latency percentile p (overall and per route): the requests the sketch already places at
      or above the threshold exceed the N - ceil(p N) the final total N may hold (+1 to absorb
      float rounding of the rank).
    - windowed latency: a failed judged window after ramp-up is final once it has ended.
    - throughput never aborts: a slow start may still be made up.
    - without generator samples, a missed start (open model) is final: the run is invalid.
    """
    judge_window = JudgeWindow(options.judge_from_s, options.judge_until_s)
    saturation = judge(partial.generator)
    sampled = any(r.samples for r in partial.generator)
    ended = tuple(w for w in partial.windows if w.start_s + partial.window_s <= partial.duration_s)
    scope = judged_windows(
        replace(partial, windows=ended),
        saturation.windows,
        ramp_up_s=options.ramp_up_s,
        judge=judge_window,
    )
    saturated_ended = {w.index for w in ended} & set(saturation.windows)
    lost = rule_lost(
        saturated_ended,
        window_s=partial.window_s,
        planned_duration_s=planned_duration_s,
        ramp_up_s=options.ramp_up_s,
        judge=judge_window,
    )
    if lost:
        row = kept_up_row(partial.generator, scope, open_model=options.offered_rps is not None)
        detail = (
            f"{counted_reason(partial.generator, scope)}; the rest of the run can no longer"
            " leave more than half of its windows to judge"
        )
        return replace(row, ok=False, detail=detail)
    if not sampled and options.offered_rps is not None and partial.missed_starts > 0:
        return missed_starts_row(partial.missed_starts)
    objectives = sla.objectives_for(options.service)
    if options.windowed and objectives.latency is not None:
        judged = replace(partial, windows=tuple(w for w in ended if w.index in scope.judged))
        window = windowed_row(objectives.latency, judged, options.ramp_up_s)
        if window.ok is False:
            return window
    elapsed_s = partial.duration_s
    if partial.requests == 0 or elapsed_s <= 0 or elapsed_s < options.ramp_up_s:
        return None
    narrowed = sampled or not judge_window.whole_run or options.ramp_up_s > 0
    service = restrict(partial, scope.judged) if narrowed else partial
    errors = restrict(partial, scope.scope) if not judge_window.whole_run else partial
    remaining_s = max(0.0, planned_duration_s - elapsed_s)
    full_s = max((w.length_s for w in partial.windows), default=0.0)
    busiest = max((w.rps for w in partial.windows if w.length_s >= full_s), default=0.0)
    rate = max(partial.rps, busiest, options.offered_rps or 0.0)
    extra = 2.0 * rate * remaining_s  # the most requests the rest of the run can add
    ceiling = partial.requests + extra  # every request so far may still be judged
    limit = objectives.error_rate
    ratios: list[tuple[Metric, str, int, str, float]] = []
    if limit is not None:
        name = error_rate_name(limit)
        ratios.append((Metric.ERROR_RATE, name, errors.failures, "failures", limit))
        if objectives.slow_request_s is not None:
            name = slow_name(objectives.slow_request_s, limit)
            ratios.append((Metric.SLOW_RATIO, name, service.slow, "slow requests", limit))
    for metric, name, count, noun, limit in ratios:
        if count / ceiling >= limit:
            result = ratio_row(metric, name, count, partial.requests, limit)
            detail = (
                f"{count:,} {noun} already reach {pct(limit)} of the at most "
                f"{math.floor(ceiling):,} requests the run can reach"
            )
            return replace(result, ok=False, detail=detail)
    return _latency_beyond_recovery(sla, partial, service, options, extra)


def _latency_beyond_recovery(
    sla: SLA, partial: RunStats, service: RunStats, options: GateOptions, extra: float
) -> ThresholdResult | None:
    """A latency objective whose judged requests at or above its threshold already exceed
    what the most requests the run can reach allow (see `failed_beyond_recovery`)."""
    objectives = sla.objectives_for(options.service)
    judged: list[tuple[LatencyObjective, QuantileSketch, int, str]] = []
    if objectives.latency is not None:
        sketch = default_routes_sketch(sla, service, options.service)
        everything = default_routes_sketch(sla, partial, options.service)
        judged.append((objectives.latency, sketch, everything.count, ""))
    counts = {endpoint.name: endpoint.sketch.count for endpoint in partial.endpoints.values()}
    judged += [
        (route_objectives.latency, endpoint.sketch, counts.get(endpoint.name, 0), endpoint.name)
        for endpoint, route_objectives in route_overrides(sla, service, options.service)
        if route_objectives.latency is not None
    ]
    for objective, sketch, so_far, on in judged:
        above = _count_at_or_above(sketch, objective.threshold_s)
        most = math.floor(so_far + extra)
        allowed = most - math.ceil(Fraction(objective.percentile) * most)
        if above > allowed + 1:
            detail = (
                f"{above:,} requests already at or above {format_duration(objective.threshold_s)};"
                f" at most {allowed + 1:,} of {most:,} may be"
            )
            return replace(latency_row(objective, sketch, on=on), ok=False, detail=detail)
    return None


def _count_at_or_above(sketch: QuantileSketch, threshold_s: float) -> int:
    """Samples whose bucket estimate is >= threshold_s: those that push a quantile over it."""
    value = sketch.mapping.value
    return sum(count for key, count in sketch.bins.items() if value(key) >= threshold_s)
