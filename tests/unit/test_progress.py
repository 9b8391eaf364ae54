"""The live progress line: what it shows for closed and open runs, and a mark per objective."""

from __future__ import annotations

import re

from collector.sla import default_sla
from loadtests.gate import GateOptions, Metric, ThresholdResult, evaluate
from loadtests.progress import objective_mark, progress_line
from loadtests.stats import Outcome, RunRecorder, RunStats, summarize


def run_stats(latencies_s: list[float], failures: int = 0, *, raw: bool = False) -> RunStats:
    recorder = RunRecorder(started_at_s=0.0)
    for i, latency_s in enumerate(latencies_s):
        endpoint = "POST /ai/generate" if i % 10 == 0 else "GET /courses/{course_id}/content"
        recorder.record(
            endpoint,
            latency_s,
            Outcome.SERVED if i >= failures else Outcome.ERROR,
            i / 100,
            raw_latency_s=latency_s if raw else None,
        )
    return summarize(recorder, duration_s=max(1.0, len(latencies_s) / 100))


def test_a_closed_run_shows_time_users_rate_percentile_errors_and_marks() -> None:
    stats = run_stats([0.010] * 95 + [0.050] * 5, failures=2)
    verdict = evaluate(default_sla(), stats, GateOptions(service="course"))
    line = progress_line(
        elapsed_s=12.2,
        users=50,
        rps=312.44,
        stats=stats,
        verdict=verdict,
        percentile=0.95,
    )
    assert line.startswith("   12s  users 50  312.4 req/s  p95 ")
    assert "errors 2.00%" in line
    assert "latency ok" in line and "errors FAIL" in line and "throughput FAIL" in line
    assert "latency /ai/generate ok" in line
    assert "missed" not in line


def test_an_open_run_shows_requests_in_flight_and_missed_starts() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    for i in range(200):
        recorder.record("GET /x", 0.002, Outcome.SERVED, i / 100, raw_latency_s=0.001)
    recorder.record_missed(1.5, count=7)
    stats = summarize(recorder, duration_s=2.0)
    verdict = evaluate(default_sla(), stats, GateOptions(offered_rps=100.0))
    line = progress_line(
        elapsed_s=2.0,
        users=3,
        rps=100.0,
        stats=stats,
        verdict=verdict,
        percentile=0.95,
        model="open",
    )
    assert "in flight 3" in line and "missed 7" in line
    assert "throughput n/a" in line


def test_before_any_request_the_percentile_is_a_dash_and_marks_are_not_applicable() -> None:
    stats = run_stats([])
    verdict = evaluate(default_sla(), stats, GateOptions())
    line = progress_line(
        elapsed_s=3.0, users=10, rps=0.0, stats=stats, verdict=verdict, percentile=0.99
    )
    assert "p99 -" in line
    assert "latency n/a" in line and "errors n/a" in line


def test_latencies_are_shown_with_precision_that_suits_their_size() -> None:
    verdict = evaluate(default_sla(), run_stats([0.0004] * 10), GateOptions())
    small = progress_line(
        elapsed_s=1,
        users=1,
        rps=1,
        stats=run_stats([0.0004] * 10),
        verdict=verdict,
        percentile=0.5,
    )
    big = progress_line(
        elapsed_s=1,
        users=1,
        rps=1,
        stats=run_stats([1.5] * 10),
        verdict=verdict,
        percentile=0.5,
    )
    assert re.search(r"p50 0\.\d{3}ms ", small), small
    assert re.search(r"p50 1,\d{3}ms ", big), big


def test_each_metric_has_a_short_mark() -> None:
    def result(metric: Metric, name: str, ok: bool | None) -> str:
        return objective_mark(ThresholdResult(name, metric, 1.0, 0.5, ok, "ms"))

    assert result(Metric.SLOW_RATIO, "slow requests (> 1s) < 1%", True) == "slow ok"
    assert result(Metric.WINDOW_LATENCY, "latency p95 < 200ms in every window", False) == (
        "windows FAIL"
    )
    assert result(Metric.THROUGHPUT, "throughput >= 1000 req/s", None) == "throughput n/a"


def test_a_shaped_closed_run_shows_its_target_users_next_to_the_achieved_ones() -> None:
    stats = run_stats([0.010] * 100)
    verdict = evaluate(default_sla(), stats, GateOptions(service="course"))
    line = progress_line(
        elapsed_s=9, users=48, rps=96.0, stats=stats, verdict=verdict, percentile=0.95, target=50
    )
    assert line.startswith("    9s  users target 50 / achieved 48  96.0 req/s  p95 ")


def test_a_shaped_open_run_shows_its_target_rate_next_to_the_achieved_one() -> None:
    stats = run_stats([0.010] * 100, raw=True)
    verdict = evaluate(default_sla(), stats, GateOptions(service="course", offered_rps=300.0))
    line = progress_line(
        elapsed_s=9,
        users=4,
        rps=118.24,
        stats=stats,
        verdict=verdict,
        percentile=0.95,
        model="open",
        target=120.0,
    )
    assert line.startswith("    9s  in flight 4  req/s target 120.0 / achieved 118.2  p95 ")
