from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from collector.sla import SLA, LatencyObjective, parse_sla
from loadtests.gate import (
    NO_REQUESTS,
    GateOptions,
    Metric,
    ThresholdResult,
    Verdict,
    evaluate,
    failed_beyond_recovery,
    verdict_table,
)
from loadtests.stats import Outcome, RunRecorder, RunStats, summarize

SLA_TEXT = """\
version: 1
objectives:
  latency: {percentile: p95, threshold: 200ms}
  slow_request: 1s
  error_rate: 1%
  availability: {target: 99.9%, window: 30d}
  throughput: 100/s
  concurrent_users: 100
services:
  course:
    routes:
      /ai/generate:
        latency: {threshold: 1s}
"""
SLA_ = parse_sla(SLA_TEXT, source="test-sla.yaml")
COURSE = "GET /courses/{course_id}"
GENERATE = "POST /ai/generate"

Request = tuple[str, float, bool, float]  # endpoint, latency_s, ok, completed at (s)


def traffic(
    n: int,
    *,
    latency_s: float = 0.05,
    failures: int = 0,
    endpoint: str = COURSE,
    start_s: float = 0.0,
    span_s: float = 10.0,
) -> list[Request]:
    """`n` requests spread evenly over [start_s, start_s + span_s); the first `failures` fail."""
    return [(endpoint, latency_s, i >= failures, start_s + span_s * i / n) for i in range(n)]


def stats_of(*chunks: Iterable[Request], duration_s: float = 10.0) -> RunStats:
    recorder = RunRecorder(started_at_s=0.0, window_s=10.0, slow_s=1.0)
    for chunk in chunks:
        for endpoint, latency_s, ok, at_s in chunk:
            recorder.record(endpoint, latency_s, Outcome.SERVED if ok else Outcome.ERROR, at_s)
    return summarize(recorder, duration_s=duration_s)


def result(verdict: Verdict, metric: Metric, name_part: str = "") -> ThresholdResult:
    found = [r for r in verdict.thresholds if r.metric is metric and name_part in r.name]
    assert len(found) == 1, [r.name for r in verdict.thresholds]
    return found[0]


def judge(stats: RunStats, sla: SLA = SLA_, **options: object) -> Verdict:
    return evaluate(sla, stats, GateOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("chunks", "ok"),
    [
        ([traffic(95), traffic(5, latency_s=0.5)], True),
        ([traffic(94), traffic(6, latency_s=0.5)], False),
        ([traffic(100, latency_s=0.19)], True),
        ([traffic(100, latency_s=0.21)], False),
    ],
    ids=["5-percent-slow", "6-percent-slow", "just-below", "just-above"],
)
def test_overall_latency_passes_only_below_the_percentile_threshold(
    chunks: list[list[Request]], ok: bool
) -> None:
    latency = result(judge(stats_of(*chunks)), Metric.LATENCY)
    assert latency.name == "latency p95 < 200ms"
    assert (latency.ok, latency.limit, latency.unit) == (ok, 200.0, "ms")
    assert latency.observed is not None and (latency.observed < 200.0) is ok


def test_a_percentile_exactly_at_the_threshold_fails() -> None:
    stats = stats_of(traffic(100, latency_s=0.2))
    at_s = stats.sketch.quantile(0.95)
    objectives = replace(SLA_.objectives, latency=LatencyObjective(0.95, at_s))
    latency = result(judge(stats, replace(SLA_, objectives=objectives)), Metric.LATENCY)
    assert latency.observed == pytest.approx(at_s * 1000.0)
    assert latency.ok is False


@pytest.mark.parametrize(("failures", "ok"), [(0, True), (9, True), (10, False), (11, False)])
def test_error_rate_passes_only_strictly_below_the_limit(failures: int, ok: bool) -> None:
    error_rate = result(judge(stats_of(traffic(1000, failures=failures))), Metric.ERROR_RATE)
    assert error_rate.name == "error rate < 1%"
    assert (error_rate.ok, error_rate.observed, error_rate.limit) == (ok, failures / 1000, 0.01)


@pytest.mark.parametrize(("slow", "ok"), [(0, True), (9, True), (10, False), (11, False)])
def test_slow_requests_spend_the_error_budget(slow: int, ok: bool) -> None:
    stats = stats_of(traffic(1000 - slow), traffic(slow, latency_s=1.5))
    slow_ratio = result(judge(stats), Metric.SLOW_RATIO)
    assert slow_ratio.name == "slow requests (> 1s) < 1%"
    assert (slow_ratio.ok, slow_ratio.observed, slow_ratio.unit) == (ok, slow / 1000, "ratio")


@pytest.mark.parametrize(
    ("requests", "offered_rps", "ok"),
    [
        (999, None, False),
        (1000, None, True),
        (1001, None, True),
        (999, 100.0, False),
        (1000, 150.0, True),
        (500, 50.0, None),
    ],
)
def test_throughput_must_reach_the_objective_unless_the_run_never_offered_it(
    requests: int, offered_rps: float | None, ok: bool | None
) -> None:
    throughput = result(
        judge(stats_of(traffic(requests)), offered_rps=offered_rps), Metric.THROUGHPUT
    )
    assert throughput.name == "throughput >= 100 req/s"
    assert throughput.ok is ok
    assert throughput.observed == pytest.approx(requests / 10.0)
    if ok is None:
        assert throughput.detail == (
            "offered 50 req/s is below the objective; the run cannot show it"
        )


def test_a_smoke_run_below_the_objective_rate_passes_on_its_other_thresholds() -> None:
    verdict = judge(stats_of(traffic(100)), offered_rps=10.0)
    assert [r.ok for r in verdict.thresholds] == [True, True, None, True, True]
    assert verdict.passed is True


@pytest.mark.parametrize(
    ("latency_s", "ok"), [(0.5, True), (0.98, True), (1.02, False), (3.0, False)]
)
def test_an_overridden_route_is_judged_on_its_own_threshold(latency_s: float, ok: bool) -> None:
    stats = stats_of(traffic(900), traffic(100, latency_s=latency_s, endpoint=GENERATE))
    route = result(judge(stats, service="course"), Metric.LATENCY, " on ")
    assert route.name == "latency p95 < 1s on POST /ai/generate"
    assert (route.ok, route.limit) == (ok, 1000.0)


def test_overridden_routes_are_judged_on_their_own_in_their_service_or_any() -> None:
    stats = stats_of(traffic(900), traffic(100, latency_s=0.5, endpoint=GENERATE))
    with_service = [r.name for r in judge(stats, service="course").thresholds]
    assert with_service[:2] == ["latency p95 < 200ms", "latency p95 < 1s on POST /ai/generate"]
    mixed = [r.name for r in judge(stats).thresholds]
    assert mixed[:2] == ["latency p95 < 200ms", "latency p95 < 1s on POST /ai/generate"]
    assert not any(" on " in r.name for r in judge(stats, service="unknown").thresholds)


def test_every_method_of_an_overridden_route_is_judged_separately() -> None:
    stats = stats_of(
        traffic(100, latency_s=0.5, endpoint="GET /ai/generate"),
        traffic(100, latency_s=1.5, endpoint=GENERATE),
    )
    routes = [r for r in judge(stats, service="course").thresholds if " on " in r.name]
    assert [(r.name, r.ok) for r in routes] == [
        ("latency p95 < 1s on GET /ai/generate", True),
        ("latency p95 < 1s on POST /ai/generate", False),
    ]


def test_the_overall_latency_leaves_out_routes_judged_by_their_own_override() -> None:
    stats = stats_of(traffic(900), traffic(100, latency_s=0.5, endpoint=GENERATE))
    verdict = judge(stats, service="course")
    overall = result(verdict, Metric.LATENCY, "< 200ms")
    assert overall.ok is True
    assert overall.observed is not None and overall.observed < 100
    assert result(verdict, Metric.LATENCY, "on POST /ai/generate").ok is True
    unknown = judge(stats, service="unknown")
    assert result(unknown, Metric.LATENCY, "< 200ms").ok is False


def windows(*latencies_s: float | None) -> RunStats:
    """One 10 s window per argument: 100 requests at that latency, or none for None."""
    chunks = [
        traffic(100, latency_s=latency, start_s=10.0 * i)
        for i, latency in enumerate(latencies_s)
        if latency is not None
    ]
    return stats_of(*chunks, duration_s=10.0 * len(latencies_s))


@pytest.mark.parametrize(
    ("stats", "ramp_up_s", "ok", "detail"),
    [
        (windows(0.05, 0.05, 0.05), 0.0, True, ""),
        (windows(0.5, 0.05, 0.05), 0.0, False, "window 0-10s: p95 "),
        (windows(0.5, 0.05, 0.05), 10.0, True, ""),
        (windows(0.5, 0.05, 0.3, 0.5), 10.0, False, "window 20-30s: p95 "),
        (windows(0.5, 0.05, 0.05), 15.0, True, ""),
        (windows(0.05, None, 0.05), 0.0, True, ""),
        (windows(0.5, None), 10.0, None, "no window starting at or after 10s has requests"),
    ],
    ids=[
        "all-fast",
        "slow-first-window",
        "slow-window-in-ramp-up",
        "slow-window-after-ramp-up",
        "windows-starting-in-ramp-up-ignored",
        "empty-window-ignored",
        "nothing-after-ramp-up",
    ],
)
def test_windowed_latency_judges_every_window_after_ramp_up(
    stats: RunStats, ramp_up_s: float, ok: bool | None, detail: str
) -> None:
    windowed = result(judge(stats, windowed=True, ramp_up_s=ramp_up_s), Metric.WINDOW_LATENCY)
    assert windowed.ok is ok
    assert windowed.detail.startswith(detail)
    assert bool(windowed.detail) is (detail != "")


def test_windowed_latency_reports_the_worst_window_and_names_the_setup() -> None:
    verdict = judge(windows(0.5, None, 0.3, 0.1), windowed=True, ramp_up_s=10.0)
    windowed = result(verdict, Metric.WINDOW_LATENCY)
    assert windowed.name == "latency p95 < 200ms in every 10s window after 10s"
    assert windowed.observed == pytest.approx(300.0, rel=0.01)
    assert windowed.detail.endswith("1 of 2 windows failed")
    assert "window" not in " ".join(r.name for r in judge(windows(0.05)).thresholds)


def test_a_run_without_requests_fails_with_every_threshold_not_applicable() -> None:
    verdict = judge(stats_of(), service="course", windowed=True)
    assert verdict.passed is False
    assert [r.metric for r in verdict.thresholds] == [
        Metric.LATENCY,
        Metric.ERROR_RATE,
        Metric.THROUGHPUT,
        Metric.SLOW_RATIO,
        Metric.WINDOW_LATENCY,
    ]
    for threshold in verdict.thresholds:
        assert (threshold.ok, threshold.observed, threshold.detail) == (None, None, NO_REQUESTS)


def test_threshold_dicts_carry_the_report_fields_rounded_by_unit() -> None:
    verdict = judge(stats_of(traffic(300, failures=1), traffic(1, latency_s=0.123456789)))
    latency, error_rate = verdict.thresholds[0].to_dict(), verdict.thresholds[1].to_dict()
    assert set(latency) == {"name", "metric", "limit", "observed", "ok", "unit", "detail"}
    assert (latency["metric"], latency["limit"], latency["unit"]) == ("latency", 200.0, "ms")
    assert latency["observed"] == round(latency["observed"], 3)
    assert error_rate == {
        "name": "error rate < 1%",
        "metric": "error_rate",
        "limit": 0.01,
        "observed": 0.003322,
        "ok": True,
        "unit": "ratio",
        "detail": "",
    }


def recovery(
    stats: RunStats, planned_duration_s: float = 20.0, **options: object
) -> ThresholdResult | None:
    return failed_beyond_recovery(
        SLA_,
        stats,
        GateOptions(**options),  # type: ignore[arg-type]
        planned_duration_s=planned_duration_s,
    )


# 1000 requests in 10 s of a 20 s run: at most 1000 + 2 x 100 req/s x 10 s = 3000 in all,
# so 1 % is 30 failures and p95 allows 150 slow requests (+1 of slack for rank rounding).
@pytest.mark.parametrize(
    ("stats", "planned_s", "options", "failed"),
    [
        (stats_of(traffic(1000, failures=29)), 20.0, {}, None),
        (stats_of(traffic(1000, failures=30)), 20.0, {}, "error rate < 1%"),
        (stats_of(traffic(1000, failures=9)), 10.0, {}, None),
        (stats_of(traffic(1000, failures=10)), 10.0, {}, "error rate < 1%"),
        (stats_of(traffic(1000, failures=30)), 20.0, {"offered_rps": 200.0}, None),
        (stats_of(traffic(1000, failures=30)), 20.0, {"ramp_up_s": 15.0}, None),
        (stats_of(traffic(970), traffic(30, latency_s=1.5)), 20.0, {}, "slow requests"),
        (stats_of(traffic(850), traffic(150, latency_s=0.5)), 20.0, {}, None),
        (stats_of(traffic(849), traffic(151, latency_s=0.5)), 20.0, {}, None),
        (stats_of(traffic(848), traffic(152, latency_s=0.5)), 20.0, {}, "latency p95 < 200ms"),
        (stats_of(traffic(10)), 10.0, {}, None),
        (stats_of(), 20.0, {}, None),
    ],
    ids=[
        "errors-recoverable",
        "errors-beyond-recovery",
        "errors-below-limit-at-the-end",
        "errors-at-limit-at-the-end",
        "higher-offered-rate-leaves-room",
        "still-ramping-up",
        "slow-beyond-recovery",
        "slow-tail-recoverable",
        "slow-tail-within-one-request-of-slack",
        "slow-tail-beyond-recovery",
        "throughput-never-aborts",
        "no-requests",
    ],
)
def test_a_threshold_fails_beyond_recovery_only_when_no_future_can_save_it(
    stats: RunStats, planned_s: float, options: dict[str, object], failed: str | None
) -> None:
    found = recovery(stats, planned_s, **options)
    if failed is None:
        assert found is None
    else:
        assert found is not None and found.ok is False and found.name.startswith(failed)
        assert found.detail


def test_the_error_budget_detail_states_the_counts_and_the_ceiling() -> None:
    found = recovery(stats_of(traffic(1000, failures=30)))
    assert found is not None
    assert (
        found.detail
        == "30 failures already reach 1% of the at most 3,000 requests the run can reach"
    )
    assert found.observed == 0.03


def test_a_route_already_holding_too_many_slow_requests_fails_beyond_recovery() -> None:
    sla = parse_sla(SLA_TEXT.replace("threshold: 1s}", "threshold: 100ms}"))
    stats = stats_of(traffic(800), traffic(200, latency_s=0.15, endpoint=GENERATE))
    found = failed_beyond_recovery(
        sla, stats, GateOptions(service="course"), planned_duration_s=20.0
    )
    assert found is not None
    assert found.name == "latency p95 < 100ms on POST /ai/generate"


@pytest.mark.parametrize(
    ("stats", "ramp_up_s", "failed"),
    [
        (windows(0.05, 0.5, 0.05), 10.0, True),
        (windows(0.5, 0.05, 0.05), 10.0, False),
        (
            stats_of(traffic(100), traffic(50, latency_s=0.5, start_s=10, span_s=5), duration_s=15),
            10.0,
            False,
        ),
    ],
    ids=["ended-window-after-ramp-up", "window-in-ramp-up", "window-still-open"],
)
def test_a_failed_window_is_final_only_once_it_has_ended_after_ramp_up(
    stats: RunStats, ramp_up_s: float, failed: bool
) -> None:
    found = recovery(stats, 600.0, windowed=True, ramp_up_s=ramp_up_s)
    if failed:
        assert found is not None and found.metric is Metric.WINDOW_LATENCY
        assert found.detail.startswith("window 10-20s: p95 ")
    else:
        assert found is None


def test_the_verdict_table_aligns_every_threshold_with_its_result_and_units() -> None:
    stats = stats_of(traffic(1000, failures=20), traffic(50, latency_s=0.5, endpoint=GENERATE))
    table = verdict_table(judge(stats, service="course", offered_rps=50.0))
    lines = table.splitlines()
    assert table.isascii()
    assert lines[0].split() == ["RESULT", "THRESHOLD", "OBSERVED", "LIMIT", "DETAIL"]
    column = lines[0].index("THRESHOLD")
    assert [line[:column].strip() for line in lines[1:-1]] == [
        "PASS",
        "PASS",
        "FAIL",
        "n/a",
        "PASS",
        "PASS",
    ]
    assert [line[column:].split("  ")[0] for line in lines[1:-1]] == [
        "latency p95 < 200ms",
        "latency p95 < 1s on POST /ai/generate",
        "error rate < 1%",
        "throughput >= 100 req/s",
        "slow requests (> 1s) < 1%",
        "generator kept up (no missed starts)",
    ]
    assert "1.90%" in lines[3] and "1.00%" in lines[3]
    assert "105.0 req/s" in lines[4] and "offered 50 req/s is below the objective" in lines[4]
    assert " 1,000 ms" in lines[2]
    assert lines[-1] == "FAILED: 4 passed, 1 failed, 1 not applicable"


def test_objectives_the_sla_does_not_state_get_no_row() -> None:
    sla = parse_sla("objectives:\n  latency: {percentile: p99, threshold: 500ms}\n")
    stats = stats_of(traffic(200, latency_s=2.0, failures=50))
    verdict = evaluate(sla, stats, GateOptions(windowed=True))
    assert [r.metric for r in verdict.thresholds] == [Metric.LATENCY, Metric.WINDOW_LATENCY]
    assert not verdict.passed  # the p99 of 2 s requests fails; the 25 % errors are not judged


def test_errors_alone_are_judged_when_only_the_error_objective_is_stated() -> None:
    sla = parse_sla("objectives:\n  error_rate: 1%\n")
    stats = stats_of(traffic(200, latency_s=5.0))
    verdict = evaluate(sla, stats, GateOptions())
    assert [r.metric for r in verdict.thresholds] == [Metric.ERROR_RATE]
    assert verdict.passed  # 5 s requests are not judged without a latency objective
    failing = stats_of(traffic(200, failures=20))
    assert failed_beyond_recovery(sla, failing, GateOptions(), planned_duration_s=10.0) is not None


def test_a_slow_request_threshold_without_an_error_objective_is_not_judged() -> None:
    sla = parse_sla("objectives:\n  slow_request: 1s\n  throughput: 1/s\n")
    verdict = evaluate(sla, stats_of(traffic(100, latency_s=2.0)), GateOptions())
    assert [r.metric for r in verdict.thresholds] == [Metric.THROUGHPUT]


def test_a_closed_model_that_cannot_offer_the_objective_rate_gets_n_a_with_the_reason() -> None:
    stats = stats_of(traffic(300))  # 30 req/s against an objective of 100 req/s
    verdict = judge(stats, closed_ceiling_rps=33.3)
    throughput = result(verdict, Metric.THROUGHPUT)
    assert throughput.ok is None and throughput.observed == pytest.approx(30.0)
    assert "offer at most 33.3 req/s, below the objective" in throughput.detail
    assert verdict.passed
    assert result(judge(stats, closed_ceiling_rps=500.0), Metric.THROUGHPUT).ok is False
    assert result(judge(stats), Metric.THROUGHPUT).ok is False


def test_throughput_is_judged_over_the_windows_after_the_ramp_up() -> None:
    ramp = traffic(100, span_s=10.0)  # 10 req/s while users start
    steady = traffic(2400, start_s=10.0, span_s=20.0)  # then 120 req/s
    stats = stats_of(ramp, steady, duration_s=30.0)
    assert stats.rps < 100
    whole = result(judge(stats), Metric.THROUGHPUT)
    after = result(judge(stats, ramp_up_s=10.0), Metric.THROUGHPUT)
    assert whole.ok is False
    assert after.ok is True and after.observed == pytest.approx(120.0)
    assert after.detail == "over the windows from 10s (after the ramp-up)"


def test_an_open_model_generator_that_missed_starts_can_never_pass() -> None:
    recorder = RunRecorder(started_at_s=0.0, window_s=10.0, slow_s=1.0)
    for endpoint, latency_s, ok, at_s in traffic(2000):
        recorder.record(endpoint, latency_s, Outcome.SERVED if ok else Outcome.ERROR, at_s)
    clean = summarize(recorder, duration_s=10.0)
    assert judge(clean, offered_rps=200.0).passed
    recorder.record_missed(5.0, count=7)
    saturated = summarize(recorder, duration_s=10.0)
    verdict = judge(saturated, offered_rps=200.0)
    generator = result(verdict, Metric.GENERATOR)
    assert not verdict.passed and generator.ok is False
    assert generator.detail.startswith("the generator could not keep up: 7 starts missed")
    assert all(r.ok is True for r in verdict.thresholds if r is not generator)
    stopped = failed_beyond_recovery(
        SLA_, saturated, GateOptions(offered_rps=200.0), planned_duration_s=60.0
    )
    assert stopped is not None and stopped.metric is Metric.GENERATOR


def test_the_closed_ceiling_is_users_over_think_time_shared_by_weight() -> None:
    from loadtests.gate import closed_ceiling_rps

    assert closed_ceiling_rps(20, [(1.0, 0.6)]) == pytest.approx(33.33, rel=1e-3)
    assert closed_ceiling_rps(40, [(3.0, 1.0), (1.0, 0.5)]) == pytest.approx(40 * (0.75 + 0.5))
    assert closed_ceiling_rps(20, [(1.0, 0.6), (1.0, None)]) is None
    assert closed_ceiling_rps(20, [(1.0, 0.0)]) is None


def test_unexpected_answers_are_not_sla_errors_but_too_many_make_the_run_invalid() -> None:
    def run(unexpected: int) -> RunStats:
        recorder = RunRecorder(started_at_s=0.0, window_s=10.0, slow_s=1.0)
        for i in range(1000):
            outcome = Outcome.UNEXPECTED if i < unexpected else Outcome.SERVED
            recorder.record(COURSE, 0.05, outcome, i / 100, reason="HTTP 404 Not Found")
        return summarize(recorder, duration_s=10.0)

    clean = judge(run(0), offered_rps=50.0)
    assert all(r.metric is not Metric.SCENARIO_FAILURES for r in clean.thresholds)
    few = judge(run(5), offered_rps=50.0)
    assert result(few, Metric.SCENARIO_FAILURES).ok is True and few.passed
    assert result(few, Metric.ERROR_RATE).observed == 0.0
    many = judge(run(700), offered_rps=50.0)
    row = result(many, Metric.SCENARIO_FAILURES)
    assert row.name == "scenario failures (unexpected answers) < 1%"
    assert row.ok is False and row.observed == pytest.approx(0.7) and not many.passed
    assert "not SLA errors, but the run is invalid" in row.detail
    assert result(many, Metric.ERROR_RATE).ok is True
