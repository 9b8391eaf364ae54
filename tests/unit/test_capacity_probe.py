"""A capacity probe is a staged open-model run: a ramp, then a hold that alone is judged."""

from __future__ import annotations

import pytest

from loadtests.judged import OUTSIDE
from loadtests.options import LoadTestOptions
from loadtests.stages import Stage, Stages
from runs.capacity_probe import ProbeShape, default_ramp_s, probe_options, probe_shape
from tests.run_results import make_probe_result

OPTIONS = LoadTestOptions(scenario="course", host="http://127.0.0.1:8101", rate=1.0)


@pytest.mark.parametrize(
    ("probe_s", "ramp_s"),
    [(30.0, 6.0), (5.0, 1.0), (2.0, 0.4), (50.0, 10.0), (300.0, 10.0)],
)
def test_the_default_ramp_is_a_fifth_of_the_probe_at_most_10_s(
    probe_s: float, ramp_s: float
) -> None:
    assert default_ramp_s(probe_s) == ramp_s
    assert probe_shape(100.0, from_rps=0.0, probe_s=probe_s).ramp_s == ramp_s


def test_a_probe_ramps_from_the_given_rate_then_holds_its_own() -> None:
    shape = probe_shape(40.0, from_rps=20.0, probe_s=30.0)
    assert shape == ProbeShape(rate=40.0, from_rps=20.0, ramp_s=6.0, hold_s=24.0)
    stages = shape.stages
    assert stages == Stages((Stage(0.0, 20.0), Stage(6.0, 40.0), Stage(24.0, 40.0)))
    assert [stages.target_at(t) for t in (0.0, 3.0, 6.0, 29.0)] == [20.0, 30.0, 40.0, 40.0]
    # Requests due by the end: the ramp's trapezoid plus the hold.
    assert stages.cumulative(30.0) == pytest.approx((20 + 40) / 2 * 6 + 40 * 24)


def test_a_probe_s_options_are_the_staged_shape_judged_over_the_hold() -> None:
    shape = probe_shape(40.0, from_rps=20.0, probe_s=30.0)
    options = probe_options(OPTIONS, shape)
    assert options.model == "open" and options.rate == 40.0, "the open model at the peak"
    assert options.duration_s == 30.0
    assert options.shape() == shape.stages, "the child process reads the same stages back"
    assert (options.judge_from_s, options.judge_until_s) == (6.0, 30.0), "the hold"
    assert options.window_s == 6.0, "the ramp is exactly the first window"
    gate = options.gate_options()
    assert (gate.judge_from_s, gate.judge_until_s, gate.offered_rps) == (6.0, 30.0, 40.0)
    assert gate.windowed, "every window of the hold is judged on its own too"
    assert options.pool_size() == 80, "connections for the probe's rate, not the ramp's"


def test_without_a_ramp_the_probe_steps_to_its_rate_and_the_whole_run_is_judged() -> None:
    shape = probe_shape(40.0, from_rps=20.0, probe_s=30.0, ramp_s=0.0)
    assert shape.stages == Stages((Stage(0.0, 40.0), Stage(30.0, 40.0)))
    options = probe_options(OPTIONS, shape)
    assert (options.judge_from_s, options.judge_until_s) == (0.0, None)
    assert options.window_s is None, "the options' own windows"
    assert options.gate_options().windowed is False


@pytest.mark.parametrize(
    ("rate", "from_rps", "probe_s", "ramp_s", "bad"),
    [
        (0.0, 0.0, 30.0, None, "rate"),
        (40.0, 50.0, 30.0, None, "from_rps"),
        (40.0, -1.0, 30.0, None, "from_rps"),
        (40.0, 0.0, 0.0, 1.0, "probe_s"),
        (40.0, 0.0, 30.0, 30.0, "ramp_s"),
        (40.0, 0.0, 30.0, -1.0, "ramp_s"),
    ],
)
def test_a_bad_shape_names_its_argument(
    rate: float, from_rps: float, probe_s: float, ramp_s: float | None, bad: str
) -> None:
    with pytest.raises(ValueError, match=f"^{bad}: out of range"):
        probe_shape(rate, from_rps=from_rps, probe_s=probe_s, ramp_s=ramp_s)


def test_the_gate_judges_the_hold_and_not_the_ramp() -> None:
    # The ramp's requests all fail slowly (400 ms, SLA errors); the hold's are fast. The
    # SLA (p95 < 200 ms, errors < 1 %) is kept in the hold, broken over the whole run.
    shape = probe_shape(50.0, from_rps=0.0, probe_s=10.0, ramp_s=2.0)
    result = make_probe_result(probe_options(OPTIONS, shape), ramp_s=2.0)
    assert result.stats is not None and result.verdict is not None
    assert result.stats.error_rate > 0.05, "over the whole run the SLA is broken"
    assert result.verdict.passed, result.verdict.thresholds
    windows = result.verdict.windows
    assert windows is not None
    assert windows.judged == (1, 2, 3, 4) and windows.not_judged == ((0, OUTSIDE),)
