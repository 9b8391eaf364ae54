"""livehub.message: the encoded tick and the one websocket frame every subscriber gets."""

from __future__ import annotations

import json

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from collector.quantiles import QuantileSketch
from collector.sla import default_sla
from collector.snapshot import PoolSample, Snapshot
from livehub.message import MESSAGE_VERSION, encode, text_frame, to_dict
from livehub.state import HubState

URL = "http://127.0.0.1:9001"


def a_snapshot() -> Snapshot:
    sketch = QuantileSketch()
    for ms in range(1, 101):
        sketch.add(ms / 1000.0)
    return Snapshot(
        service="course",
        timestamp_s=1_700_000_000.0,
        requests=100,
        errors=3,
        in_flight=7,
        cpu_percent=41.23456,
        rss_bytes=123 << 20,
        db_pool=PoolSample(4, 20),
        cache_hits=30,
        cache_lookups=40,
        latency_1s=sketch,
        latency_60s=sketch,
    )


def a_tick_payload() -> bytes:
    state = HubState([URL, "http://127.0.0.1:9"], default_sla())
    state.observe(URL, json.dumps(a_snapshot().to_dict()).encode(), 1_700_000_000.2)
    state.fail("http://127.0.0.1:9", "ConnectError: refused")
    return encode(state.tick(1_700_000_000.25))


def test_the_message_carries_every_kpi_per_service_and_in_total() -> None:
    message = json.loads(a_tick_payload())
    assert message["type"] == "tick" and message["version"] == MESSAGE_VERSION
    assert message["timestamp_s"] == 1_700_000_000.25 and message["sequence"] == 1
    (course,) = message["services"]
    kpis = course["kpis"]
    assert kpis["rps"] == 100.0 and kpis["error_ratio"] == 0.03
    assert set(kpis["latency_ms"]["1s"]) == {"p50", "p95", "p99"}
    assert abs(kpis["latency_ms"]["1s"]["p95"] - 95.0) <= 0.95  # the sketch's 1 %
    assert kpis["in_flight"] == 7 and kpis["cpu_percent"] == 41.23  # as /live/snapshot rounds it
    assert kpis["rss_bytes"] == 123 << 20 and kpis["db_pool"] == {"in_use": 4, "size": 20}
    assert kpis["cache_hit_ratio"] == 0.75
    assert message["total"]["kpis"] == kpis
    statuses = {o["objective"]: o["status"] for o in course["objectives"]}
    assert statuses == {
        "latency": "met",
        "error_rate": "missed",
        "availability": "missed",
        "throughput": "missed",
    }
    assert course["not_judged"] == ["slow_request", "concurrent_users"]
    assert [(t["state"], t["reason"]) for t in message["targets"]] == [
        ("up", None),
        ("down", "ConnectError: refused"),
    ]


def test_the_timestamp_comes_first_so_a_reader_can_find_it_without_parsing() -> None:
    assert a_tick_payload().startswith(b'{"timestamp_s":1700000000.25,')


def test_encode_is_to_dict_as_compact_json() -> None:
    state = HubState([URL], default_sla())
    tick = state.tick(3.0)
    assert json.loads(encode(tick)) == to_dict(tick)
    assert b", " not in encode(tick) and b": " not in encode(tick)


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_the_frame_is_what_a_websocket_client_parses_as_one_text_message(size: int) -> None:
    payload = ("x" * size).encode()
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws"), state=State.OPEN, max_size=None)
    client.receive_data(text_frame(payload))
    (frame,) = client.events_received()
    assert isinstance(frame, Frame)
    assert frame.opcode is Opcode.TEXT and frame.fin and bytes(frame.data) == payload
