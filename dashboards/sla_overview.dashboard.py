"""SLA overview: per service, each objective of sla.yaml against its line (grafanalib).

`build(sla)` is what `loadwatch dashboards` renders; `dashboard` (the built-in SLA) lets
grafanalib's own `generate-dashboard` read this file too.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, GridPos, Repeat, RowPanel

from collector import conventions as names
from collector import promql
from collector.promql import Matcher
from collector.sla import SLA, default_sla
from collector.units import format_duration
from dashboards.panels import (
    Query,
    loadwatch_dashboard,
    service_variable,
    stat,
    table,
    timeseries,
)

UID = "loadwatch-sla-overview"
_SERVICE = Matcher(names.LABEL_SERVICE, "$service")
_SHORT = "5m"


def _budget_window_s(sla: SLA) -> float:
    availability = sla.objectives.availability
    return availability.window_s if availability else 30 * 86400.0


def _panels(sla: SLA) -> list[object]:
    o = sla.objectives
    percentile = o.display_percentile
    label = f"p{percentile * 100:g}"
    quantile = promql.selector(
        names.rule_latency_quantile(_SHORT),
        [_SERVICE, Matcher(names.LABEL_QUANTILE, promql.number(percentile))],
    )
    panels: list[object] = [
        RowPanel(
            title="$service", gridPos=GridPos(h=1, w=24, x=0, y=0), repeat=Repeat("v", "service")
        ),
        timeseries(
            f"Latency {label}",
            [Query(quantile, label)],
            "s",
            GridPos(h=8, w=8, x=0, y=1),
            limit=o.latency.threshold_s if o.latency else None,
            description="Recorded over 5 minutes; the line is the SLA latency threshold.",
        ),
        timeseries(
            "Error ratio",
            [Query(promql.selector(names.rule_error_ratio(_SHORT), [_SERVICE]), "errors")],
            "percentunit",
            GridPos(h=8, w=8, x=8, y=1),
            limit=o.error_rate,
            description="5xx and requests that got no response, of all requests (5 minutes).",
        ),
        timeseries(
            "Requests per second",
            [Query(promql.selector(names.rule_request_rate(_SHORT), [_SERVICE]), "req/s")],
            "reqps",
            GridPos(h=8, w=8, x=16, y=1),
            limit=o.throughput_rps,
            floor=True,
            description="The line is the SLA throughput floor.",
        ),
    ]
    window_s = _budget_window_s(sla)
    window, label_window = promql.window_of(window_s), format_duration(window_s)
    if o.availability is not None:
        budget = promql.number(o.availability.error_budget)
        errors = promql.error_ratio(window, matchers=[_SERVICE])
        panels += [
            stat(
                f"Availability ({label_window})",
                Query(f"1 - ({errors})"),
                "percentunit",
                GridPos(h=6, w=6, x=0, y=9),
                limit=o.availability.target,
                floor=True,
            ),
            stat(
                f"Error budget left ({label_window})",
                Query(f"1 - ({errors}) / {budget}"),
                "percentunit",
                GridPos(h=6, w=6, x=6, y=9),
                limit=0.0,
                floor=True,
            ),
            timeseries(
                "Burn rate per window",
                [
                    Query(f"{promql.selector(names.rule_error_ratio(w), [_SERVICE])} / {budget}", w)
                    for w in names.BURN_WINDOWS
                ],
                "x",
                GridPos(h=6, w=6, x=12, y=9),
                limit=1.0,
                description="Error ratio over each burn window divided by the error budget; "
                "1 spends the budget exactly over the SLA window.",
            ),
        ]
    panels.append(
        table(
            "Firing alerts",
            Query(promql.firing_alerts([_SERVICE]), instant=True),
            GridPos(h=6, w=6, x=18, y=9),
            description="Alerts firing now for this service (Prometheus' ALERTS series); "
            "empty when none fires.",
            columns=("alertname", "severity", names.LABEL_SLO_SCOPE),
        )
    )
    return panels


def build(sla: SLA) -> Dashboard:
    """The SLA overview for `sla`'s default objectives, one row per selected service."""
    return loadwatch_dashboard(
        "SLA overview",
        UID,
        "sla",
        "now-6h",
        [service_variable(multi=True)],
        _panels(sla),
    )


dashboard = build(default_sla())
