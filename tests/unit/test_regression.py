"""Regression detection: noise is not a regression, real slowdowns are, thin data is not judged."""

from __future__ import annotations

import pytest

from loadtests.outcomes import Outcome
from loadtests.regression import (
    Regression,
    RegressionRule,
    RunFigures,
    compare,
)
from loadtests.stats import RunRecorder, summarize


def run(
    p95_ms: float = 100.0,
    rps: float = 500.0,
    failures: int = 0,
    requests: int = 10_000,
    p50_ms: float = 40.0,
    p99_ms: float = 200.0,
) -> RunFigures:
    return RunFigures(
        requests=requests,
        failures=failures,
        p50_s=p50_ms / 1000,
        p95_s=p95_ms / 1000,
        p99_s=p99_ms / 1000,
        error_ratio=failures / requests,
        rps=rps,
    )


STEADY = [
    run(p95_ms=v, rps=r) for v, r in [(98, 505), (100, 500), (103, 495), (101, 498), (99, 502)]
]
NOISY = [run(p95_ms=v) for v in (80, 120, 95, 140, 100)]


@pytest.mark.parametrize(
    ("current", "baseline", "expected", "regressed"),
    [
        pytest.param(run(p95_ms=104), STEADY, Regression.OK, (), id="within tolerance"),
        pytest.param(run(p95_ms=125), STEADY, Regression.REGRESSED, ("p95_s",), id="p95 +25%"),
        pytest.param(run(p95_ms=125), NOISY, Regression.OK, (), id="p95 +25% but noisy base"),
        pytest.param(run(p95_ms=200), NOISY, Regression.REGRESSED, ("p95_s",), id="p95 x2 noisy"),
        pytest.param(run(rps=400), STEADY, Regression.REGRESSED, ("rps",), id="rps -20%"),
        pytest.param(run(rps=600), STEADY, Regression.IMPROVED, (), id="rps +20%"),
        pytest.param(
            run(failures=300), STEADY, Regression.REGRESSED, ("error_ratio",), id="3% err"
        ),
        pytest.param(run(failures=3), STEADY, Regression.OK, (), id="3 errors: too few"),
        pytest.param(run(p95_ms=500), STEADY[:2], Regression.NO_BASELINE, (), id="2 runs"),
        pytest.param(
            run(p95_ms=500, requests=50), STEADY, Regression.INSUFFICIENT_DATA, (), id="50 reqs"
        ),
    ],
)
def test_the_rule_tells_regressions_from_noise(
    current: RunFigures,
    baseline: list[RunFigures],
    expected: Regression,
    regressed: tuple[str, ...],
) -> None:
    report = compare(current, baseline)
    assert report.verdict is expected
    assert tuple(f.name for f in report.regressed) == regressed
    assert report.baseline_runs == len(baseline)


def test_a_change_inside_the_sketch_accuracy_never_counts() -> None:
    """With no tolerance and a perfectly flat baseline, 1.5 % is within 2 x 1 % accuracy."""
    rule = RegressionRule(tolerance=0.0)
    flat = [run(p95_ms=100)] * 3
    assert compare(run(p95_ms=101.5), flat, rule).verdict is Regression.OK
    assert compare(run(p95_ms=103), flat, rule).verdict is Regression.REGRESSED


def test_the_baseline_is_the_median_so_one_outlier_does_not_move_it() -> None:
    baseline = [*STEADY, run(p95_ms=5000)]
    p95 = next(f for f in compare(run(p95_ms=104), baseline).figures if f.name == "p95_s")
    assert p95.baseline == pytest.approx(0.1005)
    assert p95.verdict is Regression.OK
    assert p95.change == pytest.approx(104 / 100.5 - 1)


def test_figures_from_stats_and_from_the_json_summary_agree() -> None:
    from loadtests.gate import Verdict
    from loadtests.report import RunInfo, json_summary

    recorder = RunRecorder(started_at_s=0.0)
    for i in range(1000):
        outcome = Outcome.ERROR if i % 50 == 0 else Outcome.SERVED
        recorder.record("GET /x", (i % 100 + 1) / 1000, outcome=outcome, now_s=i / 100)
    stats = summarize(recorder, duration_s=10.0)
    info = RunInfo("s", "http://h", "2026-01-01T00:00:00+00:00", "open", None, None, 100, 0, "x")
    from_stats = RunFigures.from_stats(stats)
    from_summary = RunFigures.from_summary(json_summary(info, stats, Verdict((), False)))
    assert from_stats.requests == from_summary.requests == 1000
    assert from_stats.failures == 20
    assert from_summary.p95_s == pytest.approx(from_stats.p95_s, rel=1e-3)
    assert from_summary.rps == pytest.approx(100.0)
