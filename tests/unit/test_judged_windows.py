"""Which windows the gate judges as the service's (loadtests.judged): saturated windows left
out, the rest judged with their sketches merged exactly, invalid only when too little is
left, --judge-window, and --abort-on-fail keeping to the same rule. Synthetic runs; the
assertions are on verdict reasons, never on timings."""

from __future__ import annotations

import json

import pytest

from collector.sla import parse_sla
from loadtests.gate import GateOptions, Metric, Verdict, evaluate, failed_beyond_recovery
from loadtests.judged import JudgeWindow, restrict
from loadtests.outcomes import Outcome
from loadtests.saturation import GeneratorSample
from loadtests.stats import RunRecorder, RunStats, summarize
from loadtests.thresholds import ThresholdResult

SLA = parse_sla(
    """\
version: 1
objectives:
  latency: {percentile: p95, threshold: 200ms}
  slow_request: 1s
  error_rate: 1%
  throughput: 10/s
services:
  course:
    routes:
      /ai/generate:
        latency: {threshold: 1s}
""",
    source="test-sla.yaml",
)
COURSE, GENERATE = "GET /courses/{course_id}", "POST /ai/generate"
START_S = 5_000.0

WINDOW = {
    ".": (0.05, 0.5, 30.0),  # the service is fast, the generator calm
    "~": (0.3, 0.5, 30.0),  # the service itself is slow, the generator calm
    "#": (0.6, 2.0, 98.0),  # the generator saturated: its latency is its own
}
"""Window code -> (course latency s, /ai/generate latency s, generator CPU %)."""


def recorder_of(codes: str, *, errors_in: int | None = None) -> RunRecorder:
    """10 s windows as `codes` say; 20 req/s to the course route and 1 req/s to the slow
    /ai/generate; every request of window `errors_in` (0-based) fails."""
    recorder = RunRecorder(started_at_s=START_S, window_s=10.0, slow_s=1.0)
    for index, code in enumerate(codes):
        course_s, generate_s, cpu = WINDOW[code]
        outcome = Outcome.ERROR if index == errors_in else Outcome.SERVED
        for second in range(10):
            now_s = START_S + index * 10 + second + 0.5
            for _ in range(20):
                recorder.record(COURSE, course_s, outcome, now_s)
            recorder.record(GENERATE, generate_s, outcome, now_s)
            recorder.record_generator(GeneratorSample("local", now_s, cpu, (0.002,) * 10))
    return recorder


def run_of(codes: str, *, errors_in: int | None = None) -> RunStats:
    return summarize(recorder_of(codes, errors_in=errors_in), duration_s=10.0 * len(codes))


def row(verdict: Verdict | list[ThresholdResult], metric: Metric, on: str = "") -> ThresholdResult:
    rows = verdict.thresholds if isinstance(verdict, Verdict) else verdict
    (found,) = [r for r in rows if r.metric is metric and r.name.endswith(on)]
    return found


def gate(
    ramp_up_s: float = 0.0, judge_from_s: float = 0.0, judge_until_s: float | None = None
) -> GateOptions:
    return GateOptions(
        service="course",
        ramp_up_s=ramp_up_s,
        judge_from_s=judge_from_s,
        judge_until_s=judge_until_s,
    )


INVALID_3_OF_5 = (
    "INVALID: the load generator was saturated (3 of 5 windows); use --workers or more machines"
)


@pytest.mark.parametrize(
    ("codes", "options", "passed", "latency_ok", "judged", "invalid_line"),
    [
        pytest.param(".....", {}, True, True, (0, 1, 2, 3, 4), "", id="no saturation"),
        pytest.param("..#..", {}, True, True, (0, 1, 3, 4), "", id="one saturated: the rest"),
        pytest.param(
            ".~#.~", {}, False, False, (0, 1, 3, 4), "", id="saturated + the service slow"
        ),
        pytest.param("##.#.", {}, False, None, (2, 4), INVALID_3_OF_5, id="most saturated"),
        pytest.param(
            "#.#.",
            {},
            False,
            None,
            (1, 3),
            "INVALID: the load generator was saturated (2 of 4 windows);"
            " use --workers or more machines",
            id="half saturated is not enough",
        ),
        pytest.param(
            "##...", {"ramp_up_s": 20.0}, True, True, (2, 3, 4), "", id="saturated ramp-up"
        ),
        pytest.param(
            "#..~",
            {"judge_from_s": 10.0, "judge_until_s": 30.0},
            True,
            True,
            (1, 2),
            "",
            id="judge only the hold",
        ),
        pytest.param(
            "#..~", {"judge_from_s": 10.0}, False, False, (1, 2, 3), "", id="hold and ramp-down"
        ),
    ],
)
def test_the_service_is_judged_over_the_windows_the_generator_kept_up_in(
    codes: str,
    options: dict[str, float],
    passed: bool,
    latency_ok: bool | None,
    judged: tuple[int, ...],
    invalid_line: str,
) -> None:
    verdict = evaluate(SLA, run_of(codes), gate(**options))
    assert verdict.windows is not None and verdict.windows.judged == judged
    assert verdict.passed is passed
    assert row(verdict, Metric.LATENCY, "< 200ms").ok is latency_ok
    assert verdict.invalid_line == invalid_line
    generator = row(verdict, Metric.GENERATOR)
    assert generator.ok is (not invalid_line)
    if invalid_line:
        assert verdict.invalid.startswith("the load generator was saturated: CPU 98 % of a core")
        assert generator.detail == verdict.invalid
        assert row(verdict, Metric.LATENCY, "< 200ms").detail.startswith("not judged: ")
    else:
        assert verdict.invalid == ""


def test_a_few_saturated_windows_leave_the_services_own_latency_failure_reported() -> None:
    verdict = evaluate(SLA, run_of(".~#.~"), GateOptions(service="course", windowed=True))
    latency = row(verdict, Metric.LATENCY, "< 200ms")
    assert latency.ok is False and latency.observed == pytest.approx(300.0, rel=0.01)
    windowed = row(verdict, Metric.WINDOW_LATENCY)
    assert windowed.ok is False and "2 of 4 windows failed" in windowed.detail
    assert "1 window(s) not judged: the load generator was saturated" in windowed.detail
    generator = row(verdict, Metric.GENERATOR)
    assert generator.detail == (
        "the load generator was saturated in window 3: not judged there; the service was"
        " judged on the other 4 of 5 windows"
    )


def test_the_per_route_objective_is_judged_over_the_same_windows() -> None:
    stats = run_of("..#..")
    verdict = evaluate(SLA, stats, GateOptions(service="course"))
    generate = row(verdict, Metric.LATENCY, f"on {GENERATE}")
    assert generate.ok is True and generate.observed == pytest.approx(500.0, rel=0.01)
    whole = evaluate(SLA, stats, GateOptions(service="course", judge_from_s=0.0))
    assert whole.windows is not None and whole.windows.judged == (0, 1, 3, 4)


def test_errors_count_in_saturated_windows_but_not_outside_the_judge_window() -> None:
    stats = run_of("..#..", errors_in=2)
    in_scope = evaluate(SLA, stats, GateOptions(service="course"))
    assert row(in_scope, Metric.ERROR_RATE).ok is False
    outside = evaluate(SLA, stats, GateOptions(service="course", judge_from_s=30.0))
    assert row(outside, Metric.ERROR_RATE).ok is True


def test_a_judge_window_holding_no_whole_window_judges_nothing_and_says_so() -> None:
    verdict = evaluate(
        SLA, run_of("...."), GateOptions(service="course", judge_from_s=12.0, judge_until_s=18.0)
    )
    assert not verdict.passed
    assert row(verdict, Metric.LATENCY, "< 200ms").detail == (
        "no window lies wholly inside the judge window 12s-18s"
    )


def test_the_verdict_and_the_reports_say_which_windows_were_judged_and_why() -> None:
    from loadtests.gate import verdict_table
    from loadtests.report import RunInfo, html_report, json_summary

    stats = run_of("#.#...")
    verdict = evaluate(SLA, stats, GateOptions(service="course", ramp_up_s=10.0))
    table = verdict_table(verdict)
    assert "judged 4 of 6 windows (1 in the ramp-up; 1 the load generator was saturated)" in (
        table.splitlines()
    )
    info = RunInfo("s", "http://h", "2026-01-01T00:00:00+00:00", "closed", 5, 5.0, None, 0, "d")
    summary = json.loads(json.dumps(json_summary(info, stats, verdict), allow_nan=False))
    assert summary["judged"]["windows"] == [1, 3, 4, 5]
    assert summary["judged"]["not_judged"] == [
        {"window": 0, "why": "in the ramp-up"},
        {"window": 2, "why": "the load generator was saturated"},
    ]
    assert summary["judged"]["enough"] and summary["judged"]["reason"] == ""
    assert [w["generator"]["service_judged"] for w in summary["windows"]] == [
        False,
        True,
        False,
        True,
        True,
        True,
    ]
    page = html_report(info, stats, verdict)
    assert "Windows not judged: 1 (in the ramp-up), 3 (the load generator was saturated)." in page


def test_restricting_to_every_window_gives_the_whole_runs_sketches_exactly() -> None:
    one, two = recorder_of(".~#"), recorder_of("..~")
    merged = RunRecorder.from_dict(json.loads(json.dumps(one.to_dict())))
    merged.merge(RunRecorder.from_dict(json.loads(json.dumps(two.to_dict()))))
    stats = summarize(merged, duration_s=30.0)
    everything = restrict(stats, [w.index for w in stats.windows])
    assert everything.sketch == stats.sketch
    assert everything.requests == stats.requests and everything.slow == stats.slow
    for name, endpoint in stats.endpoints.items():
        assert everything.endpoints[name].sketch == endpoint.sketch


@pytest.mark.parametrize(
    ("codes", "elapsed_s", "planned_s", "options", "stops_on"),
    [
        pytest.param(".#", 20.0, 60.0, {}, None, id="1 of 6 saturated: run on"),
        pytest.param("##", 20.0, 40.0, {}, Metric.GENERATOR, id="2 of 4: the rule is lost"),
        pytest.param("##", 20.0, 60.0, {}, None, id="2 of 6: the rest may still be judged"),
        pytest.param("#", 10.0, 11.0, {}, Metric.GENERATOR, id="saturated, never latency"),
        pytest.param("~", 10.0, 11.0, {}, Metric.LATENCY, id="the service is slow"),
        pytest.param("#", 5.0, 11.0, {}, None, id="a running window is not final"),
        pytest.param(
            "##..", 20.0, 40.0, {"judge_from_s": 20.0}, None, id="saturated outside the window"
        ),
        pytest.param("##..", 20.0, 40.0, {"ramp_up_s": 20.0}, None, id="saturated in the ramp-up"),
    ],
)
def test_abort_on_fail_stops_for_saturation_only_once_the_rule_cannot_hold(
    codes: str,
    elapsed_s: float,
    planned_s: float,
    options: dict[str, float],
    stops_on: Metric | None,
) -> None:
    partial = summarize(recorder_of(codes), duration_s=elapsed_s)
    stopped = failed_beyond_recovery(SLA, partial, gate(**options), planned_duration_s=planned_s)
    assert (stopped.metric if stopped is not None else None) is stops_on
    if stopped is not None:
        assert stopped.ok is False
    if stops_on is Metric.GENERATOR:
        assert stopped is not None and stopped.detail.endswith(
            "the rest of the run can no longer leave more than half of its windows to judge"
        )


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("30s:150s", JudgeWindow(30.0, 150.0)),
        ("30s:2.5m", JudgeWindow(30.0, 150.0)),
        ("30s:", JudgeWindow(30.0, None)),
        (":1m", JudgeWindow(0.0, 60.0)),
        (None, JudgeWindow()),
    ],
)
def test_judge_windows_parse_with_either_end_optional(
    text: str | None, window: JudgeWindow
) -> None:
    assert JudgeWindow.parse(text, duration_s=180.0) == window


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (":", "expected START:END like 30s:150s (either end optional), got ':'"),
        ("30s", "expected START:END like 30s:150s (either end optional), got '30s'"),
        ("soon:later", "expected START:END like 30s:150s (either end optional), got 'soon:later'"),
        ("2m:1m", "expected END after START, got '2m:1m'"),
        ("5m:", "expected START before the end of --duration, got '5m:'"),
    ],
)
def test_a_bad_judge_window_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        JudgeWindow.parse(text, duration_s=180.0)
    assert str(raised.value) == message
