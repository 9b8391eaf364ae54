"""A finished run's result gauges, pushed to a Prometheus Pushgateway (for batch jobs).

    push_result("http://127.0.0.1:9091", result, report)    # PushError says why it failed

The group is job="loadwatch_loadtest" with `scenario` and `target` as grouping labels, so
each scenario and target keeps its own last result. The push is a POST (pushadd): metrics
absent from this push keep their pushed value, which is how
`loadwatch_loadtest_last_success_timestamp_seconds` survives a failing run. Names come
from `collector.conventions`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from collector import conventions as names
from loadtests.regression import Regression, RegressionReport
from loadtests.result import LoadTestResult

__all__ = ["JOB", "PushError", "build_registry", "push_result"]

JOB = "loadwatch_loadtest"
QUANTILES = (0.5, 0.95, 0.99)
PUSH_TIMEOUT_S = 10.0


class PushError(RuntimeError):
    """The Pushgateway refused the push or could not be reached (the message says which)."""


def build_registry(
    result: LoadTestResult,
    report: RegressionReport | None = None,
    *,
    finished_at_s: float,
    interval_s: float | None = None,
) -> CollectorRegistry:
    """The run's gauges in a fresh registry (no labels: the grouping key carries them).
    `finished_at_s` (Unix seconds) is the finish time, and the last-success time when the
    run passed; `interval_s`, the seconds between scheduled runs, is pushed when known."""
    if result.info is None or result.stats is None or result.verdict is None:
        raise ValueError("this run produced no figures; there is nothing to push")
    stats, verdict, info = result.stats, result.verdict, result.info
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, value: float) -> None:
        Gauge(name, doc, registry=registry).set(value)

    gauge(names.LOADTEST_PASSED, "1 when the run met every SLA threshold", float(verdict.passed))
    if verdict.passed:
        gauge(names.LOADTEST_LAST_SUCCESS, "when the last passing run finished", finished_at_s)
    gauge(names.LOADTEST_FINISHED, "when the last run finished", finished_at_s)
    gauge(names.LOADTEST_DURATION, "how long the run measured, seconds", stats.duration_s)
    if interval_s is not None:
        gauge(names.LOADTEST_INTERVAL, "seconds between two scheduled runs", interval_s)
    gauge(names.LOADTEST_REQUESTS_PER_SECOND, "requests per second achieved", stats.rps)
    users = (
        info.users if info.users is not None else max((w.users for w in stats.windows), default=0)
    )
    gauge(names.LOADTEST_USERS, "concurrent users", float(users))
    gauge(names.LOADTEST_ERROR_RATIO, "SLA errors / requests", stats.error_rate)
    latency = Gauge(
        names.LOADTEST_LATENCY,
        "latency quantiles of the run, seconds",
        [names.LABEL_QUANTILE],
        registry=registry,
    )
    if stats.sketch.count:
        for q in QUANTILES:
            latency.labels(f"{q:g}").set(stats.sketch.quantile(q))
    thresholds = Gauge(
        names.LOADTEST_THRESHOLD_OK,
        "1 when the SLA threshold held, 0 when it failed",
        [names.LABEL_THRESHOLD],
        registry=registry,
    )
    for threshold in verdict.thresholds:
        if threshold.ok is not None:
            thresholds.labels(threshold.name).set(float(threshold.ok))
    # Always pushed (push-and-add keeps a gauge until it is replaced): a run that could not be
    # compared must clear an earlier run's 1, or LoadTestRegressed would fire on stale data.
    regressed = float(report is not None and report.verdict is Regression.REGRESSED)
    gauge(
        names.LOADTEST_REGRESSED,
        "1 when the run regressed against its baseline, 0 when not or not compared",
        regressed,
    )
    return registry


def push_result(
    url: str,
    result: LoadTestResult,
    report: RegressionReport | None = None,
    *,
    finished_at_s: float | None = None,
    interval_s: float | None = None,
) -> None:
    """POST the run's gauges to the Pushgateway at `url`; blocks up to 10 s. `interval_s`:
    seconds between scheduled runs, which the LoadTestOverdue alert doubles."""
    info, stats = result.info, result.stats
    if info is None or stats is None:
        raise ValueError("this run produced no figures; there is nothing to push")
    if finished_at_s is None:
        finished_at_s = stats.started_at_s + stats.duration_s
    registry = build_registry(result, report, finished_at_s=finished_at_s, interval_s=interval_s)
    grouping = {names.LABEL_SCENARIO: info.scenario, names.LABEL_TARGET: info.host}
    try:
        pushadd_to_gateway(
            url, job=JOB, registry=registry, grouping_key=grouping, timeout=PUSH_TIMEOUT_S
        )
    except OSError as exc:
        raise PushError(f"--pushgateway: cannot push to {url}: {exc}") from exc
