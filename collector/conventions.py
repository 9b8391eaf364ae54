"""The one vocabulary: metric, label and recording-rule names, and histogram bucket bounds.

Middleware, rules, dashboards and tests import these names; nobody retypes them.
Prometheus naming: base units (`_seconds`, `_bytes`), counters end in `_total`.
"""

from __future__ import annotations

from collector.sla import SLA

__all__ = [
    "AI_BATCH_SIZE",
    "AI_INFERENCE_DURATION",
    "AI_QUEUE_WAIT",
    "ALERTSTATE_FIRING",
    "BURN_WINDOWS",
    "CACHE_REQUESTS",
    "CACHE_RESULT_HIT",
    "CLIENT_CLOSED_CODE",
    "DB_POOL_CONNECTIONS",
    "DB_POOL_SIZE",
    "DB_STATEMENT_DURATION",
    "ERROR_CODE_REGEX",
    "HEALTHZ_PATH",
    "HTTP_EXCEPTIONS",
    "HTTP_REQUESTS",
    "HTTP_REQUESTS_IN_FLIGHT",
    "HTTP_REQUEST_DURATION",
    "HTTP_REQUEST_DURATION_NATIVE",
    "JOBS_DEFERRED",
    "JOBS_DUE",
    "JOBS_PROCESSED",
    "LABEL_ALERTSTATE",
    "LABEL_CODE",
    "LABEL_DESTINATION",
    "LABEL_INSTANCE",
    "LABEL_JOB",
    "LABEL_LAYER",
    "LABEL_LE",
    "LABEL_METHOD",
    "LABEL_OUTCOME",
    "LABEL_PLATFORM",
    "LABEL_QUANTILE",
    "LABEL_REASON",
    "LABEL_RESULT",
    "LABEL_ROUTE",
    "LABEL_SCENARIO",
    "LABEL_SERVICE",
    "LABEL_SLO",
    "LABEL_SLO_SCOPE",
    "LABEL_STATE",
    "LABEL_STATEMENT",
    "LABEL_TARGET",
    "LABEL_THRESHOLD",
    "LIVE_SNAPSHOT_AFTER",
    "LIVE_SNAPSHOT_PATH",
    "LOADTEST_ANNOTATION_TAG",
    "LOADTEST_DURATION",
    "LOADTEST_ERROR_RATIO",
    "LOADTEST_FINISHED",
    "LOADTEST_INTERVAL",
    "LOADTEST_LAST_SUCCESS",
    "LOADTEST_LATENCY",
    "LOADTEST_PASSED",
    "LOADTEST_REGRESSED",
    "LOADTEST_REQUESTS_PER_SECOND",
    "LOADTEST_THRESHOLD_OK",
    "LOADTEST_USERS",
    "METRICS_PATH",
    "NON_SLA_ROUTES",
    "OTHER_STATEMENT",
    "POOL_STATE_IN_USE",
    "PROMETHEUS_ALERTS",
    "RATE_LIMIT_DECISIONS",
    "READYZ_PATH",
    "RECEIVER_ALERTS_DUPLICATE",
    "RECEIVER_ALERTS_RECEIVED",
    "RECEIVER_ALERTS_STORED",
    "RECEIVER_FORWARD_ATTEMPTS",
    "RECEIVER_FORWARD_DEAD",
    "RECEIVER_FORWARD_FAILURES",
    "RECEIVER_NOTIFICATIONS_REJECTED",
    "RECEIVER_OUTBOX_DEPTH",
    "SCRAPE_UP",
    "SOCIAL_POSTS",
    "SOCIAL_POST_DURATION",
    "UNMATCHED_ROUTE",
    "duration_buckets",
    "rule_error_ratio",
    "rule_latency_quantile",
    "rule_latency_ratio",
    "rule_request_rate",
    "rule_slow_ratio",
]

# Metric family names. Counters are named without `_total`; exposition appends it.
HTTP_REQUEST_DURATION = "loadwatch_http_request_duration_seconds"
HTTP_REQUEST_DURATION_NATIVE = "loadwatch_http_request_duration_native_seconds"
"""The same durations as a native histogram (the latency sketch's buckets). A family of its
own: Prometheus 2.42 drops the classic buckets of a histogram that also has native ones, and
the SLI rules read the classic bucket at each threshold."""
HTTP_REQUESTS = "loadwatch_http_requests"
HTTP_EXCEPTIONS = "loadwatch_http_exceptions"
HTTP_REQUESTS_IN_FLIGHT = "loadwatch_http_requests_in_flight"
DB_STATEMENT_DURATION = "loadwatch_db_statement_duration_seconds"
DB_POOL_CONNECTIONS = "loadwatch_db_pool_connections"
DB_POOL_SIZE = "loadwatch_db_pool_size"
CACHE_REQUESTS = "loadwatch_cache_requests"

# Service-specific families of the reference services (prometheus_client, low rate).
AI_BATCH_SIZE = "loadwatch_ai_batch_size"
AI_QUEUE_WAIT = "loadwatch_ai_queue_wait_seconds"
AI_INFERENCE_DURATION = "loadwatch_ai_inference_duration_seconds"
RATE_LIMIT_DECISIONS = "loadwatch_rate_limit_decisions"
JOBS_DEFERRED = "loadwatch_jobs_deferred"
JOBS_PROCESSED = "loadwatch_jobs_processed"
JOBS_DUE = "loadwatch_jobs_due"
SOCIAL_POSTS = "loadwatch_social_posts"
SOCIAL_POST_DURATION = "loadwatch_social_post_duration_seconds"

# --- Alertmanager webhook receiver (receiver/) -------------------------------------------
RECEIVER_ALERTS_RECEIVED = "loadwatch_receiver_alerts_received"
"""Counter: alert events in notifications that passed auth and validation."""
RECEIVER_ALERTS_STORED = "loadwatch_receiver_alerts_stored"
"""Counter: alert events stored for the first time (committed)."""
RECEIVER_ALERTS_DUPLICATE = "loadwatch_receiver_alerts_duplicate"
"""Counter: alert events that were already stored (retries, repeats)."""
RECEIVER_NOTIFICATIONS_REJECTED = "loadwatch_receiver_notifications_rejected"
"""Counter: notifications refused, by `reason` (unauthorized, too_large, invalid, unavailable)."""
RECEIVER_FORWARD_ATTEMPTS = "loadwatch_receiver_forward_attempts"
"""Counter: delivery attempts to a forwarding destination, by `destination`."""
RECEIVER_FORWARD_FAILURES = "loadwatch_receiver_forward_failures"
"""Counter: failed delivery attempts, by `destination`."""
RECEIVER_FORWARD_DEAD = "loadwatch_receiver_forward_dead_letters"
"""Counter: deliveries given up on (dead letters), by `destination`."""
RECEIVER_OUTBOX_DEPTH = "loadwatch_receiver_outbox_depth"
"""Gauge: deliveries neither delivered nor dead yet."""
LABEL_DESTINATION = "destination"
LABEL_REASON = "reason"
# --- end of the receiver block -------------------------------------------------------------
# Load-test results, pushed to a Pushgateway by recorded and scheduled runs (gauges).
LOADTEST_PASSED = "loadwatch_loadtest_passed"
"""1 when the run met every SLA threshold, 0 when it failed; labels scenario and target."""
LOADTEST_LAST_SUCCESS = "loadwatch_loadtest_last_success_timestamp_seconds"
"""Unix time in seconds at which the last passing run finished; labels scenario and target."""
LOADTEST_REQUESTS_PER_SECOND = "loadwatch_loadtest_requests_per_second"
"""Requests per second the run achieved (all requests / run seconds)."""
LOADTEST_USERS = "loadwatch_loadtest_users"
"""Concurrent users: the closed model's --users, else the most seen in one window."""
LOADTEST_LATENCY = "loadwatch_loadtest_latency_seconds"
"""The run's latency quantiles in seconds (within the sketch's 1 %), by `quantile`."""
LOADTEST_ERROR_RATIO = "loadwatch_loadtest_error_ratio"
"""SLA errors (5xx, no answer) / all requests of the run."""
LOADTEST_THRESHOLD_OK = "loadwatch_loadtest_threshold_ok"
"""1 when the SLA threshold named by `threshold` held in the run, 0 when it failed."""
LOADTEST_REGRESSED = "loadwatch_loadtest_regressed"
"""Recorded runs: 1 when the run regressed against its baseline (docs/history.md), else 0."""
LOADTEST_DURATION = "loadwatch_loadtest_duration_seconds"
"""How long the run measured, in seconds."""
LOADTEST_FINISHED = "loadwatch_loadtest_finish_timestamp_seconds"
"""Unix time in seconds at which the last run (passing or not) finished."""
LOADTEST_ANNOTATION_TAG = "loadwatch"
"""The tag every run's Grafana annotation carries, and the dashboards' annotation query reads."""
LOADTEST_INTERVAL = "loadwatch_loadtest_interval_seconds"
"""Seconds between two scheduled runs (the schedule's, or --interval); runs without one
push none, and the 'no run for two intervals' alert then ignores them."""

# Written by Prometheus itself: one series per pending or firing alert.
PROMETHEUS_ALERTS = "ALERTS"
LABEL_ALERTSTATE = "alertstate"
ALERTSTATE_FIRING = "firing"

# Written by Prometheus itself for every scrape target: 1 when the scrape succeeded.
SCRAPE_UP = "up"

# Label names.
LABEL_SERVICE = "service"
LABEL_ROUTE = "route"
LABEL_METHOD = "method"
LABEL_CODE = "code"
LABEL_STATEMENT = "statement"
LABEL_STATE = "state"
LABEL_LAYER = "layer"
LABEL_RESULT = "result"
LABEL_PLATFORM = "platform"
LABEL_OUTCOME = "outcome"
LABEL_SCENARIO = "scenario"
LABEL_TARGET = "target"
LABEL_THRESHOLD = "threshold"
LABEL_QUANTILE = "quantile"
LABEL_LE = "le"
"""Histogram bucket upper bound, written as Go formats floats: `le="0.2"`, `le="1.0"`."""
LABEL_JOB = "job"
LABEL_SLO = "slo"
"""On burn-rate alerts: 'availability' or 'latency'."""
LABEL_SLO_SCOPE = "slo_scope"
"""On threshold-dependent rules: 'default' or the service whose own SLA objectives apply."""
LABEL_INSTANCE = "instance"

# Label values with a fixed meaning.
UNMATCHED_ROUTE = "<unmatched>"
"""Route label of every request no route matched (404/405): one value, however many paths."""
OTHER_STATEMENT = "<other>"
"""Statement label once the bounded set of statement names is full."""
POOL_STATE_IN_USE = "in_use"
CACHE_RESULT_HIT = "hit"
"""Result label of a cache lookup that found its entry."""
"""State label of the database pool connections checked out right now."""

# The one definition of an error: a 5xx, or a request that got no response (the client
# went away first, recorded as 499). A 4xx is the client's fault, never an SLA error.
CLIENT_CLOSED_CODE = 499
"""Status recorded when the client went away before the response was sent (nginx's 499)."""
ERROR_CODE_REGEX = "5..|499"
"""PromQL regex over the `code` label that matches exactly the codes `is_sla_error` accepts."""


# Paths served by the instrumentation itself (not counted as traffic).
METRICS_PATH = "/metrics"
LIVE_SNAPSHOT_PATH = "/live/snapshot"
# Health checks every service answers (runtime.http.add_health_routes).
HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"
NON_SLA_ROUTES = frozenset({UNMATCHED_ROUTE, HEALTHZ_PATH, READYZ_PATH})
"""Routes counted by status (`HTTP_REQUESTS`) but kept out of the duration histogram, the
latency sketch and the per-second figures that the SLA is judged on: answers the
instrumentation or the health checks give, not the service's work. A flood of 404s or of
probes cannot move the p95."""
LIVE_SNAPSHOT_AFTER = "after"
"""Query parameter of LIVE_SNAPSHOT_PATH: a `timestamp_s`; the answer is the oldest kept
snapshot after it (so a poller that fell behind reads every second in order)."""

# Multi-window burn-rate windows (Google SRE workbook), shortest first.
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

_BASE_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_AROUND_THRESHOLD = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)


def duration_buckets(sla: SLA) -> tuple[float, ...]:
    """Request-duration bucket upper bounds in seconds, +Inf excluded.

    A log-spaced base from 1 ms to 10 s, densified at 25 %-200 % of every SLA latency and
    slow-request threshold; each threshold is itself a bound, exactly (0.2 and 1.0 with
    the default SLA), so `le="0.2"` counts precisely the requests that met the objective.
    """
    bounds = set(_BASE_BUCKETS_S)
    for threshold in sla.latency_thresholds_s():
        bounds.update(float(f"{threshold * factor:.6g}") for factor in _AROUND_THRESHOLD)
        bounds.add(threshold)
    return tuple(sorted(bounds))


def rule_request_rate(window: str) -> str:
    """Recording rule: requests per second over `window`, by service."""
    return f"loadwatch:http_requests:rate{window}"


def rule_error_ratio(window: str) -> str:
    """Recording rule: fraction of requests that were errors (`is_sla_error`) over `window`."""
    return f"loadwatch:http_errors:ratio_rate{window}"


def rule_latency_ratio(window: str) -> str:
    """Recording rule: fraction of requests slower than the latency threshold over `window`."""
    return f"loadwatch:http_latency_over_threshold:ratio_rate{window}"


def rule_slow_ratio(window: str) -> str:
    """Recording rule: fraction of requests slower than the slow-request threshold."""
    return f"loadwatch:http_slow_requests:ratio_rate{window}"


def rule_latency_quantile(window: str) -> str:
    """Recording rule: a latency quantile in seconds over `window`, by service and `quantile`."""
    return f"loadwatch:http_request_duration_seconds:quantile_rate{window}"


# -- the one definition of an error (docs/errors.md) --------------------------------------

RATE_LIMITED_STATUS = 429
"""Too Many Requests: reported as rate-limited, never a latency sample or an SLA error."""


def is_sla_error(status: int | None) -> bool:
    """Whether an answer spends the error budget: a 5xx, or no answer at all (`status` None
    or 0 on the client: connect error, reset, timeout; CLIENT_CLOSED_CODE on the server: the
    client went away first). A 4xx is the caller's doing, never an SLA error. The server's
    recorder, the PromQL (`ERROR_CODE_REGEX`) and the load-test gate all use this."""
    return status is None or status == 0 or status == CLIENT_CLOSED_CODE or status >= 500
