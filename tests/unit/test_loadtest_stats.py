import json
import random

import pytest

from loadtests.stats import Outcome, RunRecorder, summarize


def fill(recorder: RunRecorder, n: int, seed: int, start: float) -> None:
    rng = random.Random(seed)
    for i in range(n):
        endpoint = rng.choice(["GET /a", "POST /b"])
        latency = rng.lognormvariate(-3, 1)
        recorder.record(
            endpoint,
            latency,
            outcome=Outcome.SERVED if rng.random() > 0.02 else Outcome.ERROR,
            now_s=start + i * 0.01,
        )


def test_merging_workers_equals_one_recorder_over_all_requests() -> None:
    whole = RunRecorder(started_at_s=100.0)
    parts = [RunRecorder(started_at_s=100.0) for _ in range(3)]
    for k, part in enumerate(parts):
        fill(part, 700 + k * 100, seed=k, start=100.0)
        fill(whole, 700 + k * 100, seed=k, start=100.0)
    merged = RunRecorder(started_at_s=100.0)
    for part in parts:
        merged.merge(RunRecorder.from_dict(json.loads(json.dumps(part.to_dict()))))
    a, b = summarize(merged, duration_s=30), summarize(whole, duration_s=30)
    assert (
        (a.requests, a.failures, a.slow)
        == (b.requests, b.failures, b.slow)
        == (
            2400,
            whole.overall.failures,
            whole.overall.slow,
        )
    )
    assert a.sketch == b.sketch
    assert a.latency == b.latency
    assert {n: e.requests for n, e in a.endpoints.items()} == {
        n: e.requests for n, e in b.endpoints.items()
    }
    assert [w.requests for w in a.windows] == [w.requests for w in b.windows]


def test_requests_fall_into_fixed_windows_from_the_start() -> None:
    recorder = RunRecorder(started_at_s=0.0, window_s=10.0)
    for t in (0.0, 9.99, 10.0, 25.0):
        recorder.record("GET /a", 0.01, outcome=Outcome.SERVED, now_s=t)
    recorder.record_users(50, now_s=12.0)
    stats = summarize(recorder, duration_s=30.0)
    assert [w.requests for w in stats.windows] == [2, 1, 1]
    assert [w.users for w in stats.windows] == [0, 50, 0]
    assert stats.windows[1].start_s == 10.0
    assert stats.windows[0].rps == pytest.approx(0.2)


def test_slow_requests_and_failures_are_counted() -> None:
    recorder = RunRecorder(started_at_s=0.0, slow_s=1.0)
    recorder.record("GET /a", 1.5, outcome=Outcome.SERVED, now_s=1)
    recorder.record("GET /a", 1.0, outcome=Outcome.SERVED, now_s=1)
    recorder.record("GET /a", 0.1, outcome=Outcome.ERROR, now_s=1)
    stats = summarize(recorder, duration_s=1.0)
    assert (stats.slow, stats.failures, stats.requests) == (1, 1, 3)
    assert stats.slow_ratio == pytest.approx(1 / 3)
    assert stats.latency.max_ms == pytest.approx(1500.0)


def test_open_model_runs_keep_raw_and_corrected_latency_apart() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    for i in range(100):
        recorder.record(
            "GET /a",
            1.2 if i < 5 else 0.01,
            outcome=Outcome.SERVED,
            now_s=i * 0.01,
            raw_latency_s=0.01,
        )
    recorder.record_missed(now_s=1.0, count=3)
    stats = summarize(recorder, duration_s=1.0)
    assert stats.latency.p99_ms == pytest.approx(1200, rel=0.01)
    assert stats.latency_raw is not None
    assert stats.latency_raw.p99_ms == pytest.approx(10, rel=0.01)
    assert stats.missed_starts == 3


def test_closed_model_runs_have_no_raw_latency() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    recorder.record("GET /a", 0.01, outcome=Outcome.SERVED, now_s=0.5)
    assert summarize(recorder, duration_s=1.0).latency_raw is None


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_impossible_latencies_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="latency_s"):
        RunRecorder(started_at_s=0.0).record("GET /a", bad, outcome=Outcome.SERVED, now_s=0.0)


def test_an_empty_run_summarizes_to_no_percentiles() -> None:
    stats = summarize(RunRecorder(started_at_s=0.0), duration_s=5.0)
    assert stats.requests == 0
    assert stats.latency.p95_ms is None
    assert stats.error_rate == 0.0 and stats.rps == 0.0


def test_a_window_target_is_the_mean_of_its_samples_and_survives_the_trip_and_merge() -> None:
    recorder = RunRecorder(started_at_s=100.0, window_s=2.0)
    for second, target in enumerate([10.0, 30.0, 50.0, 50.0, 20.0]):
        recorder.record_target(target, 100.0 + second + 0.5)
    stats = summarize(
        RunRecorder.from_dict(json.loads(json.dumps(recorder.to_dict()))), duration_s=5.0
    )
    assert [w.target for w in stats.windows] == [20.0, 50.0, 20.0]
    merged = RunRecorder(started_at_s=100.0, window_s=2.0)
    merged.merge(recorder)
    assert [w.target for w in summarize(merged, duration_s=5.0).windows] == [20.0, 50.0, 20.0]


def test_a_window_without_a_load_shape_has_no_target() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    fill(recorder, 100, seed=1, start=0.0)
    assert [w.target for w in summarize(recorder, duration_s=1.0).windows] == [None]
