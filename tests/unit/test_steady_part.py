"""The part of a run the client-vs-server p95 comparison uses: after the ramp-up."""

import pytest

from loadtests.stats import Outcome, RunRecorder, steady_part, summarize

STARTED_S = 500.0


def ramped_run() -> RunRecorder:
    """30 s at 10 req/s, 10 s windows: 200 ms during the first 10 s, then 5 ms."""
    recorder = RunRecorder(started_at_s=STARTED_S, window_s=10.0, slow_s=1.0)
    for i in range(300):
        at_s = STARTED_S + i * 0.1
        recorder.record("GET /x", 0.2 if i < 100 else 0.005, outcome=Outcome.SERVED, now_s=at_s)
    return recorder


def test_after_a_ramp_up_only_the_windows_that_start_after_it_count() -> None:
    stats = summarize(ramped_run(), duration_s=30.0)
    from_s, sketch = steady_part(stats, 10.0)
    assert from_s == 10.0
    assert sketch.count == 200
    assert sketch.quantile(0.95) == pytest.approx(0.005, rel=0.01)
    assert stats.sketch.quantile(0.95) == pytest.approx(0.2, rel=0.01)  # the whole run


def test_a_ramp_up_between_window_starts_begins_at_the_next_window() -> None:
    from_s, sketch = steady_part(summarize(ramped_run(), duration_s=30.0), 12.0)
    assert (from_s, sketch.count) == (20.0, 100)


@pytest.mark.parametrize("ramp_up_s", [None, 0.0, 60.0])
def test_without_a_ramp_up_or_a_window_after_it_the_whole_run_counts(
    ramp_up_s: float | None,
) -> None:
    stats = summarize(ramped_run(), duration_s=30.0)
    from_s, sketch = steady_part(stats, ramp_up_s)
    assert (from_s, sketch.count) == (0.0, 300)
