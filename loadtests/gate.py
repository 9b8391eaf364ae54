"""The SLA gate: judges a load-test run against every objective of sla.yaml (pure).

`evaluate(sla, stats, options)` returns a `Verdict`; the CLI exits 0 when `verdict.passed`,
else 1. `failed_beyond_recovery(...)` (`loadtests.early_abort`) is the decision behind
``--abort-on-fail``. `verdict_table(verdict)` renders the terminal table. The rows are built
in `loadtests.thresholds`, the judged windows chosen in `loadtests.judged`; their public
names are importable from here too. No I/O, no clock: times come in seconds.

Rules (objectives are those of `options.service`, or the defaults; "<" is strict, so a value
exactly at its limit fails):

- **latency**: the SLA percentile of the requests to routes without an override of their
  own (their merged sketches, so within 1 % relative error) < the threshold. **Per route**:
  every endpoint (named ``METHOD /template``) whose template has an override under
  ``services.<service>.routes`` (any service's, when `service` is None) is judged on its own
  sketch against the override's percentile and threshold instead, so `/ai/generate`, slow by
  design, neither hides nor spoils the p95 of the rest. Other overridden fields of a route
  are not judged per route. Over the judged windows (below): the whole run when every
  window is judged.
- **error rate**: failures / requests < ``error_rate``, over the windows inside
  ``--judge-window`` (the whole run without one), saturated ones included.
- **throughput**: achieved req/s >= ``throughput_rps``, over the judged windows (those that
  start at or after ``ramp_up_s``; the whole run without a ramp-up). When the load cannot offer the
  objective the run cannot show it: n/a (``ok=None``) with the reason, never a failure. That
  is the open model's rate (``offered_rps``) below the objective, or the closed model's
  ceiling (``closed_ceiling_rps``: users / mean think time) below it.
- **scenario failures**: answers the scenario did not expect (a 4xx, a failed check) are
  not SLA errors, but a run full of them measured something else than the scenario meant
  (ids the data does not have, a wrong route): their ratio must stay below ``error_rate``
  (1 % when the SLA states none), or the run is invalid and fails. No row without any.
- **generator**: the load generator kept up. With its own samples (`stats.generator`, see
  `loadtests.saturation`: CPU over 90 % of a core, loop lag p95 over 50 ms, or a missed
  start, in a window) a saturated window is not judged as the service's: latency (overall
  and per route), the slow ratio, throughput and the windowed latency are judged over the
  **judged windows** only (`loadtests.judged`: inside ``--judge-window``, after the ramp-up,
  not saturated; their sketches merged exactly), the error rate over the windows inside
  ``--judge-window``. When the judged windows are not more than half of the eligible ones,
  the generator row fails and the verdict is `invalid` ("the load generator was saturated
  (N of M windows); use --workers or more machines" on the table's last line): the latency
  rows, the slow ratio and throughput are then n/a with the reason. Without samples (open
  model, ``offered_rps`` set) the row only counts missed starts.
- **slow ratio**: requests slower than ``slow_request`` / requests < ``error_rate``: slow
  requests spend the same budget as errors. The count is ``stats.slow``, so the recorder must
  have been built with ``slow_s`` equal to the SLA's ``slow_request``.
- **windowed latency** (``options.windowed``): in every window that starts at or after
  ``ramp_up_s``, lies inside ``--judge-window``, was not saturated and has a request, the
  percentile < the threshold. ``observed`` is the worst
  window's value, ``detail`` names the first failing window. A short last window is judged too.
- An objective that sla.yaml does not state is not judged and gets no row; the slow ratio
  needs both ``slow_request`` and ``error_rate``.
- No requests at all: every threshold is n/a ("no requests completed") and the run fails.
- ``ok=None`` is never a failure; a verdict passes when nothing failed and something was judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from collector.sla import SLA
from loadtests.early_abort import failed_beyond_recovery
from loadtests.judged import JudgedWindows, JudgeWindow, judged_windows, restrict
from loadtests.saturation import judge
from loadtests.stats import RunStats
from loadtests.thresholds import (
    DEFAULT_UNEXPECTED,
    NO_REQUESTS,
    GateOptions,
    Metric,
    ThresholdResult,
    counted_reason,
    default_routes_sketch,
    error_rate_name,
    format_value,
    kept_up_row,
    latency_row,
    missed_starts_row,
    ratio_row,
    route_overrides,
    scenario_failures_row,
    slow_name,
    throughput_row,
    windowed_row,
)

__all__ = [
    "NO_REQUESTS",
    "GateOptions",
    "JudgeWindow",
    "JudgedWindows",
    "Metric",
    "ThresholdResult",
    "Verdict",
    "closed_ceiling_rps",
    "evaluate",
    "failed_beyond_recovery",
    "format_value",
    "verdict_table",
]

_NOT_THE_SERVICE = (Metric.LATENCY, Metric.SLOW_RATIO, Metric.THROUGHPUT)
"""Rows a saturated generator makes n/a: they would measure the generator."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """All thresholds in report order; `passed`: none failed and at least one was judged.

    `invalid` is why the run cannot be trusted ("" when it can): the generator was saturated
    in too many windows (the reason with its figures). `saturated_windows` are the 0-based
    windows in which the generator was saturated; `windows` which windows were judged and
    why the others were not (None for a verdict built by hand)."""

    thresholds: tuple[ThresholdResult, ...]
    passed: bool
    invalid: str = ""
    saturated_windows: tuple[int, ...] = ()
    windows: JudgedWindows | None = None

    @property
    def invalid_line(self) -> str:
        """ "INVALID: the load generator was saturated (3 of 4 windows); use --workers or more
        machines" for an invalid run, "" otherwise: the last line a CI job reads."""
        if not self.invalid:
            return ""
        if self.windows is not None and self.windows.reason:
            return f"INVALID: {self.windows.reason}"
        return f"INVALID: {self.invalid}"

    def judged_window(self, index: int) -> bool:
        """Whether window `index` (0-based) was judged as the service's."""
        if self.windows is not None:
            return index in self.windows.judged
        return index not in self.saturated_windows


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
    """Judge a finished run (see the module docstring for the rules). O(buckets x endpoints
    x windows) when windows are left out, O(buckets x endpoints) otherwise."""
    objectives = sla.objectives_for(options.service)
    saturation = judge(stats.generator)
    judge_window = JudgeWindow(options.judge_from_s, options.judge_until_s)
    scope = judged_windows(
        stats, saturation.windows, ramp_up_s=options.ramp_up_s, judge=judge_window
    )
    service = stats if scope.everything else restrict(stats, scope.judged)
    in_scope = stats if judge_window.whole_run else restrict(stats, scope.scope)
    results: list[ThresholdResult] = []
    if objectives.latency is not None:
        default_sketch = default_routes_sketch(sla, service, options.service)
        results.append(latency_row(objectives.latency, default_sketch))
    results += [
        latency_row(route_objectives.latency, endpoint.sketch, on=endpoint.name)
        for endpoint, route_objectives in route_overrides(sla, service, options.service)
        if route_objectives.latency is not None
    ]
    limit = objectives.error_rate
    if limit is not None:
        name = error_rate_name(limit)
        results.append(
            ratio_row(Metric.ERROR_RATE, name, in_scope.failures, in_scope.requests, limit)
        )
    if objectives.throughput_rps is not None:
        results.append(throughput_row(objectives.throughput_rps, service, options))
    if limit is not None and objectives.slow_request_s is not None:
        name = slow_name(objectives.slow_request_s, limit)
        results.append(ratio_row(Metric.SLOW_RATIO, name, service.slow, service.requests, limit))
    if options.windowed and objectives.latency is not None:
        scoped = (
            stats
            if judge_window.whole_run
            else replace(stats, windows=tuple(w for w in stats.windows if w.index in scope.scope))
        )
        skipped = frozenset(saturation.windows) & frozenset(scope.scope)
        note = f"not judged: {saturation.short}" if skipped else ""
        results.append(windowed_row(objectives.latency, scoped, options.ramp_up_s, skipped, note))
    if not scope.enough:
        results = [_not_judged(r, f"not judged: {saturation.short}") for r in results]
    elif not judge_window.whole_run and not scope.judged:
        empty = f"no window lies wholly inside the judge window {judge_window.label}"
        results = [replace(r, detail=empty) if r.ok is None else r for r in results]
    if stats.unexpected:
        unexpected_limit = limit if limit is not None else DEFAULT_UNEXPECTED
        results.append(scenario_failures_row(stats, unexpected_limit))
    if stats.requests == 0:
        results = [replace(r, observed=None, ok=None, detail=NO_REQUESTS) for r in results]
    passed = any(r.ok is not None for r in results) and all(r.ok is not False for r in results)
    if any(r.samples for r in stats.generator):
        generator = kept_up_row(stats.generator, scope, open_model=options.offered_rps is not None)
        results.append(generator)
        passed = passed and bool(generator.ok)
    elif options.offered_rps is not None:
        generator = missed_starts_row(stats.missed_starts)
        results.append(generator)
        passed = passed and bool(generator.ok)
    invalid = "" if scope.enough else counted_reason(stats.generator, scope)
    return Verdict(tuple(results), passed, invalid, saturation.windows, scope)


def _not_judged(result: ThresholdResult, detail: str) -> ThresholdResult:
    """A row the generator's saturation would decide: n/a with the reason."""
    if result.metric not in _NOT_THE_SERVICE or (
        result.ok is None and result.detail != NO_REQUESTS
    ):
        return result
    return replace(result, ok=None, detail=detail)


def verdict_table(verdict: Verdict, *, closing: bool = True) -> str:
    """Plain-ASCII aligned table: result (PASS/FAIL/n/a), threshold, observed, limit, detail;
    then the counts, which windows were judged (when not all), and with `closing` the
    verdict's `invalid_line` last (`show_result` prints that at the very end instead)."""
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
    if verdict.windows is not None and verdict.windows.summary:
        lines.append(verdict.windows.summary)
    if closing and verdict.invalid_line:
        lines.append(verdict.invalid_line)
    return "\n".join(lines) + "\n"


def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "FAIL"
