import pytest

from loadtests.outcomes import REASON_MAX_CHARS, classify, exception_reason
from loadtests.stats import MAX_REASONS, OTHER_REASON, Outcome, RunRecorder, summarize


class CatchResponseError(Exception):
    """Locust's exception for `response.failure(...)` (same name, no locust import here)."""


@pytest.mark.parametrize(
    ("status", "exception", "expected"),
    [
        (200, None, (Outcome.SERVED, "", False)),
        (503, None, (Outcome.ERROR, "HTTP 503 Service Unavailable", False)),
        (500, CatchResponseError("boom"), (Outcome.ERROR, "HTTP 500 Internal Server Error", False)),
        (
            0,
            ConnectionRefusedError(111, "Connection refused"),
            (Outcome.ERROR, "ConnectionRefusedError: [Errno 111] Connection refused", False),
        ),
        (None, TimeoutError("timed out"), (Outcome.ERROR, "TimeoutError: timed out", False)),
        (404, CatchResponseError("404"), (Outcome.UNEXPECTED, "HTTP 404 Not Found", False)),
        (409, None, (Outcome.ACCEPTED, "HTTP 409 Conflict", False)),
        (202, None, (Outcome.ACCEPTED, "HTTP 202 Accepted", False)),
        (429, None, (Outcome.ACCEPTED, "HTTP 429 Too Many Requests", True)),
        (429, CatchResponseError("x"), (Outcome.UNEXPECTED, "HTTP 429 Too Many Requests", True)),
        (
            201,
            CatchResponseError("201 without an enrollment id"),
            (Outcome.UNEXPECTED, "CatchResponseError: 201 without an enrollment id", False),
        ),
    ],
)
def test_every_request_gets_one_outcome_and_one_reason(
    status: int | None, exception: BaseException | None, expected: tuple[Outcome, str, bool]
) -> None:
    assert classify(status, exception) == expected


def test_a_reason_keeps_the_first_line_and_is_bounded() -> None:
    assert exception_reason(ValueError("first\nsecond")) == "ValueError: first"
    assert exception_reason(ValueError()) == "ValueError"
    long = exception_reason(ValueError("x" * 500))
    assert len(long) == REASON_MAX_CHARS and long.endswith("...")


def test_rate_limited_answers_are_counted_but_are_not_latency_samples() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    recorder.record("GET /a", 0.010, Outcome.SERVED, 0.1)
    for _ in range(9):
        recorder.record(
            "GET /a",
            5.0,
            Outcome.ACCEPTED,
            0.2,
            reason="HTTP 429 Too Many Requests",
            rate_limited=True,
        )
    stats = summarize(recorder, duration_s=1.0)
    assert (stats.requests, stats.rate_limited, stats.failures, stats.slow) == (10, 9, 0, 0)
    assert stats.sketch.count == 1 and stats.latency.max_ms == pytest.approx(10.0)
    assert [r.count for r in stats.accepted_by_reason()] == [9]


def test_distinct_reasons_are_bounded_and_still_add_up() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    for i in range(MAX_REASONS + 50):
        recorder.record("GET /a", 0.01, Outcome.ERROR, 0.1, reason=f"ValueError: {i}")
    stats = summarize(recorder, duration_s=1.0)
    reasons = {r.reason: r.count for r in stats.failures_by_reason()}
    assert len(reasons) == MAX_REASONS + 1 and reasons[OTHER_REASON] == 50
    assert sum(reasons.values()) == stats.failures == MAX_REASONS + 50


def test_reasons_of_two_workers_merge_exactly() -> None:
    a, b = RunRecorder(started_at_s=0.0), RunRecorder(started_at_s=0.0)
    for _ in range(30):
        a.record("GET /a", 0.01, Outcome.ERROR, 0.1, reason="HTTP 503 Service Unavailable")
        b.record("GET /a", 0.01, Outcome.UNEXPECTED, 0.1, reason="HTTP 404 Not Found")
        b.record("GET /b", 0.01, Outcome.ERROR, 0.1, reason="HTTP 503 Service Unavailable")
        a.record("POST /c", 0.01, Outcome.ACCEPTED, 0.1, reason="HTTP 409 Conflict")
    merged = RunRecorder.from_dict(a.to_dict())
    merged.merge(RunRecorder.from_dict(b.to_dict()))
    stats = summarize(merged, duration_s=1.0)
    failures = {(r.route, r.reason): r.count for r in stats.failures_by_reason()}
    assert failures == {
        ("GET /a", "HTTP 503 Service Unavailable"): 30,
        ("GET /a", "HTTP 404 Not Found"): 30,
        ("GET /b", "HTTP 503 Service Unavailable"): 30,
    }
    assert sum(failures.values()) == stats.failures + stats.unexpected == 90
    assert [(r.route, r.count) for r in stats.accepted_by_reason()] == [("POST /c", 30)]
