"""Load tests: what the load-test runner exports per scenario and target (grafanalib).

Client-side figures (requests per second, users, latency percentile, error ratio), each SLA
threshold's verdict, and the result history of recorded runs. `build(sla)` is what
`loadwatch dashboards` renders; `dashboard` (the built-in SLA) serves grafanalib's CLI.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, GridPos, Template

from collector import conventions as names
from collector import promql
from collector.promql import Matcher
from collector.sla import SLA, default_sla
from dashboards.panels import DATASOURCE, Query, loadwatch_dashboard, stat, timeseries

UID = "loadwatch-loadtest"
_SCENARIO = Matcher(names.LABEL_SCENARIO, "$scenario")


def _scenario_variable() -> Template:
    return Template(
        name="scenario",
        label="Scenario",
        dataSource=DATASOURCE,
        query=f"label_values({names.LOADTEST_REQUESTS_PER_SECOND}, {names.LABEL_SCENARIO})",
        multi=False,
        includeAll=False,
        refresh=2,
        sort=1,
    )


def _quantile(q: float) -> Matcher:
    return Matcher(names.LABEL_QUANTILE, promql.number(q))


def _panels(sla: SLA) -> list[object]:
    o = sla.objectives
    percentile = o.display_percentile
    by_target = f"{{{{{names.LABEL_TARGET}}}}}"
    return [
        timeseries(
            "Client requests per second",
            [
                Query(
                    promql.sum_of(
                        names.LOADTEST_REQUESTS_PER_SECOND,
                        by=(names.LABEL_TARGET,),
                        matchers=[_SCENARIO],
                    ),
                    by_target,
                )
            ],
            "reqps",
            GridPos(h=8, w=8, x=0, y=0),
            limit=o.throughput_rps,
            floor=True,
        ),
        timeseries(
            "Simulated users",
            [
                Query(
                    promql.sum_of(
                        names.LOADTEST_USERS, by=(names.LABEL_TARGET,), matchers=[_SCENARIO]
                    ),
                    by_target,
                )
            ],
            "short",
            GridPos(h=8, w=8, x=8, y=0),
            limit=float(o.concurrent_users) if o.concurrent_users else None,
            floor=True,
        ),
        timeseries(
            f"Client latency p{percentile * 100:g}",
            [
                Query(
                    promql.sum_of(
                        names.LOADTEST_LATENCY,
                        by=(names.LABEL_TARGET,),
                        matchers=[
                            _SCENARIO,
                            Matcher(names.LABEL_QUANTILE, promql.number(percentile)),
                        ],
                    ),
                    by_target,
                )
            ],
            "s",
            GridPos(h=8, w=8, x=16, y=0),
            limit=o.latency.threshold_s if o.latency else None,
        ),
        timeseries(
            "Client error ratio",
            [
                Query(
                    promql.sum_of(
                        names.LOADTEST_ERROR_RATIO, by=(names.LABEL_TARGET,), matchers=[_SCENARIO]
                    ),
                    by_target,
                )
            ],
            "percentunit",
            GridPos(h=8, w=8, x=0, y=8),
            limit=o.error_rate,
        ),
        timeseries(
            "Threshold verdicts (1 pass, 0 fail)",
            [
                Query(
                    promql.sum_of(
                        names.LOADTEST_THRESHOLD_OK,
                        by=(names.LABEL_THRESHOLD,),
                        matchers=[_SCENARIO],
                    ),
                    f"{{{{{names.LABEL_THRESHOLD}}}}}",
                )
            ],
            "short",
            GridPos(h=8, w=8, x=8, y=8),
        ),
        stat(
            "Last run passed",
            Query(promql.sum_of(names.LOADTEST_PASSED, matchers=[_SCENARIO])),
            "short",
            GridPos(h=4, w=8, x=16, y=8),
            limit=1.0,
            floor=True,
        ),
        stat(
            "Time since the last passing run",
            Query(f"time() - {promql.sum_of(names.LOADTEST_LAST_SUCCESS, matchers=[_SCENARIO])}"),
            "s",
            GridPos(h=4, w=8, x=16, y=12),
        ),
    ]


def build(sla: SLA) -> Dashboard:
    """The load-test dashboard; `$scenario` picks the scenario."""
    return loadwatch_dashboard(
        "load tests", UID, "loadtest", "now-24h", [_scenario_variable()], _panels(sla)
    )


dashboard = build(default_sla())
