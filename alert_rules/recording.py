"""Recording rules: the SLIs over every burn window, and the quantiles for display.

Request rate and error ratio need no threshold, so one rule per window covers every
service (`sum by (service)`). The latency SLI and the slow-request ratio depend on
thresholds, so each scope (see `alert_rules.slo.scopes`) records its own, judging each
overridden route by its own bound; both read the classic bucket at the threshold. The
display quantiles read the native histogram (`promql.quantile`, within about 1 % at any
latency; Prometheus needs `--enable-feature=native-histograms`). Pure; no I/O.
"""

from __future__ import annotations

from alert_rules.slo import Scope, scopes
from collector import conventions as names
from collector import promql
from collector.sla import SLA

__all__ = ["DISPLAY_QUANTILES", "QUANTILE_WINDOW", "recording_groups"]

DISPLAY_QUANTILES = (0.95, 0.99)
"""Recorded for dashboards besides every percentile the SLA names."""
QUANTILE_WINDOW = "5m"

Rule = dict[str, object]


def _record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def _common(sla: SLA) -> list[Rule]:
    rules = []
    for window in names.BURN_WINDOWS:
        rules.append(_record(names.rule_request_rate(window), promql.request_rate(window)))
        rules.append(_record(names.rule_error_ratio(window), promql.error_ratio(window)))
    percentiles = set(DISPLAY_QUANTILES)
    percentiles.update(o.latency.percentile for o in sla.all_objectives() if o.latency is not None)
    for q in sorted(percentiles):
        rules.append(
            _record(
                names.rule_latency_quantile(QUANTILE_WINDOW),
                promql.quantile(q, QUANTILE_WINDOW),
                {names.LABEL_QUANTILE: promql.number(q)},
            )
        )
    return rules


def _scoped(scope: Scope) -> list[Rule]:
    o = scope.objectives
    labels = {names.LABEL_SLO_SCOPE: scope.name}
    rules = []
    for window in names.BURN_WINDOWS:
        if o.latency is not None:
            expr = promql.over_threshold_ratio(
                window,
                o.latency.threshold_s,
                matchers=scope.matchers,
                route_thresholds=dict(scope.route_latency_s),
            )
            rules.append(_record(names.rule_latency_ratio(window), expr, labels))
        if o.slow_request_s is not None:
            expr = promql.over_threshold_ratio(
                window,
                o.slow_request_s,
                matchers=scope.matchers,
                route_thresholds=dict(scope.route_slow_s),
            )
            rules.append(_record(names.rule_slow_ratio(window), expr, labels))
    return rules


def recording_groups(sla: SLA) -> list[dict[str, object]]:
    """Prometheus rule groups: the common SLIs, then one group per scope."""
    groups: list[dict[str, object]] = [{"name": "loadwatch-sli", "rules": _common(sla)}]
    for scope in scopes(sla):
        rules = _scoped(scope)
        if rules:
            groups.append({"name": f"loadwatch-sli-{scope.name}", "rules": rules})
    return groups
