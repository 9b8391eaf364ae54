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
    "BURN_WINDOWS",
    "CACHE_REQUESTS",
    "DB_POOL_CONNECTIONS",
    "DB_POOL_SIZE",
    "DB_STATEMENT_DURATION",
    "HTTP_EXCEPTIONS",
    "HTTP_REQUESTS",
    "HTTP_REQUESTS_IN_FLIGHT",
    "HTTP_REQUEST_DURATION",
    "JOBS_DEFERRED",
    "JOBS_DUE",
    "JOBS_PROCESSED",
    "LABEL_CODE",
    "LABEL_DESTINATION",
    "LABEL_LAYER",
    "LABEL_METHOD",
    "LABEL_OUTCOME",
    "LABEL_PLATFORM",
    "LABEL_REASON",
    "LABEL_RESULT",
    "LABEL_ROUTE",
    "LABEL_SERVICE",
    "LABEL_STATE",
    "LABEL_STATEMENT",
    "LIVE_SNAPSHOT_PATH",
    "METRICS_PATH",
    "OTHER_STATEMENT",
    "RATE_LIMIT_DECISIONS",
    "RECEIVER_ALERTS_DUPLICATE",
    "RECEIVER_ALERTS_RECEIVED",
    "RECEIVER_ALERTS_STORED",
    "RECEIVER_FORWARD_ATTEMPTS",
    "RECEIVER_FORWARD_DEAD",
    "RECEIVER_FORWARD_FAILURES",
    "RECEIVER_NOTIFICATIONS_REJECTED",
    "RECEIVER_OUTBOX_DEPTH",
    "SOCIAL_POSTS",
    "SOCIAL_POST_DURATION",
    "UNMATCHED_ROUTE",
    "duration_buckets",
    "rule_error_ratio",
    "rule_latency_ratio",
    "rule_request_rate",
    "rule_slow_ratio",
]

# Metric family names. Counters are named without `_total`; exposition appends it.
HTTP_REQUEST_DURATION = "loadwatch_http_request_duration_seconds"
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

# Label values with a fixed meaning.
UNMATCHED_ROUTE = "<unmatched>"
"""Route label of every request no route matched (404/405): one value, however many paths."""
OTHER_STATEMENT = "<other>"
"""Statement label once the bounded set of statement names is full."""

# Paths served by the instrumentation itself (not counted as traffic).
METRICS_PATH = "/metrics"
LIVE_SNAPSHOT_PATH = "/live/snapshot"

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
    """Recording rule: fraction of requests that were 5xx over `window`, by service."""
    return f"loadwatch:http_errors:ratio_rate{window}"


def rule_latency_ratio(window: str) -> str:
    """Recording rule: fraction of requests slower than the latency threshold over `window`."""
    return f"loadwatch:http_latency_over_threshold:ratio_rate{window}"


def rule_slow_ratio(window: str) -> str:
    """Recording rule: fraction of requests slower than the slow-request threshold."""
    return f"loadwatch:http_slow_requests:ratio_rate{window}"
