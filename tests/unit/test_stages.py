"""Load shapes as stages: parsing, interpolation (k6 semantics), integral and its inverse."""

from __future__ import annotations

import pytest

from loadtests.stages import Stage, Stages, StagesError, parse_stage_duration, parse_stages

SHAPE = parse_stages("10s:100,20s:100,0s:300,10s:0")
"""Ramp 0 -> 100 over 10 s, hold 20 s, jump to 300, ramp down to 0 over 10 s."""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("2m", 120.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1.5m", 90.0),
        ("250ms", 0.25),
        ("0s", 0.0),
        (" 45s ", 45.0),
    ],
)
def test_stage_durations_accept_compound_units(text: str, seconds: float) -> None:
    assert parse_stage_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30", "s", "30x", "1h 30m", "-5s", "30s!", "m30"])
def test_a_bad_stage_duration_says_what_was_expected(text: str) -> None:
    with pytest.raises(StagesError, match="expected a duration like 30s, 2m or 1h30m"):
        parse_stage_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30s:100,2m500", "stage 2 '2m500': expected DURATION:TARGET"),
        ("30s:100,2x:500", "stage 2 '2x:500': expected a duration like 30s"),
        ("30s:-1", "stage 1 '30s:-1': expected a target >= 0, got '-1'"),
        ("30s:lots", "stage 1 '30s:lots': expected a target >= 0, got 'lots'"),
        ("30s:nan", "expected a target >= 0, got 'nan'"),
        ("30s:inf", "expected a target >= 0, got 'inf'"),
        ("30s:1,", "stage 2 '': expected DURATION:TARGET"),
        ("0s:100", "the stages last 0 s"),
    ],
)
def test_a_bad_stage_is_named_with_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(StagesError) as caught:
        parse_stages(text)
    assert message in str(caught.value)


def test_the_example_from_the_issue_parses_to_its_stages() -> None:
    stages = parse_stages("30s:100,2m:500,30s:1500,1m:0")
    assert stages.stages == (
        Stage(30.0, 100.0),
        Stage(120.0, 500.0),
        Stage(30.0, 1500.0),
        Stage(60.0, 0.0),
    )
    assert (stages.total_s, stages.peak) == (240.0, 1500.0)


@pytest.mark.parametrize(
    ("t", "target"),
    [
        (-1.0, 0.0),
        (0.0, 0.0),
        (5.0, 50.0),
        (10.0, 100.0),
        (25.0, 100.0),
        (29.999, 100.0),
        (30.0, 300.0),  # a 0s stage jumps at once
        (35.0, 150.0),
        (40.0, 0.0),
        (99.0, 0.0),  # after the end: the last target
    ],
)
def test_the_target_ramps_linearly_from_the_previous_stage(t: float, target: float) -> None:
    assert SHAPE.target_at(t) == pytest.approx(target, abs=0.05)


def test_the_first_stage_ramps_from_zero_and_the_last_target_holds_after_the_end() -> None:
    stages = parse_stages("4s:40,2s:10")
    assert [stages.target_at(t) for t in (0, 1, 2, 4, 5, 6, 7)] == [0, 10, 20, 40, 25, 10, 10]


@pytest.mark.parametrize(
    ("t", "due"),
    [(0.0, 0.0), (10.0, 500.0), (20.0, 1500.0), (30.0, 2500.0), (35.0, 3625.0), (40.0, 4000.0)],
)
def test_the_cumulative_target_is_the_area_under_the_shape(t: float, due: float) -> None:
    assert SHAPE.cumulative(t) == pytest.approx(due)


def test_the_mean_over_a_window_is_exact_on_a_ramp_and_a_hold() -> None:
    assert SHAPE.mean_between(0.0, 10.0) == pytest.approx(50.0)
    assert SHAPE.mean_between(10.0, 30.0) == pytest.approx(100.0)
    assert SHAPE.mean_between(25.0, 35.0) == pytest.approx((500 + 1125) / 10)
    assert SHAPE.mean_between(12.0, 12.0) == pytest.approx(100.0)


@pytest.mark.parametrize("index", [0, 1, 2, 17, 499, 500, 501, 1500, 2600, 3625, 3999])
def test_request_i_is_due_where_the_cumulative_target_reaches_i(index: int) -> None:
    at = SHAPE.arrival_s(index)
    assert at is not None and 0.0 <= at <= SHAPE.total_s
    assert SHAPE.cumulative(at) == pytest.approx(index, abs=1e-6)


def test_arrivals_are_in_order_and_stop_when_the_shape_falls_to_zero() -> None:
    times = [t for i in range(4000) if (t := SHAPE.arrival_s(i)) is not None]
    assert len(times) == 4000 and times == sorted(times)
    assert SHAPE.arrival_s(4001) is None


def test_arrivals_continue_at_the_last_target_after_the_end() -> None:
    stages = parse_stages("2s:10")  # 10 requests by 2 s, then 10 req/s
    assert stages.arrival_s(10) == pytest.approx(2.0)
    assert stages.arrival_s(15) == pytest.approx(2.5)


def test_a_constant_shape_spaces_requests_evenly() -> None:
    stages = parse_stages("0s:20,5s:20")
    assert [stages.arrival_s(i) for i in range(4)] == pytest.approx([0.0, 0.05, 0.1, 0.15])


@pytest.mark.parametrize(
    ("t", "tick"),
    [
        (0.0, (0, 20.0)),
        (5.0, (50, 20.0)),
        (20.0, (100, 1.0)),  # holding: Locust's minimum
        (29.5, (100, 370.0)),  # the step to 300 is less than a second away
        (30.5, (285, 370.0)),
        (40.0, None),
    ],
)
def test_a_users_tick_follows_the_ramp_and_ends_with_the_stages(
    t: float, tick: tuple[int, float] | None
) -> None:
    assert SHAPE.users_tick(t) == tick


def test_spec_and_scaling_round_trip() -> None:
    stages = parse_stages("30s:100,1m30s:33.3,0.5s:0")
    assert parse_stages(stages.spec) == stages
    half = stages.scaled(0.5)
    assert [s.target for s in half.stages] == pytest.approx([50.0, 16.65, 0.0])
    assert half.total_s == stages.total_s


def test_no_stages_is_an_error() -> None:
    with pytest.raises(StagesError, match="at least one stage"):
        Stages.of([])
