import json
import random
from dataclasses import replace
from typing import Any

import pytest

from collector.quantiles import QuantileSketch
from collector.snapshot import (
    PoolSample,
    Snapshot,
    SnapshotBuilder,
    SnapshotError,
    merge_snapshots,
)


def sketch_of(values: list[float]) -> QuantileSketch:
    sketch = QuantileSketch()
    for value in values:
        sketch.add(value)
    return sketch


def make_snapshot(values: list[float], errors: int, *, pool: PoolSample | None = None) -> Snapshot:
    builder = SnapshotBuilder("svc")
    return builder.build(
        timestamp_s=1_000.0,
        requests=len(values),
        errors=errors,
        latency_1s=sketch_of(values),
        latency_60s=sketch_of(values * 2),
        in_flight=4,
        cpu_percent=37.5,
        rss_bytes=50 * 2**20,
        db_pool=pool,
        cache_hits_total=30,
        cache_lookups_total=40,
    )


def test_a_snapshot_reports_rates_ratios_and_percentiles() -> None:
    values = [i / 1000 for i in range(1, 101)]
    snap = make_snapshot(values, errors=3, pool=PoolSample(in_use=2, size=10))
    body = snap.to_dict()
    assert body["rps"] == 100.0
    assert body["error_ratio"] == pytest.approx(0.03)
    assert body["latency_ms"]["1s"]["p95"] == pytest.approx(95.0, rel=0.01)
    assert body["latency_ms"]["1s"]["p50"] == pytest.approx(50.0, rel=0.01)
    assert body["requests_60s"] == 200
    assert body["db_pool"] == {"in_use": 2, "size": 10}
    assert body["cache"] == {"hits": 30, "lookups": 40, "hit_ratio": 0.75}


def test_an_idle_second_has_no_percentiles_and_no_error_ratio_division() -> None:
    body = make_snapshot([], errors=0).to_dict()
    assert body["latency_ms"]["1s"] == {"p50": None, "p95": None, "p99": None}
    assert body["error_ratio"] == 0.0


def test_cache_counts_become_per_second_deltas() -> None:
    builder = SnapshotBuilder("svc")
    common: dict[str, Any] = dict(
        requests=0,
        errors=0,
        latency_1s=QuantileSketch(),
        latency_60s=QuantileSketch(),
        in_flight=0,
        cpu_percent=0.0,
        rss_bytes=0,
        db_pool=None,
    )
    first = builder.build(timestamp_s=1.0, cache_hits_total=10, cache_lookups_total=20, **common)
    second = builder.build(timestamp_s=2.0, cache_hits_total=19, cache_lookups_total=30, **common)
    assert (first.cache_hits, first.cache_lookups) == (10, 20)
    assert (second.cache_hits, second.cache_lookups) == (9, 10)
    assert second.cache_hit_ratio == 0.9


def test_a_json_round_trip_is_lossless() -> None:
    snap = make_snapshot([0.001, 0.02, 0.3], errors=1, pool=PoolSample(1, 5))
    again = Snapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert again == snap


def test_merging_snapshots_equals_one_snapshot_over_all_requests() -> None:
    rng = random.Random(5)
    parts = [[rng.lognormvariate(-3, 1) for _ in range(n)] for n in (500, 1200, 80)]
    merged = merge_snapshots(
        [make_snapshot(p, errors=i, pool=PoolSample(i, 10)) for i, p in enumerate(parts)], "all"
    )
    everything = [v for p in parts for v in p]
    whole = make_snapshot(everything, errors=0 + 1 + 2)
    assert merged.latency_1s == whole.latency_1s
    assert merged.to_dict()["latency_ms"] == whole.to_dict()["latency_ms"]
    assert (merged.requests, merged.errors, merged.processes) == (1780, 3, 3)
    assert merged.db_pool == PoolSample(in_use=3, size=30)
    assert merged.service == "all"


def test_a_stalled_second_round_trips_and_marks_a_merge_it_is_part_of() -> None:
    stalled = replace(make_snapshot([0.01], errors=0), stalled=True)
    body = json.loads(json.dumps(stalled.to_dict()))
    assert body["stalled"] is True
    assert Snapshot.from_dict(body) == stalled
    on_time = make_snapshot([0.02], errors=0)
    assert merge_snapshots([on_time, stalled], "all").stalled
    assert not merge_snapshots([on_time, on_time], "all").stalled


def test_a_snapshot_from_a_collector_without_the_stall_flag_is_not_stalled() -> None:
    body = make_snapshot([0.01], errors=0).to_dict()
    del body["stalled"]
    assert Snapshot.from_dict(body).stalled is False


def test_merging_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one snapshot"):
        merge_snapshots([], "all")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("requests"), "requests"),
        (lambda d: d.update(requests="many"), "requests"),
        (lambda d: d.update(cpu_percent=True), "cpu_percent"),
        (lambda d: d["sketch"]["1s"].update(bins={"x": 1}), "bins"),
        (lambda d: d.update(stalled="yes"), "stalled"),
    ],
)
def test_malformed_payloads_name_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    body = make_snapshot([0.01], errors=0).to_dict()
    mutate(body)
    with pytest.raises(SnapshotError, match=field):
        Snapshot.from_dict(body)
