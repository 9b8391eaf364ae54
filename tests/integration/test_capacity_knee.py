"""The capacity search finds a known knee: real Locust probes against a local server whose
capacity is known exactly, so the highest rate that keeps "p95 < 300 ms" can be computed.

The server has `SLOTS` slots; each request holds one for exactly `SERVICE_S` seconds, first
come first served (a semaphore with a fixed service time), so it serves at most
mu = SLOTS / SERVICE_S = 20 req/s. Slot times are kept on a virtual schedule (a request's
start is when its slot frees, not when the event loop got round to it), so a loaded
machine's timer lag delays answers a little but never lowers the capacity.

The open-model generator starts requests evenly (no queue below mu). Above mu, a request
arriving t seconds into a probe of T seconds waits t (lambda/mu - 1) and completes at
SERVICE_S + t lambda/mu; those completing after T are not recorded, so the recorded ones
arrive within (T - SERVICE_S) mu/lambda and their p95 is
SERVICE_S + 0.95 (T - SERVICE_S)(1 - mu/lambda). It stays under the threshold L while
lambda < mu / (1 - (L - SERVICE_S) / (0.95 (T - SERVICE_S))) = KNEE_RPS (20.9 req/s).

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
from runs.capacity_run import CapacityBudget, run_capacity
from runtime.ports import free_port
from tests.integration.threaded_server import serving_in_a_thread

pytestmark = pytest.mark.integration

SLOTS, SERVICE_S = 2, 0.1
THRESHOLD_S, PROBE_S = 0.3, 5.0
MU_RPS = SLOTS / SERVICE_S
KNEE_RPS = MU_RPS / (1 - (THRESHOLD_S - SERVICE_S) / (0.95 * (PROBE_S - SERVICE_S)))

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
    assert 20.8 < KNEE_RPS < 21.0
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

    # 5.4, 10.8, 21.6 (3 % over the knee: p95 about 450 ms), then 16.2, 18.9, 20.25 (3 %
    # under it: p95 about 160 ms), which brackets the knee within 10 %.
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
