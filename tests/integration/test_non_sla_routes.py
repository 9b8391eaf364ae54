"""Answers the service did not work for (404/405 from no route, health probes) are counted by
status but never reach the duration histogram, the latency sketch or the per-second figures:
a 404 flood or a probe storm cannot move the p95 the SLA is judged on."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from collector import INSTRUMENTATION_KEY
from collector import conventions as names
from collector.sla import default_sla
from examples.hello_service import make_app
from runtime.http import add_health_routes

pytestmark = pytest.mark.integration

SLOW_S = 0.05


async def test_a_404_flood_and_health_probes_do_not_move_the_server_p95() -> None:
    app = make_app(service="flood", sla=default_sla(), registry=CollectorRegistry())
    add_health_routes(app, None)
    async with TestClient(TestServer(app)) as client:
        for _ in range(20):
            assert (await client.get(f"/slow?delay_s={SLOW_S}")).status == 200
        for i in range(400):
            assert (await client.get(f"/no/such/path/{i}")).status == 404
            if i % 4 == 0:
                assert (await client.get(names.HEALTHZ_PATH)).status == 200
        inst = app[INSTRUMENTATION_KEY]
        recorder = inst.requests
        recorder.fold()
        series = {s.route: s for s in recorder.all_series()}
        unmatched = series[names.UNMATCHED_ROUTE]
        assert unmatched.status_counts == {404: 400}
        assert series[names.HEALTHZ_PATH].status_counts == {200: 100}
        assert unmatched.count == 0 and series[names.HEALTHZ_PATH].count == 0
        assert series["/slow"].count == 20
        now_s = time.time()
        recorder.close_second(int(now_s))
        window = recorder.sketch.window(now_s)
        assert window.count == 20, "only the slow requests are in the latency sketch"
        assert window.quantile(0.95) >= SLOW_S * (1 - window.relative_accuracy)
        text = await (await client.get(names.METRICS_PATH)).text()
    assert f'route="{names.UNMATCHED_ROUTE}",method="GET",code="404"}} 400' in text
    unmatched_bucket = f'{names.HTTP_REQUEST_DURATION}_bucket{{service="flood",route="<unmatched>"'
    assert unmatched_bucket not in text
