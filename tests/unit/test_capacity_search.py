"""The capacity search's strategy: ramp, then bisect, to within its precision of the knee."""

from __future__ import annotations

import pytest

from runs.capacity import CapacitySearch


def search_against(knee: float, **kwargs: float) -> CapacitySearch:
    """Run the search against a service that keeps its SLA up to `knee` req/s exactly."""
    search = CapacitySearch(**kwargs)  # type: ignore[arg-type]
    while (rate := search.next_rate()) is not None:
        search.record(rate, ok=rate <= knee)
    return search


@pytest.mark.parametrize("knee", [37.0, 100.0, 333.0, 1234.5, 9_000.0])
def test_the_answer_is_within_the_precision_below_the_knee(knee: float) -> None:
    result = search_against(knee, start_rps=10.0, precision=0.05, max_probes=30).result()
    assert result.max_rate is not None and result.min_failed is not None
    assert result.max_rate <= knee < result.min_failed
    assert (result.min_failed - result.max_rate) / result.max_rate <= 0.05
    assert result.recommended == pytest.approx(0.8 * result.max_rate)


def test_the_ramp_doubles_then_the_search_bisects() -> None:
    result = search_against(100.0, start_rps=10.0, precision=0.1, max_probes=30).result()
    rates = [p.rate for p in result.probes]
    assert rates[:5] == [10.0, 20.0, 40.0, 80.0, 160.0]
    assert rates[5:] == [120.0, 100.0, 110.0]  # 100..110 is within 10 %


def test_the_probe_budget_bounds_the_search() -> None:
    result = search_against(1e9, start_rps=1.0, max_probes=4).result()
    assert [p.rate for p in result.probes] == [1.0, 2.0, 4.0, 8.0]
    assert result.max_rate == 8.0 and result.min_failed is None and not result.bounded


def test_a_first_probe_that_fails_has_no_answer() -> None:
    result = search_against(5.0, start_rps=10.0).result()
    assert len(result.probes) == 1
    assert result.max_rate is None and result.recommended is None


def test_the_ramp_stops_at_max_rps() -> None:
    result = search_against(1e9, start_rps=300.0, max_rps=1000.0, max_probes=10).result()
    assert [p.rate for p in result.probes] == [300.0, 600.0, 1000.0]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"start_rps": 0.0}, "start_rps"),
        ({"start_rps": 1.0, "factor": 1.0}, "factor"),
        ({"start_rps": 1.0, "precision": 0.0}, "precision"),
        ({"start_rps": 1.0, "max_probes": 0}, "max_probes"),
        ({"start_rps": 10.0, "max_rps": 5.0}, "max_rps"),
        ({"start_rps": 1.0, "headroom": 1.5}, "headroom"),
    ],
)
def test_a_bad_argument_is_named(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=f"^{named}: out of range"):
        CapacitySearch(**kwargs)  # type: ignore[arg-type]
