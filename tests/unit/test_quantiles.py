"""Tests for collector.quantiles: accuracy against numpy, exact counts and merges, windowing."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.quantiles import LogMapping, QuantileSketch, WindowedSketch

FLOAT_MAX = sys.float_info.max
SMALLEST_SUBNORMAL = 5e-324
STANDARD_QS = (0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)
ACCURACIES = (0.01, 0.001, 0.05, 0.25)

values_s = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-6, max_value=1e3),  # realistic latencies in seconds
    st.floats(min_value=SMALLEST_SUBNORMAL, max_value=1e-300),  # tiny, incl. subnormals
    st.floats(min_value=1e300, max_value=FLOAT_MAX),  # huge
    st.floats(min_value=0.0, max_value=FLOAT_MAX),  # anything finite and >= 0
)
samples = st.lists(values_s, min_size=1, max_size=300)
accuracies = st.sampled_from(ACCURACIES)
fast = settings(max_examples=150, deadline=None)


def exact_quantile(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=float), q, method="inverted_cdf"))


def assert_within_accuracy(estimate: float, exact: float, accuracy: float) -> None:
    # Subnormals can only be represented to within one step of the float grid (5e-324).
    assert abs(estimate - exact) <= accuracy * exact + SMALLEST_SUBNORMAL, (estimate, exact)


def sketch_of(values: Sequence[float], accuracy: float = 0.01) -> QuantileSketch:
    sketch = QuantileSketch(accuracy)
    for value in values:
        sketch.add(value)
    return sketch


def json_round_trip(data: dict[str, object]) -> Any:
    return json.loads(json.dumps(data))


# -- LogMapping --------------------------------------------------------------------------------


@fast
@given(value=st.floats(min_value=SMALLEST_SUBNORMAL, max_value=FLOAT_MAX), accuracy=accuracies)
def test_mapping_value_is_within_accuracy_of_every_value_mapped_to_its_key(
    value: float, accuracy: float
) -> None:
    mapping = LogMapping(accuracy)
    assert_within_accuracy(mapping.value(mapping.key(value)), value, accuracy)


@fast
@given(position=st.floats(min_value=0.0, max_value=1.0), accuracy=accuracies)
def test_mapping_stays_within_accuracy_at_bucket_edges_despite_float_rounding(
    position: float, accuracy: float
) -> None:
    mapping = LogMapping(accuracy)
    key = round(mapping.min_key + 10 + position * (mapping.max_key - mapping.min_key - 20))
    edge = mapping.upper_bound(key)
    for value in (math.nextafter(edge, 0.0), edge, math.nextafter(edge, math.inf)):
        if value == 0.0:  # the edge rounded to the smallest subnormal
            continue
        assert_within_accuracy(mapping.value(mapping.key(value)), value, accuracy)


@fast
@given(value=st.floats(min_value=1e-300, max_value=1e300), accuracy=accuracies)
def test_mapping_bounds_enclose_the_values_of_their_key(value: float, accuracy: float) -> None:
    mapping = LogMapping(accuracy)
    key = mapping.key(value)
    assert mapping.lower_bound(key) * (1 - 1e-12) < value <= mapping.upper_bound(key) * (1 + 1e-12)
    assert mapping.lower_bound(key) < mapping.value(key) <= mapping.upper_bound(key)


@fast
@given(
    pair=st.lists(st.floats(min_value=SMALLEST_SUBNORMAL, max_value=FLOAT_MAX), min_size=2),
    accuracy=accuracies,
)
def test_mapping_keys_never_decrease_as_values_grow(pair: list[float], accuracy: float) -> None:
    mapping = LogMapping(accuracy)
    keys = [mapping.key(value) for value in sorted(pair)]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    "value", [SMALLEST_SUBNORMAL, 1e-320, 2.2250738585072014e-308, 1e-9, 1.0, 1e300, FLOAT_MAX]
)
def test_mapping_handles_extreme_floats_within_accuracy(value: float) -> None:
    mapping = LogMapping(0.01)
    key = mapping.key(value)
    assert mapping.min_key <= key <= mapping.max_key
    assert_within_accuracy(mapping.value(key), value, 0.01)


def test_mapping_keeps_the_given_accuracy_and_a_public_multiplier() -> None:
    mapping = LogMapping(0.02)
    assert mapping.relative_accuracy == 0.02
    assert mapping.key(0.123) == math.ceil(math.log(0.123) * mapping.multiplier)
    assert mapping.upper_bound(mapping.max_key + 100) == math.inf
    assert mapping.lower_bound(mapping.min_key - 100) == 0.0


@pytest.mark.parametrize("accuracy", [0.0, 1.0, -0.01, 1.5, math.nan, math.inf, True, "0.01"])
def test_mapping_rejects_accuracy_outside_the_open_unit_interval(accuracy: Any) -> None:
    with pytest.raises(ValueError, match=r"relative_accuracy: expected a float in \(0, 1\)"):
        LogMapping(accuracy)


# -- QuantileSketch ----------------------------------------------------------------------------


@fast
@given(values=samples, accuracy=accuracies)
def test_quantiles_are_within_relative_accuracy_of_numpy_inverted_cdf(
    values: list[float], accuracy: float
) -> None:
    sketch = sketch_of(values, accuracy)
    for q in STANDARD_QS:
        assert_within_accuracy(sketch.quantile(q), exact_quantile(values, q), accuracy)


@fast
@given(values=samples, q=st.floats(min_value=0.0, max_value=1.0))
def test_quantile_at_an_arbitrary_q_is_within_relative_accuracy(
    values: list[float], q: float
) -> None:
    assert_within_accuracy(sketch_of(values).quantile(q), exact_quantile(values, q), 0.01)


@pytest.mark.parametrize("q", STANDARD_QS)
def test_quantiles_of_a_skewed_large_sample_are_within_one_percent(q: float) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(-3, 1.5, 20_000), rng.pareto(1.1, 5_000), [0.0] * 50])
    sketch = sketch_of(values.tolist())
    assert_within_accuracy(sketch.quantile(q), exact_quantile(values.tolist(), q), 0.01)


@fast
@given(values=samples)
def test_count_and_zero_count_are_exact(values: list[float]) -> None:
    sketch = sketch_of(values)
    assert sketch.count == len(values)
    assert sketch.zero_count == values.count(0.0)
    assert sum(sketch.bins.values()) + sketch.zero_count == len(values)


def test_add_with_a_count_equals_adding_the_value_that_many_times() -> None:
    bulk = QuantileSketch()
    bulk.add(0.25, count=3)
    bulk.add(0.0, count=2)
    assert bulk == sketch_of([0.25, 0.25, 0.25, 0.0, 0.0])
    assert bulk.count == 5


@fast
@given(values=samples)
def test_add_bins_of_precomputed_keys_equals_adding_each_value(values: list[float]) -> None:
    sketch = sketch_of(values)
    bulk = QuantileSketch()
    bulk.add_bins(dict(sketch.bins), sketch.zero_count)
    assert bulk == sketch
    assert bulk.count == sketch.count


@fast
@given(first=samples, second=samples, accuracy=accuracies)
def test_merge_of_two_sketches_equals_one_sketch_over_all_samples(
    first: list[float], second: list[float], accuracy: float
) -> None:
    merged = sketch_of(first, accuracy)
    merged.merge(sketch_of(second, accuracy))
    combined = sketch_of(first + second, accuracy)
    assert merged == combined
    assert merged.count == combined.count
    for q in STANDARD_QS:
        assert merged.quantile(q) == combined.quantile(q)


@fast
@given(first=samples, second=samples)
def test_merge_after_a_json_round_trip_is_exact(first: list[float], second: list[float]) -> None:
    restored = QuantileSketch.from_dict(json_round_trip(sketch_of(first).to_dict()))
    assert restored == sketch_of(first)
    restored.merge(QuantileSketch.from_dict(json_round_trip(sketch_of(second).to_dict())))
    assert restored == sketch_of(first + second)
    assert restored.count == len(first) + len(second)


def test_merging_a_sketch_into_itself_doubles_every_count() -> None:
    sketch = sketch_of([0.0, 0.1, 0.1, 3.0])
    sketch.merge(sketch)
    assert sketch == sketch_of([0.0, 0.1, 0.1, 3.0] * 2)


def test_merge_rejects_a_sketch_with_a_different_accuracy() -> None:
    with pytest.raises(ValueError, match="relative_accuracy"):
        QuantileSketch(0.01).merge(QuantileSketch(0.02))


def test_empty_sketch_has_count_zero_and_nan_quantiles() -> None:
    sketch = QuantileSketch()
    assert sketch.count == 0
    assert all(math.isnan(sketch.quantile(q)) for q in STANDARD_QS)


def test_bins_view_is_read_only() -> None:
    sketch = sketch_of([0.5])
    with pytest.raises(TypeError):
        sketch.bins[0] = 1  # type: ignore[index]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1e-9, -0.5])
def test_add_rejects_nan_infinite_and_negative_values(value: float) -> None:
    sketch = QuantileSketch()
    with pytest.raises(ValueError, match="expected a finite value >= 0, got"):
        sketch.add(value)
    assert sketch.count == 0


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_add_rejects_a_count_that_is_not_a_positive_integer(count: Any) -> None:
    with pytest.raises(ValueError, match="count: expected an integer >= 1"):
        QuantileSketch().add(0.1, count)


@pytest.mark.parametrize("q", [-0.01, 1.01, math.nan, math.inf])
def test_quantile_rejects_q_outside_the_unit_interval(q: float) -> None:
    with pytest.raises(ValueError, match=r"q: expected a quantile in \[0, 1\]"):
        sketch_of([1.0]).quantile(q)
    with pytest.raises(ValueError, match=r"q: expected a quantile in \[0, 1\]"):
        WindowedSketch().quantile(q, 0.0)


def test_to_dict_is_json_safe_with_sorted_string_keys() -> None:
    data = sketch_of([0.0, 2.0, 0.001, 2.0]).to_dict()
    assert json_round_trip(data) == data
    assert data["relative_accuracy"] == 0.01
    assert data["zero_count"] == 1
    bins = data["bins"]
    assert isinstance(bins, dict)
    assert list(bins) == sorted(bins, key=int)
    assert sorted(bins.values()) == [1, 2]


def _sketch_payload(**changes: object) -> dict[str, object]:
    payload = sketch_of([0.0, 0.2, 0.3]).to_dict()
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not _DELETE}


_DELETE = object()
BAD_SKETCH_PAYLOADS: list[tuple[Callable[[], object], str]] = [
    (lambda: [1, 2], "data: expected a mapping"),
    (lambda: _sketch_payload(bins=_DELETE), "bins: missing"),
    (lambda: _sketch_payload(extra=1), "extra: unknown field"),
    (lambda: _sketch_payload(relative_accuracy=0), "relative_accuracy: expected a float"),
    (lambda: _sketch_payload(relative_accuracy="0.01"), "relative_accuracy: expected a float"),
    (lambda: _sketch_payload(relative_accuracy=True), "relative_accuracy: expected a float"),
    (lambda: _sketch_payload(zero_count=-1), "zero_count: expected an integer >= 0"),
    (lambda: _sketch_payload(zero_count=1.5), "zero_count: expected an integer >= 0"),
    (lambda: _sketch_payload(bins=[1, 2]), "bins: expected a mapping"),
    (lambda: _sketch_payload(bins={"1.5": 1}), "bins: expected integer keys as strings"),
    (lambda: _sketch_payload(bins={"abc": 1}), "bins: expected integer keys as strings"),
    (lambda: _sketch_payload(bins={" 7": 1}), "bins: expected integer keys as strings"),
    (lambda: _sketch_payload(bins={"07": 1}), "bins: expected integer keys as strings"),
    (lambda: _sketch_payload(bins={"1_0": 1}), "bins: expected integer keys as strings"),
    (lambda: _sketch_payload(bins={"99999999": 1}), "bins: key '99999999' is outside"),
    (lambda: _sketch_payload(bins={"7": -1}), r"bins\['7'\]: expected an integer >= 0"),
    (lambda: _sketch_payload(bins={"7": "3"}), r"bins\['7'\]: expected an integer >= 0"),
    (lambda: _sketch_payload(bins={"7": True}), r"bins\['7'\]: expected an integer >= 0"),
]


@pytest.mark.parametrize(("make_payload", "message"), BAD_SKETCH_PAYLOADS)
def test_from_dict_rejects_a_bad_payload_naming_the_field(
    make_payload: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        QuantileSketch.from_dict(make_payload())


# -- WindowedSketch ----------------------------------------------------------------------------


@fast
@given(values=samples, now_s=st.floats(min_value=0.0, max_value=2e9))
def test_windowed_sketch_within_one_second_equals_a_quantile_sketch(
    values: list[float], now_s: float
) -> None:
    windowed = WindowedSketch(window_s=60)
    for value in values:
        windowed.observe(value, now_s)
    assert windowed.window(now_s) == sketch_of(values)
    assert windowed.count(now_s) == len(values)
    for q in STANDARD_QS:
        assert_within_accuracy(windowed.quantile(q, now_s), exact_quantile(values, q), 0.01)


timelines = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=100.0), st.floats(min_value=-3.0, max_value=4.0)),
    min_size=1,
    max_size=150,
)


@fast
@given(steps=timelines, window_s=st.integers(min_value=1, max_value=8))
def test_windowed_sketch_matches_a_brute_force_window_over_a_jittery_timeline(
    steps: list[tuple[float, float]], window_s: int
) -> None:
    """Time drifts forward with random steps back (late samples) and forward (gaps)."""
    windowed = WindowedSketch(window_s=window_s)
    observed: list[tuple[float, int]] = []
    latest = -(10**9)
    dropped = 0
    now_s = 1000.0
    for value, step_s in steps:
        now_s += step_s
        second = math.floor(now_s)
        dropped += second <= latest - window_s
        latest = max(latest, second)
        windowed.observe(value, now_s)
        observed.append((value, second))
    in_window = [value for value, second in observed if latest - window_s < second <= latest]
    assert windowed.dropped == dropped
    assert windowed.count(now_s) == len(in_window)
    assert windowed.window(now_s) == sketch_of(in_window)
    for q in STANDARD_QS:
        estimate = windowed.quantile(q, now_s)
        if in_window:
            assert_within_accuracy(estimate, exact_quantile(in_window, q), 0.01)
        else:
            assert math.isnan(estimate)


def test_samples_older_than_the_window_are_excluded() -> None:
    windowed = WindowedSketch(window_s=10)
    windowed.observe(1.0, 100.5)
    windowed.observe(2.0, 105.0)
    assert windowed.count(109.999) == 2  # window 100..109
    assert windowed.count(110.0) == 1  # window 101..110: the 100.5 sample expired
    assert_within_accuracy(windowed.quantile(0.0, 110.0), 2.0, 0.01)
    assert windowed.count(115.0) == 0
    assert math.isnan(windowed.quantile(0.5, 115.0))


def test_late_sample_inside_the_window_is_kept_in_its_own_second() -> None:
    windowed = WindowedSketch(window_s=10)
    windowed.observe(1.0, 100.5)
    windowed.observe(2.0, 95.2)  # late but inside 91..100
    windowed.observe(3.0, 90.9)  # second 90 is outside the window: dropped
    assert windowed.count(100.5) == 2
    assert windowed.dropped == 1
    slots = windowed.to_dict()["slots"]
    assert isinstance(slots, list)
    assert [slot["second"] for slot in slots] == [95, 100]
    assert windowed.count(105.0) == 1  # second 95 expires once the window is 96..105


def test_jump_forward_by_at_least_the_window_clears_everything() -> None:
    windowed = WindowedSketch(window_s=60)
    for i in range(600):
        windowed.observe(0.001 * (i + 1), 1000.0 + i / 10)
    assert windowed.count(1059.9) == 600
    windowed.observe(0.5, 1119.0)  # window 1060..1119 holds nothing older
    assert windowed.count(1119.0) == 1
    assert windowed.window(1119.0) == sketch_of([0.5])
    assert windowed.count(10**9) == 0


def test_jump_forward_by_less_than_the_window_keeps_recent_slots() -> None:
    windowed = WindowedSketch(window_s=5)
    for second in range(10, 15):
        windowed.observe(float(second), second + 0.5)
    assert windowed.count(17.0) == 2  # window 13..17
    assert windowed.window(17.0) == sketch_of([13.0, 14.0])


def test_query_earlier_than_the_latest_second_uses_the_latest_window() -> None:
    windowed = WindowedSketch(window_s=5)
    windowed.observe(1.0, 10.0)
    windowed.observe(2.0, 20.0)
    assert windowed.count(12.0) == 1
    assert windowed.window(12.0) == sketch_of([2.0])


def test_zero_values_are_counted_exactly_in_the_window() -> None:
    windowed = WindowedSketch(window_s=3)
    windowed.observe(0.0, 1.0)
    windowed.observe(0.0, 2.0)
    windowed.observe(0.5, 2.0)
    assert windowed.window(2.0).zero_count == 2
    assert windowed.quantile(0.5, 2.0) == 0.0
    assert windowed.window(4.0).zero_count == 1


@fast
@given(values=samples, seconds=st.lists(st.integers(min_value=0, max_value=20), min_size=1))
def test_add_bins_equals_observing_each_value_in_that_second(
    values: list[float], seconds: list[int]
) -> None:
    observed = WindowedSketch(window_s=10)
    bulk = WindowedSketch(window_s=10)
    for second in seconds:
        per_second = sketch_of(values)
        for value in values:
            observed.observe(value, second + 0.25)
        bulk.add_bins(per_second.bins, per_second.zero_count, float(second))
    assert bulk == observed
    assert bulk.dropped == observed.dropped


def _timeline(draw_values: list[float], start_s: float, step_s: float) -> list[tuple[float, float]]:
    return [(value, start_s + i * step_s) for i, value in enumerate(draw_values)]


@fast
@given(
    first=samples,
    second=samples,
    starts=st.tuples(st.floats(0.0, 50.0), st.floats(0.0, 50.0)),
    steps=st.tuples(st.floats(0.0, 0.7), st.floats(0.0, 0.7)),
    window_s=st.integers(min_value=1, max_value=20),
)
def test_merge_of_windowed_sketches_equals_one_sketch_over_all_samples(
    first: list[float],
    second: list[float],
    starts: tuple[float, float],
    steps: tuple[float, float],
    window_s: int,
) -> None:
    timeline_a = _timeline(first, starts[0], steps[0])
    timeline_b = _timeline(second, starts[1], steps[1])
    process_a, process_b, single = (WindowedSketch(window_s) for _ in range(3))
    for value, now_s in timeline_a:
        process_a.observe(value, now_s)
    for value, now_s in timeline_b:
        process_b.observe(value, now_s)
    for value, now_s in sorted(timeline_a + timeline_b, key=lambda sample: sample[1]):
        single.observe(value, now_s)
    restored_a = WindowedSketch.from_dict(json_round_trip(process_a.to_dict()))
    restored_b = WindowedSketch.from_dict(json_round_trip(process_b.to_dict()))
    assert restored_a == process_a
    process_a.merge(process_b)
    restored_a.merge(restored_b)
    assert process_a == single
    assert restored_a == single
    now_s = max(starts[0] + steps[0] * len(first), starts[1] + steps[1] * len(second))
    assert process_a.count(now_s) == single.count(now_s)
    for q in STANDARD_QS:
        assert process_a.quantile(q, now_s) == pytest.approx(single.quantile(q, now_s), nan_ok=True)


def test_windowed_json_round_trip_keeps_slots_latest_second_and_dropped() -> None:
    windowed = WindowedSketch(window_s=10, relative_accuracy=0.02)
    windowed.observe(0.0, 100.1)
    windowed.observe(0.3, 104.0)
    windowed.observe(0.4, 103.0)
    windowed.observe(0.5, 50.0)  # dropped
    data = windowed.to_dict()
    restored = WindowedSketch.from_dict(json_round_trip(data))
    assert restored.to_dict() == data
    assert restored.dropped == 1
    assert restored.window_s == 10 and restored.relative_accuracy == 0.02
    assert WindowedSketch.from_dict(json_round_trip(WindowedSketch().to_dict())) == WindowedSketch()


def test_windowed_merge_rejects_a_different_window_or_accuracy() -> None:
    with pytest.raises(ValueError, match="window_s"):
        WindowedSketch(60).merge(WindowedSketch(30))
    with pytest.raises(ValueError, match="relative_accuracy"):
        WindowedSketch(60, 0.01).merge(WindowedSketch(60, 0.02))


@pytest.mark.parametrize("window_s", [0, -5, 1.5, True, "60", None])
def test_windowed_sketch_rejects_a_window_that_is_not_a_positive_integer(window_s: Any) -> None:
    with pytest.raises(ValueError, match="window_s: expected an integer >= 1"):
        WindowedSketch(window_s)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0])
def test_observe_rejects_nan_infinite_and_negative_values(value: float) -> None:
    windowed = WindowedSketch()
    with pytest.raises(ValueError, match="value_s: expected a finite value >= 0, got"):
        windowed.observe(value, 10.0)
    assert windowed.count(10.0) == 0


@pytest.mark.parametrize("now_s", [math.nan, math.inf, -math.inf])
def test_observe_rejects_a_non_finite_time(now_s: float) -> None:
    for value in (0.0, 0.1):
        with pytest.raises(ValueError, match="now_s: expected a finite time in seconds"):
            WindowedSketch().observe(value, now_s)


def _window_payload(**changes: object) -> dict[str, object]:
    windowed = WindowedSketch(window_s=10)
    windowed.observe(0.2, 100.0)
    windowed.observe(0.3, 101.0)
    payload = windowed.to_dict()
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not _DELETE}


def _slot(second: object, bins: object = None, zero_count: object = 0) -> dict[str, object]:
    return {"second": second, "zero_count": zero_count, "bins": bins or {"7": 1}}


BAD_WINDOW_PAYLOADS: list[tuple[Callable[[], object], str]] = [
    (lambda: "slots", "data: expected a mapping"),
    (lambda: _window_payload(window_s=0), "window_s: expected an integer >= 1"),
    (lambda: _window_payload(window_s=_DELETE), "window_s: missing"),
    (lambda: _window_payload(relative_accuracy=2.0), "relative_accuracy: expected a float"),
    (lambda: _window_payload(second="101"), "second: expected an integer"),
    (lambda: _window_payload(dropped=-1), "dropped: expected an integer >= 0"),
    (lambda: _window_payload(slots={"0": 1}), "slots: expected a list"),
    (lambda: _window_payload(slots=[[]]), r"slots\[0\]\.: expected a mapping"),
    (lambda: _window_payload(slots=[{"second": 101}]), r"slots\[0\]\.bins: missing"),
    (lambda: _window_payload(slots=[_slot(102)]), r"slots\[0\]\.second: 102 is repeated or out"),
    (lambda: _window_payload(slots=[_slot(91)]), r"slots\[0\]\.second: 91 is repeated or out"),
    (lambda: _window_payload(slots=[_slot(95), _slot(95)]), r"slots\[1\]\.second: 95 is repe"),
    (lambda: _window_payload(second=None), r"slots\[0\]\.second: 100 is repeated or outside"),
    (lambda: _window_payload(slots=[_slot(95, {"x": 1})]), r"slots\[0\]\.bins: expected integ"),
    (lambda: _window_payload(slots=[_slot(95, zero_count=-2)]), r"slots\[0\]\.zero_count"),
]


@pytest.mark.parametrize(("make_payload", "message"), BAD_WINDOW_PAYLOADS)
def test_windowed_from_dict_rejects_a_bad_payload_naming_the_field(
    make_payload: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WindowedSketch.from_dict(make_payload())


@pytest.mark.parametrize(
    ("bins", "zero_count", "message"),
    [
        ({1.5: 1}, 0, "bins key: expected an integer"),
        ({7: -1}, 0, r"bins\[7\]: expected an integer >= 0"),
        ({10**9: 1}, 0, "bins: key 1000000000 is outside"),
        ({7: 1}, -1, "zero_count: expected an integer >= 0"),
        ([7], 0, "bins: expected a mapping"),
    ],
)
def test_add_bins_rejects_bad_keys_and_counts(bins: Any, zero_count: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuantileSketch().add_bins(bins, zero_count)
    with pytest.raises(ValueError, match=message):
        WindowedSketch().add_bins(bins, zero_count, 1.0)
