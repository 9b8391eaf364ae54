"""Alerting rules from the SLA: burn-rate pages and tickets, plus the operational alerts.

Each alert is an `AlertSpec`: the rule Prometheus evaluates and what the promtool test
generator needs to exercise it (the signal, the threshold, the windows). Every alert has
labels `severity` (and `service` from its expression where one exists) and annotations
`summary`, `description` (with the live `$value`) and `runbook_url`. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from alert_rules.slo import BURN_ALERTS, BurnAlert, Scope, Severity, Slo, budget_of, rounded, scopes
from collector import conventions as names
from collector.promql import Matcher, number, selector
from collector.sla import SLA
from collector.units import format_duration

__all__ = [
    "DB_POOL_SATURATION",
    "LOADTEST_MAX_AGE_S",
    "LOADTEST_OVERDUE_INTERVALS",
    "AlertSpec",
    "Signal",
    "all_alerts",
    "burn_alert_name",
    "by_name",
    "operational_alerts",
    "scope_alerts",
]

DB_POOL_SATURATION = 0.9
"""Share of the pool's connections in use above which requests start queueing for one."""
_DEFAULT_SLO_WINDOW_S = 30 * 86_400.0
"""The SLO window of a latency objective when the SLA gives no availability window."""
LOADTEST_MAX_AGE_S = 86_400.0
"""Default: a load test is missing when none has passed for this many seconds."""
LOADTEST_OVERDUE_INTERVALS = 2.0
"""A scheduled load test is overdue when none has finished for this many of its intervals."""


class Signal(StrEnum):
    """What an alert watches, so tests know which series to feed it."""

    ERRORS = "errors"
    LATENCY = "latency"
    SLOW = "slow"
    THROUGHPUT = "throughput"
    TARGET_UP = "target_up"
    POOL = "pool"
    LOADTEST_PASSED = "loadtest_passed"
    LOADTEST_AGE = "loadtest_age"
    LOADTEST_REGRESSED = "loadtest_regressed"
    LOADTEST_OVERDUE = "loadtest_overdue"


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """One alerting rule and how to test it.

    `for_s` is the alert's `for` in seconds (0: fires at once); `threshold` is compared
    with the expression's value (a ratio, req/s or seconds);
    `windows` are the rate windows the expression reads, longest first (none for gauges).
    `summary` and `description` are Prometheus templates.
    """

    name: str
    expr: str
    for_s: float
    severity: Severity
    summary: str
    description: str
    signal: Signal
    threshold: float
    windows: tuple[str, ...] = ()
    scope: Scope | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """The heading anchor of the alert's section in docs/runbooks.md."""
        return self.name.lower()

    def rule(self, runbook: str) -> dict[str, object]:
        """The Prometheus rule; `runbook` is the runbook document's URL or path."""
        rule: dict[str, object] = {
            "alert": self.name,
            "expr": self.expr,
            "labels": {"severity": self.severity.value, **self.labels},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{runbook}#{self.anchor}",
            },
        }
        if self.for_s > 0:
            rule["for"] = format_duration(self.for_s)
        return rule


_SERVICE = "{{ $labels.service }}"
_PERCENT = "{{ $value | humanizePercentage }}"


def _pct(fraction: float) -> str:
    return f"{rounded(fraction * 100):g}%"


def _above(rule: str, scope: Scope, threshold: float) -> str:
    return f"{selector(rule, scope.matchers)} > {number(threshold)}"


def scope_alerts(scope: Scope) -> list[AlertSpec]:
    """The SLO alerts of one scope; an objective the SLA leaves out gives none.

    Each carries the label `slo_scope`, so that the rules of two scopes differ."""
    return [
        replace(a, labels={**a.labels, names.LABEL_SLO_SCOPE: scope.name})
        for a in _scope_alerts(scope)
    ]


def _scope_alerts(scope: Scope) -> list[AlertSpec]:
    found: list[AlertSpec] = []
    for slo in Slo:
        found.extend(_burn_alerts(scope, slo))
    o = scope.objectives
    error_rate = getattr(o, "error_rate", None)
    if error_rate is not None:
        found.append(
            AlertSpec(
                "HighErrorRatio",
                _above(names.rule_error_ratio("5m"), scope, error_rate),
                300.0,
                Severity.TICKET,
                f"{_SERVICE}: more than {_pct(error_rate)} of requests fail",
                f"{_PERCENT} of {_SERVICE}'s requests failed over the last 5m (5xx or no "
                f"response); the SLA allows {_pct(error_rate)}.",
                Signal.ERRORS,
                error_rate,
                ("5m",),
                scope,
            )
        )
    slow_s = getattr(o, "slow_request_s", None)
    if slow_s is not None and error_rate is not None:
        found.append(
            AlertSpec(
                "SlowRequests",
                _above(names.rule_slow_ratio("5m"), scope, error_rate),
                300.0,
                Severity.TICKET,
                f"{_SERVICE}: more than {_pct(error_rate)} of requests are slower than "
                f"{format_duration(slow_s)}",
                f"{_PERCENT} of {_SERVICE}'s requests took longer than "
                f"{format_duration(slow_s)} over the last 5m; a request that slow counts "
                f"against the same {_pct(error_rate)} as an error.",
                Signal.SLOW,
                error_rate,
                ("5m",),
                scope,
            )
        )
    floor = getattr(o, "throughput_rps", None)
    if floor is not None:
        found.append(
            AlertSpec(
                "ThroughputBelowFloor",
                f"{selector(names.rule_request_rate('5m'), scope.matchers)} < {number(floor)}",
                600.0,
                Severity.TICKET,
                f"{_SERVICE}: serving fewer than {floor:g} req/s",
                f"{_SERVICE} served {{{{ $value | humanize }}}} req/s over the last 5m; the "
                f"SLA says it sustains at least {floor:g} req/s.",
                Signal.THROUGHPUT,
                floor,
                ("5m",),
                scope,
            )
        )
    return found


def burn_alert_name(slo: Slo, alert: BurnAlert) -> str:
    """'AvailabilityBudgetBurn1h': one name per SLO and row of the burn-rate table."""
    return f"{slo.value.capitalize()}BudgetBurn{alert.long}"


def _burn_alerts(scope: Scope, slo: Slo) -> list[AlertSpec]:
    budget = budget_of(scope.objectives, slo)
    if budget is None:
        return []
    o = scope.objectives
    availability, latency = o.availability, o.latency
    if slo is Slo.AVAILABILITY:
        if availability is None:
            return []
        rule, signal, bad = names.rule_error_ratio, Signal.ERRORS, "failed"
        objective = (
            f"{_pct(availability.target)} available over {format_duration(availability.window_s)}"
        )
    else:
        if latency is None:
            return []
        rule, signal = names.rule_latency_ratio, Signal.LATENCY
        bad = f"took longer than {format_duration(latency.threshold_s)}"
        objective = f"{latency.label} < {format_duration(latency.threshold_s)}"
    window_s = availability.window_s if availability is not None else _DEFAULT_SLO_WINDOW_S
    found = []
    for alert in BURN_ALERTS:
        threshold = rounded(alert.factor * budget)
        if threshold >= 1.0:
            continue
        found.append(
            AlertSpec(
                burn_alert_name(slo, alert),
                f"{_above(rule(alert.long), scope, threshold)}"
                f" and {_above(rule(alert.short), scope, threshold)}",
                alert.for_s,
                alert.severity,
                f"{_SERVICE}: {slo.value} error budget burning {alert.factor:g}x too fast",
                f"{_PERCENT} of {_SERVICE}'s requests {bad} over the last {alert.long} "
                f"(and over {alert.short}); {objective} allows {_pct(budget)}. At "
                f"{alert.factor:g}x that rate ({_pct(threshold)}) "
                f"{_pct(alert.budget_spent(window_s))} of the {format_duration(window_s)} "
                f"budget goes in {alert.long}.",
                signal,
                threshold,
                (alert.long, alert.short),
                scope,
                {names.LABEL_SLO: slo.value},
            )
        )
    return found


def operational_alerts(loadtest_max_age_s: float = LOADTEST_MAX_AGE_S) -> list[AlertSpec]:
    """Alerts that need no SLA threshold: targets, database pools and load-test results."""
    in_use = selector(
        names.DB_POOL_CONNECTIONS, (Matcher(names.LABEL_STATE, names.POOL_STATE_IN_USE),)
    )
    by = f"sum by ({names.LABEL_SERVICE})"
    age = format_duration(loadtest_max_age_s)
    scenario = f"{{{{ $labels.{names.LABEL_SCENARIO} }}}}"
    target = f"{{{{ $labels.{names.LABEL_TARGET} }}}}"
    return [
        AlertSpec(
            "TargetDown",
            f"{selector(names.SCRAPE_UP)} == 0",
            120.0,
            Severity.PAGE,
            f"{{{{ $labels.{names.LABEL_JOB} }}}} target "
            f"{{{{ $labels.{names.LABEL_INSTANCE} }}}} is down",
            f"Prometheus could not scrape {{{{ $labels.{names.LABEL_INSTANCE} }}}} "
            f"(job {{{{ $labels.{names.LABEL_JOB} }}}}) for 2m: up = {{{{ $value }}}}. Its "
            "SLO alerts see no data while it is down.",
            Signal.TARGET_UP,
            0.0,
        ),
        AlertSpec(
            "DBPoolSaturated",
            f"{by} ({in_use}) / {by} ({selector(names.DB_POOL_SIZE)})"
            f" > {number(DB_POOL_SATURATION)}",
            300.0,
            Severity.TICKET,
            f"{_SERVICE}: database pool over {_pct(DB_POOL_SATURATION)} in use",
            f"{_PERCENT} of {_SERVICE}'s database connections have been in use for 5m; "
            "requests wait for a connection next.",
            Signal.POOL,
            DB_POOL_SATURATION,
        ),
        AlertSpec(
            "LoadTestFailed",
            f"{selector(names.LOADTEST_PASSED)} == 0",
            0.0,
            Severity.TICKET,
            f"load test {scenario} against {target} failed its SLA gate",
            f"The last run of {scenario} against {target} missed an SLA threshold "
            "(passed = {{ $value }}); its report says which.",
            Signal.LOADTEST_PASSED,
            0.0,
        ),
        AlertSpec(
            "LoadTestMissing",
            f"time() - {selector(names.LOADTEST_LAST_SUCCESS)} > {number(loadtest_max_age_s)}",
            0.0,
            Severity.TICKET,
            f"no passing load test of {scenario} against {target} for {age}",
            f"The last passing run of {scenario} against {target} finished "
            "{{ $value | humanizeDuration }} ago; one is expected at least every "
            f"{age}.",
            Signal.LOADTEST_AGE,
            loadtest_max_age_s,
        ),
        AlertSpec(
            "LoadTestRegressed",
            f"{selector(names.LOADTEST_REGRESSED)} == 1",
            0.0,
            Severity.TICKET,
            f"load test {scenario} against {target} regressed against its baseline",
            f"The last recorded run of {scenario} against {target} is slower, fails more "
            "or serves fewer requests per second than its recent passing runs, beyond their "
            "noise (regressed = {{ $value }}); `loadwatch history` shows each figure.",
            Signal.LOADTEST_REGRESSED,
            1.0,
        ),
        AlertSpec(
            "LoadTestOverdue",
            f"time() - {selector(names.LOADTEST_FINISHED)}"
            f" > {number(LOADTEST_OVERDUE_INTERVALS)} * {selector(names.LOADTEST_INTERVAL)}",
            0.0,
            Severity.TICKET,
            f"no run of the scheduled load test {scenario} against {target} for two intervals",
            f"The last run of {scenario} against {target} finished "
            "{{ $value | humanizeDuration }} ago, more than twice its schedule's interval "
            f"({names.LOADTEST_INTERVAL}): the scheduler stopped, runs abort, or they no "
            "longer reach the Pushgateway.",
            Signal.LOADTEST_OVERDUE,
            LOADTEST_OVERDUE_INTERVALS,
        ),
    ]


def all_alerts(sla: SLA, loadtest_max_age_s: float = LOADTEST_MAX_AGE_S) -> list[AlertSpec]:
    """Every alert: each scope's SLO alerts, then the operational ones."""
    found = [alert for scope in scopes(sla) for alert in scope_alerts(scope)]
    return found + operational_alerts(loadtest_max_age_s)


def by_name(alerts: list[AlertSpec]) -> Mapping[str, list[AlertSpec]]:
    """Alerts grouped by name (one name has a rule per scope)."""
    grouped: dict[str, list[AlertSpec]] = {}
    for alert in alerts:
        grouped.setdefault(alert.name, []).append(alert)
    return grouped
