"""The capacity search finds a known knee: real Locust probes against a local server whose
capacity is known exactly, so the highest rate that keeps "p95 < 300 ms" can be computed.

The server has `SLOTS` slots; each request holds one for exactly `SERVICE_S` seconds, first
come first served (a semaphore with a fixed service time), so it serves at most
mu = SLOTS / SERVICE_S = 20 req/s. Slot times are kept on a virtual schedule (a request's
start is when its slot frees, not when the event loop got round to it), so a loaded
machine's timer lag delays answers a little but never lowers the capacity.

Each probe of `PROBE_S` seconds ramps for `RAMP_S` (one window) from the highest rate that
passed, which is below mu, then holds its rate lambda for HOLD_S; only the hold's windows
(`RAMP_S` long) are judged. The open-model generator starts requests evenly, so no queue
forms below mu, and the ramp's last moments above mu leave a negligible one. Above mu, a
request arriving t seconds into the hold waits t (lambda/mu - 1) and completes at
SERVICE_S + t lambda/mu, so the latency of what completes at c is
SERVICE_S + (c - SERVICE_S)(1 - mu/lambda): it grows to the end of the hold. The strictest
judged figure is the last window's p95 (the windowed latency row), whose completions
spread evenly over its `RAMP_S`: SERVICE_S + (HOLD_S - 0.05 RAMP_S - SERVICE_S)(1 - mu/lambda).
It stays under the threshold L while
lambda < mu / (1 - (L - SERVICE_S) / (HOLD_S - 0.05 RAMP_S - SERVICE_S)) = KNEE_RPS
(21.1 req/s; the hold's overall p95 alone would allow 21.14).

The knee is kept low so the generator idles (never saturates first, however loaded the
machine), and probes far from the knee are decided by seconds of queueing, not jitter.
An accuracy check, not a timing one: nothing here asserts how long anything took.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from loadtests.options import LoadTestOptions, add_arguments, from_args
from loadtests.result import LoadTestResult
from loadtests.runner import run_loadtest
from runs.capacity_probe import default_ramp_s
from runs.capacity_run import CapacityBudget, run_capacity
from runtime.ports import free_port
from tests.integration.threaded_server import serving_in_a_thread

pytestmark = pytest.mark.integration

SLOTS, SERVICE_S = 2, 0.1
THRESHOLD_S, PROBE_S = 0.3, 5.0
RAMP_S = default_ramp_s(PROBE_S)
HOLD_S = PROBE_S - RAMP_S
MU_RPS = SLOTS / SERVICE_S
KNEE_RPS = MU_RPS / (1 - (THRESHOLD_S - SERVICE_S) / (HOLD_S - 0.05 * RAMP_S - SERVICE_S))

LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Worker(FastHttpUser):
    wait_time = constant(0)

    @task
    def work(self):
        self.client.get("/work")
"""


class KneeServer:
    """`SLOTS` slots of `SERVICE_S` seconds each, first come first served."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.free_at = [0.0] * SLOTS

    def reset(self) -> None:
        """Forget the queue a failed probe left behind (a cooldown long enough to drain it)."""
        self.free_at = [0.0] * SLOTS

    async def handle(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = min(range(SLOTS), key=self.free_at.__getitem__)
        finish = max(now, self.free_at[slot]) + SERVICE_S
        self.free_at[slot] = finish
        await asyncio.sleep(finish - loop.time())
        return web.Response(text="done")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app


@pytest.fixture
def server() -> Iterator[KneeServer]:
    knee = KneeServer(free_port())
    with serving_in_a_thread(knee.app(), knee.port):
        yield knee


def test_the_search_finds_the_computed_knee_within_15_percent(
    server: KneeServer, tmp_path: Path
) -> None:
    assert (RAMP_S, HOLD_S) == (1.0, 4.0)
    assert 21.0 < KNEE_RPS < 21.2
    (tmp_path / "knee.py").write_text(LOCUSTFILE)
    sla = tmp_path / "sla.yaml"
    sla.write_text(
        f"version: 1\nobjectives:\n  latency:\n    percentile: p95\n"
        f"    threshold: {THRESHOLD_S * 1000:g}ms\n"
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = [str(tmp_path / "knee.py"), "--host", f"http://127.0.0.1:{server.port}"]
    flags += ["--rate", "5.4", "--duration", f"{PROBE_S:g}s", "--sla", str(sla)]
    options = from_args(parser.parse_args(flags))

    def probe(probe_options: LoadTestOptions) -> LoadTestResult:
        server.reset()
        return run_loadtest(probe_options, out=io.StringIO(), cwd=tmp_path)

    # 5.4, 10.8, 21.6 (2 % over the knee: the last window's p95 about 385 ms), then 16.2
    # (ramping from 10.8, not from the failed 21.6), 18.9, 20.25 (4 % under it: p95 about
    # 150 ms), which brackets the knee within 10 %.
    budget = CapacityBudget(
        start_rps=5.4,
        probe_s=PROBE_S,
        cooldown_s=0.5,
        max_duration_s=240.0,
        precision=0.1,
        max_probes=8,
        json_path=tmp_path / "capacity.json",
    )
    out = io.StringIO()
    assert run_capacity(options, budget, probe=probe, out=out) == 0, out.getvalue()
    found = json.loads((tmp_path / "capacity.json").read_text())
    assert found["bounded"], out.getvalue()
    assert abs(found["max_rate"] - KNEE_RPS) / KNEE_RPS <= 0.15, out.getvalue()
    assert found["min_failed_rate"] > found["max_rate"]
    assert found["probes"][0]["passed"] and found["probes"][0]["latency_ms"] < 150
    assert (found["ramp_s"], found["hold_s"]) == (RAMP_S, HOLD_S)
    for index, probed in enumerate(found["probes"]):
        passed = [p["rate"] for p in found["probes"][:index] if p["passed"]]
        assert probed["ramp_from_rps"] == max(passed, default=0.0), "from the highest pass"
