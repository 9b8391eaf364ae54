"""examples/hello_service.py runs, and `promtool check metrics` accepts what it exposes."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from collector import conventions as names
from examples.hello_service import make_app
from tests.conftest import require_tool


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    server = TestServer(make_app(registry=CollectorRegistry()), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        yield test_client


async def exercise(client: TestClient) -> str:
    for path, status in (
        ("/hello", 200),
        ("/items/42", 200),
        ("/items/x", 400),
        ("/boom", 500),
        ("/missing", 404),
        ("/slow?delay_s=0.25", 200),
    ):
        assert (await client.get(path)).status == status
    return await (await client.get("/metrics")).text()


async def test_promtool_accepts_the_exposed_metrics(client: TestClient) -> None:
    promtool = require_tool("promtool")
    text = await exercise(client)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_the_duration_buckets_include_the_sla_thresholds(client: TestClient) -> None:
    text = await exercise(client)
    bounds = {
        s.labels["le"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == names.HTTP_REQUEST_DURATION + "_bucket"
    }
    assert {"0.2", "1.0", "+Inf"} <= bounds
    slow = [
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == names.HTTP_REQUEST_DURATION + "_bucket"
        and s.labels["route"] == "/slow"
        and s.labels["le"] in {"0.2", "1.0"}
    ]
    assert slow == [0.0, 1.0], "a 250 ms request is above le=0.2 and below le=1.0"
