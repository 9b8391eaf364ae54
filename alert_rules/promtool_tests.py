"""promtool unit tests for the generated rules, derived from the same SLA.

Every alert gets, from its own threshold, windows and `for`:
- *fires and resolves*: the signal 50 % beyond the threshold from the start; quiet one
  step before its `for` ends, firing (with the live value in its description) a margin
  after, quiet again a margin after its short window recovered (its long window, shown
  by a `promql_expr_test`, still over);
- *both sides of the threshold*: 10 % beyond it fires, 10 % inside it never does;
- *quiet on a brief spike*: a spike that fills the short window (or, for one-window and
  gauge alerts, lasts one minute) while the long window stays under the threshold.
Expected values are computed here with Prometheus' own formatting (`templates`), so a
different SLA gets different, still passing, tests. Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alert_rules.alerts import AlertSpec, Signal
from alert_rules.configs import SERVICES_JOB
from alert_rules.templates import humanize_duration, humanize_percentage, plain, render
from collector import conventions as names
from collector import promql
from collector.promql import Matcher, selector
from collector.units import format_duration, parse_duration

__all__ = ["ANY_SERVICE", "step_of", "test_files"]

ANY_SERVICE = "any-service"
"""The service the default scope's tests run for (renamed if the SLA names one so)."""

_PER_STEP = 1_000_000
"""Requests per test step in ratio tests: ratios are exact to 1e-6."""
_POOL_SIZE = 20
_ROUTE = "/test"
_INSTANCE = "127.0.0.1:8101"
_SCENARIO, _TARGET = "mixed", "http://127.0.0.1:8101"
_LOADTEST_SIGNALS = (
    Signal.LOADTEST_PASSED,
    Signal.LOADTEST_AGE,
    Signal.LOADTEST_REGRESSED,
    Signal.LOADTEST_OVERDUE,
)
_INTERVAL_M = 10
"""The overdue test's schedule, in minutes; a second target runs hourly beside it."""
_HOURLY_TARGET = "http://127.0.0.1:8102"

Phases = Sequence[tuple[int, float]]
"""(minutes, level) pieces of a signal's timeline, from t=0."""


def _values(points: Sequence[float]) -> str:
    """promtool's expanding notation for one value per minute ('0+5x3 20+0x1')."""
    parts, i = [], 0
    while i < len(points):
        step = points[i + 1] - points[i] if i + 1 < len(points) else 0.0
        j = i + 1
        while j < len(points) and points[j] - points[j - 1] == step:
            j += 1
        sign = "-" if step < 0 else "+"
        parts.append(f"{plain(points[i])}{sign}{plain(abs(step))}x{j - i - 1}")
        i = j
    return " ".join(parts)


def _levels(phases: Phases, step: int) -> list[float]:
    """The level in force during each step (index i: the step ending at (i + 1) * step)."""
    return [level for minutes, level in phases for _ in range(minutes // step)]


def _counter(per_minute: Sequence[float]) -> list[float]:
    total, points = 0.0, [0.0]
    for increment in per_minute:
        total += increment
        points.append(total)
    return points


def _series(metric: str, labels: Mapping[str, str], points: Sequence[float]) -> dict[str, str]:
    matchers = [Matcher(k, v) for k, v in sorted(labels.items())]
    return {"series": selector(metric, matchers), "values": _values(points)}


@dataclass(frozen=True, slots=True)
class _Case:
    """One alert under one timeline: the input series and the checks."""

    name: str
    phases: Phases
    checks: Sequence[tuple[int, float | None]]
    """(minute, expected value when firing, or None: quiet)."""
    exprs: Sequence[tuple[int, str]] = ()
    """(minute, window) at which the alert's ratio over that window exceeds its threshold:
    why the alert stayed quiet or resolved (the other window)."""


class _Feed:
    """Input series for one alert's signal, for one service."""

    def __init__(self, alert: AlertSpec, service: str, step: int) -> None:
        self.alert = alert
        self.service = service
        self.step = step

    def labels(self) -> dict[str, str]:
        """The labels of the alert's result (besides the rule's own)."""
        signal = self.alert.signal
        if signal is Signal.TARGET_UP:
            return {
                names.LABEL_JOB: SERVICES_JOB,
                names.LABEL_INSTANCE: _INSTANCE,
                names.LABEL_SERVICE: self.service,
            }
        if signal in _LOADTEST_SIGNALS:
            return {names.LABEL_SCENARIO: _SCENARIO, names.LABEL_TARGET: _TARGET}
        return {names.LABEL_SERVICE: self.service}

    def subject(self) -> str:
        """What the alert is about, for the test's name."""
        if self.alert.signal in _LOADTEST_SIGNALS:
            return f"{_SCENARIO} against {_TARGET}"
        return self.service

    def observed(self, level: float) -> float:
        """The value Prometheus computes from the series fed for `level`."""
        signal = self.alert.signal
        if signal in (Signal.ERRORS, Signal.LATENCY, Signal.SLOW):
            return round(level * _PER_STEP) / _PER_STEP
        if signal is Signal.POOL:
            return round(level * _POOL_SIZE) / _POOL_SIZE
        if signal is Signal.THROUGHPUT:
            return round(level * 60 * self.step) / (60 * self.step)
        return level

    def series(self, phases: Phases) -> list[dict[str, str]]:
        levels = _levels(phases, self.step)
        signal, service = self.alert.signal, self.service
        route = {names.LABEL_SERVICE: service, names.LABEL_ROUTE: _ROUTE, names.LABEL_METHOD: "GET"}
        if signal is Signal.ERRORS:
            bad = [round(level * _PER_STEP) for level in levels]
            no_response = [b // 2 for b in bad]
            client = [min(_PER_STEP // 20, _PER_STEP - b) for b in bad]
            codes = {
                "200": [_PER_STEP - b - c for b, c in zip(bad, client, strict=True)],
                "404": client,
                "500": [b - n for b, n in zip(bad, no_response, strict=True)],
                str(names.CLIENT_CLOSED_CODE): no_response,
            }
            metric = f"{names.HTTP_REQUESTS}_total"
            return [
                _series(metric, {**route, names.LABEL_CODE: code}, _counter(counts))
                for code, counts in codes.items()
            ]
        if signal in (Signal.LATENCY, Signal.SLOW):
            scope = self.alert.scope
            assert scope is not None
            o = scope.objectives
            threshold = o.latency.threshold_s if o.latency is not None else None
            if signal is Signal.SLOW:
                threshold = o.slow_request_s
            overrides = scope.route_latency_s if signal is Signal.LATENCY else scope.route_slow_s
            assert threshold is not None, "an alert is generated only for a stated objective"
            bound = threshold
            good = _counter([_PER_STEP - round(level * _PER_STEP) for level in levels])
            everything = _counter([_PER_STEP] * len(levels))
            bucket = f"{names.HTTP_REQUEST_DURATION}_bucket"
            count = f"{names.HTTP_REQUEST_DURATION}_count"
            found = [
                _series(bucket, {**route, names.LABEL_LE: promql.le_value(bound)}, good),
                _series(count, route, everything),
            ]
            # An overridden route's requests all lie between the scope's bound and the
            # route's own: over the one and, at the same share as /test, under the other.
            for other, own_bound in overrides:
                labels = {**route, names.LABEL_ROUTE: other}
                nothing = [0.0] * len(everything)
                found += [
                    _series(bucket, {**labels, names.LABEL_LE: promql.le_value(own_bound)}, good),
                    _series(bucket, {**labels, names.LABEL_LE: promql.le_value(bound)}, nothing),
                    _series(count, labels, everything),
                ]
            return found
        if signal is Signal.THROUGHPUT:
            per_step = [round(level * 60 * self.step) for level in levels]
            code = {**route, names.LABEL_CODE: "200"}
            return [_series(f"{names.HTTP_REQUESTS}_total", code, _counter(per_step))]
        if signal is Signal.POOL:
            in_use = [round(level * _POOL_SIZE) for level in levels]
            in_use = [in_use[0], *in_use]
            svc = {names.LABEL_SERVICE: service}
            return [
                _series(
                    names.DB_POOL_CONNECTIONS,
                    {**svc, names.LABEL_STATE: names.POOL_STATE_IN_USE},
                    in_use,
                ),
                _series(
                    names.DB_POOL_CONNECTIONS,
                    {**svc, names.LABEL_STATE: "idle"},
                    [_POOL_SIZE - n for n in in_use],
                ),
                _series(names.DB_POOL_SIZE, svc, [_POOL_SIZE] * len(in_use)),
            ]
        if signal is Signal.LOADTEST_OVERDUE:
            # The level is the last run's finish time; two schedules share those runs.
            finished = [levels[0], *levels]
            hourly = {**self.labels(), names.LABEL_TARGET: _HOURLY_TARGET}
            return [
                _series(names.LOADTEST_FINISHED, self.labels(), finished),
                _series(
                    names.LOADTEST_INTERVAL, self.labels(), [_INTERVAL_M * 60.0] * len(finished)
                ),
                _series(names.LOADTEST_FINISHED, hourly, finished),
                _series(names.LOADTEST_INTERVAL, hourly, [3600.0] * len(finished)),
            ]
        metric = {
            Signal.TARGET_UP: names.SCRAPE_UP,
            Signal.LOADTEST_PASSED: names.LOADTEST_PASSED,
            Signal.LOADTEST_AGE: names.LOADTEST_LAST_SUCCESS,
            Signal.LOADTEST_REGRESSED: names.LOADTEST_REGRESSED,
        }[signal]
        return [_series(metric, self.labels(), [levels[0], *levels])]


def _minutes(window: str) -> int:
    return round(parse_duration(window) / 60)


def _level_text(alert: AlertSpec, level: float) -> str:
    signal = alert.signal
    if signal is Signal.THROUGHPUT:
        return f"{level:g} req/s"
    if signal is Signal.TARGET_UP:
        return f"up = {level:g}"
    return humanize_percentage(level)


def step_of(alert: AlertSpec) -> int:
    """The test's sample and evaluation step in minutes: the largest of 30, 10, 5, 1 that
    divides the alert's `for` and windows and leaves >= 6 samples in its short window."""
    spans = [_minutes(w) for w in alert.windows]
    if alert.signal is Signal.LOADTEST_AGE:
        spans.append(math.ceil(alert.threshold / 60))
    for_m = round(alert.for_s / 60)
    if not spans:
        return 1
    for step in (30, 10, 5):
        if all(span % step == 0 and span >= 6 * step for span in spans) and for_m % step == 0:
            return step
    return 1


def _cases(alert: AlertSpec, feed: _Feed, step: int) -> list[_Case]:
    """The timelines that exercise one alert (see the module docstring); every time is a
    multiple of `step` minutes."""
    thr, for_m = alert.threshold, round(alert.for_s / 60)
    signal = alert.signal
    if signal is Signal.LOADTEST_PASSED:
        return [
            _Case(
                "fires when a run fails, resolves when the next one passes",
                [(5, 1.0), (10, 0.0), (5, 1.0)],
                [(4, None), (6, 0.0), (14, 0.0), (16, None)],
            )
        ]
    if signal is Signal.LOADTEST_REGRESSED:
        return [
            _Case(
                "fires when a run regressed, resolves when the next one does not",
                [(5, 0.0), (10, 1.0), (5, 0.0)],
                [(4, None), (6, 1.0), (14, 1.0), (16, None)],
            )
        ]
    if signal is Signal.LOADTEST_OVERDUE:
        interval, last = _INTERVAL_M, 2 * _INTERVAL_M
        overdue_m = last + round(thr * interval)
        resume = overdue_m + interval
        return [
            _Case(
                f"fires once no run finished for more than {plain(thr)} of its "
                f"{interval}m intervals (an hourly schedule stays quiet), resolves after "
                "the next run",
                [
                    (interval, 0.0),
                    (interval, interval * 60.0),
                    (resume - last, last * 60.0),
                    (interval, resume * 60.0),
                ],
                [
                    (last, None),
                    (overdue_m, None),
                    (overdue_m + 5, (overdue_m + 5 - last) * 60.0),
                    (resume, (resume - last) * 60.0),
                    (resume + 1, None),
                ],
            )
        ]
    if signal is Signal.LOADTEST_AGE:
        age_m = math.ceil(thr / 60 / step) * step
        quiet_at = age_m if age_m * 60 <= thr else age_m - step
        resume = age_m + 2 * step
        # The level is the last passing run's timestamp: 0 until the runs resume.
        return [
            _Case(
                f"fires once no run has passed for more than {humanize_duration(thr)}, "
                "resolves after the next passing run",
                [(resume, 0.0), (2 * step, float(resume * 60))],
                [(quiet_at, None), (age_m + step, (age_m + step) * 60.0), (resume + step, None)],
            )
        ]
    below = signal is Signal.THROUGHPUT
    if signal is Signal.TARGET_UP:
        breach, over, inside, spike, base = 0.0, 0.0, 1.0, 0.0, 1.0
    elif below:
        breach, over, inside = 0.5 * thr, 0.9 * thr, 1.1 * thr
        spike, base = 0.0, 2.0 * thr
    else:
        breach, inside = min(1.5 * thr, (1.0 + thr) / 2), 0.9 * thr
        over, spike, base = min(1.1 * thr, (1.0 + thr) / 2), min(1.0, 2.0 * thr), 0.0
    limit = "" if signal is Signal.TARGET_UP else f" (threshold {_level_text(alert, thr)})"
    margin = max(2 * step, 5)
    long_m = _minutes(alert.windows[0]) if alert.windows else 0
    short_m = _minutes(alert.windows[-1]) if alert.windows else 0
    two_windows = len(alert.windows) == 2
    recover_at = for_m + 2 * margin
    if two_windows:
        recover_at = max(recover_at, 3 * (short_m + margin))
    resolved_at = recover_at + short_m + margin
    exprs: list[tuple[int, str]] = []
    if two_windows and breach * recover_at / min(resolved_at, long_m) > 1.05 * thr:
        exprs.append((resolved_at, alert.windows[0]))
    fires = _Case(
        f"fires at {_level_text(alert, breach)}{limit} after {format_duration(alert.for_s)}"
        f" and resolves {short_m + margin}m after recovery"
        + (", its long window still over" if exprs else ""),
        [(recover_at, breach), (resolved_at - recover_at + step, base)],
        [(for_m - step, None), (for_m + margin, feed.observed(breach)), (resolved_at, None)],
        exprs,
    )
    quiet = _Case(
        f"stays quiet at {_level_text(alert, inside)}{limit}",
        [(for_m + margin + step, inside)],
        [(for_m + margin, None)],
    )
    just_over = _Case(
        f"fires at {_level_text(alert, over)}, just beyond its threshold",
        [(for_m + margin + step, over)],
        [(for_m + margin, feed.observed(over))],
    )
    spike_m, before = (short_m, 3 * short_m) if two_windows else (step, 5 * step)
    spiked = before + spike_m
    brief = _Case(
        f"stays quiet on a {spike_m}m spike to {_level_text(alert, spike)}"
        + (f" that fills its {alert.windows[1]} window" if two_windows else ""),
        [(before, base), (spike_m, spike), (for_m + 2 * step, base)],
        [(spiked, None), (spiked + for_m + step, None)],
        [(spiked, alert.windows[1])] if two_windows else [],
    )
    cases = [fires, quiet, brief]
    return cases if over == breach else [*cases, just_over]


def _ratio_rule(alert: AlertSpec, window: str) -> str:
    rule = names.rule_error_ratio if alert.signal is Signal.ERRORS else names.rule_latency_ratio
    return rule(window)


def _group(alert: AlertSpec, feed: _Feed, case: _Case, runbook: str) -> dict[str, object]:
    labels = {**feed.labels(), "severity": alert.severity.value, **alert.labels}
    annotations = alert.rule(runbook)["annotations"]
    assert isinstance(annotations, dict)
    tests: list[dict[str, object]] = []
    for minute, value in case.checks:
        expected: list[dict[str, object]] = []
        if value is not None:
            rendered = {key: render(text, labels, value) for key, text in annotations.items()}
            expected.append({"exp_labels": labels, "exp_annotations": rendered})
        tests.append({"eval_time": f"{minute}m", "alertname": alert.name, "exp_alerts": expected})
    group: dict[str, object] = {
        "name": f"{alert.name} for {feed.subject()} {case.name}",
        "interval": f"{feed.step}m",
        "input_series": feed.series(case.phases),
        "alert_rule_test": tests,
    }
    if case.exprs:
        service = [Matcher(names.LABEL_SERVICE, feed.service)]
        result = list(service)
        if alert.signal is not Signal.ERRORS:
            result.append(Matcher(names.LABEL_SLO_SCOPE, alert.labels[names.LABEL_SLO_SCOPE]))
        group["promql_expr_test"] = [
            {
                "eval_time": f"{minute}m",
                "expr": f"{selector(_ratio_rule(alert, window), service)}"
                f" > bool {promql.number(alert.threshold)}",
                "exp_samples": [{"labels": selector("", result), "value": 1}],
            }
            for minute, window in case.exprs
        ]
    return group


def test_files(
    alerts: Sequence[AlertSpec],
    rule_files: Sequence[str],
    group_names: Sequence[str],
    named_services: Sequence[str],
    runbook: str,
) -> dict[int, dict[str, object]]:
    """promtool test files covering every alert in `alerts` (rules written with
    `runbook`), one per evaluation step in minutes (promtool sets it per file).

    `group_names` is the rule groups' order: promtool otherwise evaluates them in random
    order, and an alert evaluated before the recording rule it reads sees nothing when
    the step exceeds the 5-minute lookback."""
    any_service = ANY_SERVICE
    while any_service in named_services:
        any_service += "-x"
    by_step: dict[int, list[dict[str, object]]] = {}
    for alert in alerts:
        service = any_service
        if alert.scope is not None and alert.scope.service is not None:
            service = alert.scope.service
        step = step_of(alert)
        feed = _Feed(alert, service, step)
        groups = by_step.setdefault(step, [])
        groups.extend(_group(alert, feed, case, runbook) for case in _cases(alert, feed, step))
    return {
        step: {
            "rule_files": list(rule_files),
            "evaluation_interval": f"{step}m",
            "group_eval_order": list(group_names),
            "tests": groups,
        }
        for step, groups in sorted(by_step.items())
    }
