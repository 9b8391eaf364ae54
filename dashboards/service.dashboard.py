"""Service detail, templated by service: routes, durations, codes, database, cache, queues.

`build(sla)` is what `loadwatch dashboards` renders; `dashboard` (the built-in SLA) lets
grafanalib's own `generate-dashboard` read this file too.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, GridPos

from collector import conventions as names
from collector import promql
from collector.promql import Matcher
from collector.sla import SLA, default_sla
from dashboards.panels import Query, heatmap, loadwatch_dashboard, service_variable, timeseries

UID = "loadwatch-service"
_SERVICE = Matcher(names.LABEL_SERVICE, "$service")
_WINDOW = "5m"


def _route_quantiles(sla: SLA) -> list[Query]:
    return [
        Query(
            promql.quantile(q, _WINDOW, by=(names.LABEL_ROUTE,), matchers=[_SERVICE]),
            f"{{{{{names.LABEL_ROUTE}}}}} p{q * 100:g}",
        )
        for q in (0.5, sla.objectives.display_percentile, 0.99)
    ]


def _pool_in_use() -> str:
    in_use = Matcher(names.LABEL_STATE, names.POOL_STATE_IN_USE)
    connections = promql.sum_of(names.DB_POOL_CONNECTIONS, matchers=[_SERVICE, in_use])
    return f"{connections} / {promql.sum_of(names.DB_POOL_SIZE, matchers=[_SERVICE])}"


def _panels(sla: SLA) -> list[object]:
    o = sla.objectives
    route = f"{{{{{names.LABEL_ROUTE}}}}}"
    return [
        timeseries(
            "Latency per route (p50, SLA percentile, p99)",
            _route_quantiles(sla),
            "s",
            GridPos(h=9, w=12, x=0, y=0),
            limit=o.latency.threshold_s if o.latency else None,
        ),
        heatmap(
            "Request durations",
            Query(promql.bucket_rates(names.HTTP_REQUEST_DURATION, _WINDOW, [_SERVICE]), "{{le}}"),
            GridPos(h=9, w=12, x=12, y=0),
        ),
        timeseries(
            "Responses per second by status code",
            [
                Query(
                    promql.request_rate(_WINDOW, by=(names.LABEL_CODE,), matchers=[_SERVICE]),
                    f"{{{{{names.LABEL_CODE}}}}}",
                )
            ],
            "reqps",
            GridPos(h=8, w=8, x=0, y=9),
        ),
        timeseries(
            "Requests in flight",
            [Query(promql.sum_of(names.HTTP_REQUESTS_IN_FLIGHT, matchers=[_SERVICE]), "in flight")],
            "short",
            GridPos(h=8, w=8, x=8, y=9),
        ),
        timeseries(
            "Requests per second by route",
            [
                Query(
                    promql.request_rate(_WINDOW, by=(names.LABEL_ROUTE,), matchers=[_SERVICE]),
                    route,
                )
            ],
            "reqps",
            GridPos(h=8, w=8, x=16, y=9),
        ),
        timeseries(
            "Database statement p95 by statement",
            [
                Query(
                    promql.histogram_quantile(
                        names.DB_STATEMENT_DURATION,
                        0.95,
                        _WINDOW,
                        by=(names.LABEL_STATEMENT,),
                        matchers=[_SERVICE],
                    ),
                    f"{{{{{names.LABEL_STATEMENT}}}}}",
                )
            ],
            "s",
            GridPos(h=8, w=8, x=0, y=17),
        ),
        timeseries(
            "Database pool in use",
            [Query(_pool_in_use(), "in use")],
            "percentunit",
            GridPos(h=8, w=8, x=8, y=17),
        ),
        timeseries(
            "Cache hit ratio by layer",
            [Query(promql.cache_hit_ratio(_WINDOW, matchers=[_SERVICE]), "{{layer}}")],
            "percentunit",
            GridPos(h=8, w=8, x=16, y=17),
        ),
        timeseries(
            "Rate-limit decisions per second",
            [
                Query(
                    promql.sum_rate(
                        f"{names.RATE_LIMIT_DECISIONS}_total",
                        _WINDOW,
                        by=(names.LABEL_OUTCOME,),
                        matchers=[_SERVICE],
                    ),
                    "{{outcome}}",
                )
            ],
            "ops",
            GridPos(h=8, w=8, x=0, y=25),
        ),
        timeseries(
            "Job queue: due jobs",
            [Query(promql.sum_of(names.JOBS_DUE, matchers=[_SERVICE]), "due")],
            "short",
            GridPos(h=8, w=8, x=8, y=25),
        ),
        timeseries(
            "Inference batch size (p50, p95)",
            [
                Query(
                    promql.histogram_quantile(
                        names.AI_BATCH_SIZE, q, _WINDOW, by=(), matchers=[_SERVICE]
                    ),
                    f"p{q * 100:g}",
                )
                for q in (0.5, 0.95)
            ],
            "short",
            GridPos(h=8, w=8, x=16, y=25),
        ),
    ]


def build(sla: SLA) -> Dashboard:
    """The service dashboard; `$service` picks the service."""
    return loadwatch_dashboard(
        "service",
        UID,
        "service",
        "now-1h",
        [service_variable(multi=False)],
        _panels(sla),
    )


dashboard = build(default_sla())
