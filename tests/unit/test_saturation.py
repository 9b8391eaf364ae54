"""The generator-saturation judgement (loadtests.saturation) with synthetic samples, and how
the gate, the progress line and the reports use it."""

from __future__ import annotations

import json

import pytest

from collector.sla import default_sla
from loadtests.gate import GateOptions, Metric, evaluate, failed_beyond_recovery, verdict_table
from loadtests.outcomes import Outcome
from loadtests.progress import progress_line
from loadtests.report import RunInfo, html_report, json_summary
from loadtests.saturation import (
    CPU_LIMIT_PERCENT,
    LAG_LIMIT_S,
    GeneratorLoad,
    GeneratorSample,
    WindowLoad,
    judge,
    live_figures,
    window_loads,
)
from loadtests.stats import RunRecorder, summarize

START_S = 1_000.0


def load_of(*windows: tuple[str, int, list[tuple[float, float]]]) -> GeneratorLoad:
    """(process, window, [(cpu %, lag s) per second]) into a GeneratorLoad; each second has
    ten timers late by its lag."""
    load = GeneratorLoad()
    for process, index, values in windows:
        for second, (cpu, lag) in enumerate(values):
            at_s = START_S + index * 10 + second
            load.add(GeneratorSample(process, at_s, cpu, (lag,) * 10), index)
    return load


@pytest.mark.parametrize(
    ("cpu", "saturated"),
    [(CPU_LIMIT_PERCENT - 0.5, False), (CPU_LIMIT_PERCENT, False), (CPU_LIMIT_PERCENT + 0.5, True)],
)
def test_a_window_is_saturated_only_when_its_mean_cpu_is_above_the_limit(
    cpu: float, saturated: bool
) -> None:
    rows = window_loads(load_of(("local", 0, [(cpu - 5, 0.001), (cpu + 5, 0.001)])))
    assert len(rows) == 1 and rows[0].cpu_percent == pytest.approx(cpu)
    assert rows[0].saturated is saturated
    assert judge(rows).saturated is saturated


@pytest.mark.parametrize(
    ("lag_s", "saturated"), [(LAG_LIMIT_S - 0.001, False), (LAG_LIMIT_S, False), (0.051, True)]
)
def test_a_window_is_saturated_only_when_its_loop_lag_p95_is_above_the_limit(
    lag_s: float, saturated: bool
) -> None:
    seconds = [(10.0, 0.001)] * 9 + [(10.0, lag_s)]
    rows = window_loads(load_of(("local", 0, seconds)))
    assert rows[0].lag_p95_s == lag_s and rows[0].lag_max_s == lag_s
    assert judge(rows).saturated is saturated


def test_one_stall_in_a_window_is_not_saturation_but_shows_as_the_worst_lag() -> None:
    load = load_of(("local", 0, [(10.0, 0.001)] * 10))
    load.add(GeneratorSample("local", START_S + 10.5, 10.0, (0.5,)), 0)
    (row,) = window_loads(load)
    assert row.lag_max_s == 0.5 and row.lag_p95_s == 0.001 and not row.saturated


def test_one_missed_start_saturates_its_window_even_without_samples() -> None:
    load = load_of(("local", 0, [(10.0, 0.001)]))
    load.add_missed(2, 1)
    saturation = judge(window_loads(load))
    assert saturation.windows == (2,) and saturation.missed_starts == 1
    assert "1 starts missed in window 3 of 3" in saturation.reason


def test_the_reason_names_the_worst_figures_and_the_saturated_windows_as_ranges() -> None:
    calm, busy, laggy = [(30.0, 0.002)] * 3, [(97.0, 0.02)] * 3, [(60.0, 0.18)] * 3
    load = load_of(
        ("worker a", 0, calm),
        ("worker b", 0, calm),
        ("worker a", 1, busy),
        ("worker b", 2, laggy),
        ("worker a", 3, busy),
        ("worker a", 5, busy),
        ("worker a", 4, calm),
    )
    saturation = judge(window_loads(load))
    assert saturation.windows == (1, 2, 3, 5) and saturation.judged == 6
    assert saturation.reason == (
        "the load generator was saturated: CPU 97 % of a core, loop lag p95 180 ms in windows"
        " 2-4, 6 of 6; its latency figures measure itself"
    )


def test_a_calm_generator_is_not_saturated_and_has_no_reason() -> None:
    saturation = judge(window_loads(load_of(("local", 0, [(40.0, 0.003)] * 10))))
    assert not saturation.saturated and saturation.reason == "" and saturation.judged == 1


def test_loads_merge_exactly_across_workers_and_survive_json() -> None:
    one, two = load_of(("w1", 0, [(95.0, 0.001)] * 2)), load_of(("w2", 0, [(20.0, 0.001)]))
    one.add_missed(1, 2)
    two.add_missed(1, 3)
    merged = GeneratorLoad()
    for part in (one, two):
        merged.merge(GeneratorLoad.from_dict(json.loads(json.dumps(part.to_dict()))))
    rows = window_loads(merged)
    assert [(r.index, r.process, r.samples) for r in rows] == [
        (0, "w1", 2),
        (0, "w2", 1),
        (1, "", 0),
    ]
    assert rows[2].missed_starts == 5 and set(merged.latest) == {"w1", "w2"}


def test_live_figures_are_the_worst_latest_second() -> None:
    assert live_figures([]) is None
    figures = live_figures(
        [GeneratorSample("a", 1.0, 95.5, (0.002,)), GeneratorSample("b", 1.0, 20.0, (0.07, 0.0))]
    )
    assert figures == {
        "processes": 2,
        "cpu_percent": 95.5,
        "loop_lag_ms": 70.0,
        "saturated": True,
    }


def saturated_recorder() -> RunRecorder:
    """4 windows of 10 s; every request takes 300 ms (over the default 200 ms p95), and the
    generator is saturated in windows 2-3 (indexes 1, 2) only."""
    recorder = RunRecorder(started_at_s=START_S, window_s=10.0)
    for second in range(40):
        now_s = START_S + second + 0.5
        for _ in range(50):
            recorder.record("GET /x", 0.3, Outcome.SERVED, now_s)
        cpu = 98.0 if 10 <= second < 30 else 30.0
        recorder.record_generator(GeneratorSample("local", now_s, cpu, (0.002,) * 10))
    return recorder


def test_a_saturated_run_fails_as_invalid_without_blaming_the_service() -> None:
    stats = summarize(saturated_recorder(), duration_s=40.0)
    verdict = evaluate(default_sla(), stats, GateOptions(windowed=True))
    assert not verdict.passed and verdict.saturated_windows == (1, 2)
    assert "windows 2-3 of 4" in verdict.invalid
    by_metric = {r.metric: r for r in verdict.thresholds}
    generator = by_metric[Metric.GENERATOR]
    assert generator.ok is False and generator.detail == verdict.invalid
    for metric in (Metric.LATENCY, Metric.SLOW_RATIO, Metric.THROUGHPUT):
        if metric in by_metric:
            assert by_metric[metric].ok is None
            assert by_metric[metric].detail == (
                "not judged: the load generator was saturated in windows 2-3 of 4"
            )
    windowed = by_metric[Metric.WINDOW_LATENCY]
    assert windowed.ok is False and "2 of 2 windows failed" in windowed.detail
    assert "2 window(s) not judged" in windowed.detail
    assert [r for r in verdict.thresholds if r.ok is False] == [windowed, generator]
    table = verdict_table(verdict)
    assert table.splitlines()[-1].startswith("INVALID: the load generator was saturated")


def test_the_same_run_with_a_calm_generator_blames_the_latency() -> None:
    recorder = RunRecorder(started_at_s=START_S, window_s=10.0)
    for second in range(20):
        recorder.record("GET /x", 0.3, Outcome.SERVED, START_S + second + 0.5)
        sample = GeneratorSample("local", START_S + second + 0.5, 89.0, (0.049,) * 10)
        recorder.record_generator(sample)
    verdict = evaluate(default_sla(), summarize(recorder, duration_s=20.0), GateOptions())
    by_metric = {r.metric: r for r in verdict.thresholds}
    assert by_metric[Metric.LATENCY].ok is False and by_metric[Metric.GENERATOR].ok is True
    assert verdict.invalid == "" and "INVALID" not in verdict_table(verdict)


def test_saturation_stops_an_abort_on_fail_run_as_invalid_not_as_slow() -> None:
    stats = summarize(saturated_recorder(), duration_s=30.0)
    stopped = failed_beyond_recovery(default_sla(), stats, GateOptions(), planned_duration_s=40.0)
    assert stopped is not None and stopped.metric is Metric.GENERATOR
    assert stopped.ok is False and "windows 2-3 of 3" in stopped.detail


def test_reports_and_progress_show_the_generator_load() -> None:
    stats = summarize(saturated_recorder(), duration_s=40.0)
    verdict = evaluate(default_sla(), stats, GateOptions())
    info = RunInfo("s", "http://h", "2026-01-01T00:00:00+00:00", "closed", 5, 5.0, None, 0, "d")
    summary = json.loads(json.dumps(json_summary(info, stats, verdict), allow_nan=False))
    assert summary["invalid"] == verdict.invalid and summary["generator"]["saturated"]
    assert summary["generator"]["saturated_windows"] == [1, 2]
    assert [w["generator"]["service_judged"] for w in summary["windows"]] == [
        True,
        False,
        False,
        True,
    ]
    assert summary["windows"][1]["generator"]["cpu_percent"] == 98.0
    (rows,) = summary["generator"]["processes"].values()
    assert [r["saturated"] for r in rows] == [False, True, True, False]
    page = html_report(info, stats, verdict)
    assert "The service was not judged in windows 2, 3." in page
    assert "Generator CPU (worst process)" in page
    line = progress_line(
        elapsed_s=40.0, users=5, rps=50.0, stats=stats, verdict=verdict, percentile=0.95
    )
    assert "generator cpu 30% lag 2ms" in line and "generator FAIL" in line


def test_a_run_without_generator_samples_has_no_generator_row_in_the_closed_model() -> None:
    recorder = RunRecorder(started_at_s=START_S)
    recorder.record("GET /x", 0.01, Outcome.SERVED, START_S + 1)
    verdict = evaluate(default_sla(), summarize(recorder, duration_s=2.0), GateOptions())
    assert all(r.metric is not Metric.GENERATOR for r in verdict.thresholds)
    assert verdict.invalid == ""
    assert WindowLoad(0, "x", 1, 91.0, 0.0, 0.0).saturated
