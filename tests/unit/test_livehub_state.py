"""livehub.state: exact merges per service and in total, down targets, SLA status."""

from __future__ import annotations

import json
import random

import pytest

from collector.quantiles import QuantileSketch
from collector.sla import parse_sla
from collector.snapshot import PoolSample, Snapshot
from livehub.message import Status, TargetState
from livehub.state import CLIENT_SERVICES, TOTAL, HubState, snapshot_url
from loadtests.live import LIVE_SERVICE

SLA = parse_sla(
    """
version: 1
objectives:
  latency: {percentile: p95, threshold: 200ms}
  error_rate: 1%
  availability: 99.9%
  throughput: 100/s
services:
  slowpoke:
    objectives:
      latency: {threshold: 1s}
      throughput: null
""",
    source="test-sla.yaml",
)
A, B, C, G = (f"http://127.0.0.1:{port}" for port in (9001, 9002, 9003, 9004))


def sketch_of(values: list[float]) -> QuantileSketch:
    sketch = QuantileSketch()
    for value in values:
        sketch.add(value)
    return sketch


def snapshot(
    service: str,
    values: list[float],
    *,
    errors: int = 0,
    at_s: float = 1_000.0,
    pool: PoolSample | None = None,
    window: list[float] | None = None,
) -> Snapshot:
    return Snapshot(
        service=service,
        timestamp_s=at_s,
        requests=len(values),
        errors=errors,
        in_flight=3,
        cpu_percent=20.0,
        rss_bytes=10 << 20,
        db_pool=pool,
        cache_hits=8,
        cache_lookups=10,
        latency_1s=sketch_of(values),
        latency_60s=sketch_of(values if window is None else window),
    )


def body(snap: Snapshot) -> bytes:
    return json.dumps(snap.to_dict()).encode()


def service(tick_services: tuple, name: str):  # type: ignore[no-untyped-def]
    return next(view for view in tick_services if view.name == name)


def test_two_processes_of_one_service_merge_exactly() -> None:
    rng = random.Random(7)
    first = [rng.lognormvariate(-3, 1) for _ in range(500)]
    second = [rng.lognormvariate(-1, 0.5) for _ in range(300)]
    state = HubState([A, B], SLA)
    state.observe(A, body(snapshot("course", first, errors=5, pool=PoolSample(2, 10))), 1.0)
    state.observe(B, body(snapshot("course", second, errors=1, pool=PoolSample(3, 10))), 1.0)
    course = service(state.tick(1_000.5).services, "course")
    combined = sketch_of(first + second)
    assert course.targets_up == course.targets == 2
    assert course.kpis.requests == 800 and course.kpis.errors == 6
    assert course.kpis.processes == 2
    assert course.kpis.latency_1s.p95_ms == combined.quantile(0.95) * 1000.0
    assert course.kpis.latency_1s.p99_ms == combined.quantile(0.99) * 1000.0
    assert (course.kpis.db_pool_in_use, course.kpis.db_pool_size) == (5, 20)
    assert course.kpis.cache_hit_ratio == 16 / 20


def test_the_total_merges_every_service_but_the_load_generator() -> None:
    state = HubState([A, B, G], SLA)
    state.observe(A, body(snapshot("course", [0.01] * 90)), 1.0)
    state.observe(B, body(snapshot("campaign", [0.5] * 10, errors=2)), 1.0)
    state.observe(G, body(snapshot(LIVE_SERVICE, [0.6] * 100)), 1.0)
    tick = state.tick(1_000.5)
    assert tick.total is not None and tick.total.name == TOTAL
    assert tick.total.kpis is not None
    assert tick.total.kpis.requests == 100 and tick.total.kpis.errors == 2
    assert (
        tick.total.kpis.latency_1s.p95_ms
        == sketch_of([0.01] * 90 + [0.5] * 10).quantile(0.95) * 1000.0
    )
    generator = service(tick.services, LIVE_SERVICE)
    assert generator.client and generator.kpis.requests == 100
    assert [view.name for view in tick.services] == ["campaign", "course", LIVE_SERVICE]


def test_the_hub_knows_the_load_generators_service_name() -> None:
    assert LIVE_SERVICE in CLIENT_SERVICES


def test_a_target_that_does_not_answer_is_marked_down_and_left_out_of_the_merge() -> None:
    state = HubState([A, B], SLA)
    state.observe(A, body(snapshot("course", [0.01] * 10)), 1.0)
    state.observe(B, body(snapshot("course", [0.02] * 30)), 1.0)
    state.fail(B, "no answer within 0.5 s")
    tick = state.tick(1_001.5)
    course = service(tick.services, "course")
    assert (course.targets_up, course.targets, course.kpis.requests) == (1, 2, 10)
    down = next(t for t in tick.targets if t.url == B)
    assert down.state is TargetState.DOWN and down.reason == "no answer within 0.5 s"
    assert down.service == "course" and down.last_ok_s == 1.0


def test_a_service_with_every_target_down_has_no_kpis_and_no_data_objectives() -> None:
    state = HubState([A], SLA)
    state.observe(A, body(snapshot("course", [0.01] * 10)), 1.0)
    state.fail(A, "ConnectError")
    tick = state.tick(1_002.5)
    course = service(tick.services, "course")
    assert course.kpis is None and tick.total is not None and tick.total.kpis is None
    assert {o.status for o in course.objectives} == {Status.NO_DATA}


def test_targets_never_polled_are_pending_and_no_service_is_invented() -> None:
    tick = HubState([A, B], SLA).tick(5.0)
    assert [t.state for t in tick.targets] == [TargetState.PENDING, TargetState.PENDING]
    assert tick.services == () and tick.total is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"<html>", "not a snapshot"),
        (b'{"service": "x"}', "missing field"),
        (b"[1, 2]", "not a snapshot"),
    ],
)
def test_a_malformed_snapshot_marks_the_target_down_with_the_reason(
    payload: bytes, reason: str
) -> None:
    state = HubState([A], SLA)
    assert state.observe(A, payload, 1.0) is None
    (target,) = state.tick(2.0).targets
    assert target.state is TargetState.DOWN and reason in (target.reason or "")


def test_objectives_are_judged_per_service_over_the_window_of_seconds_seen() -> None:
    state = HubState([A, B], SLA, window_s=3)
    for second in range(5):  # 5 seconds of 100 requests; the window keeps the last 3
        errors = 50 if second == 0 else 1
        state.observe(A, body(snapshot("course", [0.1] * 100, errors=errors, at_s=second)), 0)
        state.observe(B, body(snapshot("slowpoke", [0.5] * 200, at_s=second)), 0)
    tick = state.tick(5.5)
    course = {o.objective: o for o in service(tick.services, "course").objectives}
    assert course["error_rate"].observed == pytest.approx(3 / 300)
    assert course["error_rate"].status is Status.MISSED  # 1 % is not < 1 %
    assert course["availability"].observed == pytest.approx(0.99)
    assert course["availability"].status is Status.MISSED
    assert course["throughput"].observed == 100.0 and course["throughput"].status is Status.MET
    assert course["latency"].status is Status.MET and course["latency"].window_s == 60
    assert course["error_rate"].window_s == 3
    slow = service(tick.services, "slowpoke")
    slow_status = {o.objective: o for o in slow.objectives}
    assert slow_status["latency"].threshold == 1000.0
    assert slow_status["latency"].status is Status.MET  # 500 ms < 1 s here ...
    assert tick.total is not None
    total = {o.objective: o for o in tick.total.objectives}
    assert total["latency"].status is Status.MISSED  # ... but not < 200 ms overall
    assert "throughput" in slow.not_judged and "throughput" not in {
        o.objective for o in slow.objectives
    }


def test_the_same_second_polled_twice_counts_once() -> None:
    state = HubState([A], SLA)
    state.observe(A, body(snapshot("course", [0.1] * 40, at_s=7.0)), 7.3)
    state.observe(A, body(snapshot("course", [0.1] * 40, at_s=7.0)), 8.1)
    throughput = next(
        o
        for o in service(state.tick(8.2).services, "course").objectives
        if o.objective == "throughput"
    )
    assert throughput.window_s == 1 and throughput.observed == 40.0


def test_an_objective_the_sla_does_not_state_is_not_judged() -> None:
    sla = parse_sla("objectives:\n  error_rate: 2%\n", source="errors-only.yaml")
    state = HubState([A], sla)
    state.observe(A, body(snapshot("course", [0.1] * 10)), 1.0)
    course = service(state.tick(2.0).services, "course")
    assert [o.objective for o in course.objectives] == ["error_rate"]
    assert "latency" in course.not_judged and "throughput" in course.not_judged


def test_latency_without_requests_in_the_window_is_no_data() -> None:
    state = HubState([A], SLA)
    state.observe(A, body(snapshot("course", [])), 1.0)
    statuses = {o.objective: o for o in service(state.tick(2.0).services, "course").objectives}
    assert statuses["latency"].status is Status.NO_DATA and statuses["latency"].observed is None
    assert statuses["error_rate"].status is Status.NO_DATA


def test_ticks_are_numbered_and_stamped_with_the_time_passed_in() -> None:
    state = HubState([A], SLA)
    assert [(t.sequence, t.timestamp_s) for t in (state.tick(10.0), state.tick(11.0))] == [
        (1, 10.0),
        (2, 11.0),
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8101", "http://127.0.0.1:8101/live/snapshot"),
        ("http://127.0.0.1:8101/", "http://127.0.0.1:8101/live/snapshot"),
        ("http://h:1/live/snapshot", "http://h:1/live/snapshot"),
    ],
)
def test_a_target_is_a_base_url_or_its_snapshot_url(given: str, expected: str) -> None:
    assert snapshot_url(given) == expected


@pytest.mark.parametrize("bad", ["127.0.0.1:8101", "ftp://x", "http://"])
def test_a_target_that_is_not_an_http_url_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="expected an http:// or https:// URL"):
        snapshot_url(bad)


def test_unknown_and_duplicate_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        HubState([A, A], SLA)
    with pytest.raises(KeyError, match="not a target"):
        HubState([A], SLA).fail(B, "x")
