"""The aiohttp instrumentation against a real server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from collector import conventions as names
from collector.middleware import _TICKER_KEY, INSTRUMENTATION_KEY, instrument
from collector.sla import default_sla
from tests.waiting import eventually


def build_app(registry: CollectorRegistry, gate: asyncio.Event | None = None) -> web.Application:
    async def item(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["item_id"]})

    async def fail(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def teapot(request: web.Request) -> web.Response:
        raise web.HTTPConflict(text="conflict")

    async def wait(request: web.Request) -> web.Response:
        assert gate is not None
        await gate.wait()
        return web.Response(text="done")

    api = web.Application()
    api.router.add_get("/ping", ping)

    app = web.Application()
    app.router.add_get("/items/{item_id}", item)
    app.router.add_post("/items/{item_id}", item)
    app.router.add_get("/fail", fail)
    app.router.add_get("/conflict", teapot)
    app.router.add_get("/wait", wait)
    app.add_subapp("/api", api)
    instrument(app, service="svc", sla=default_sla(), registry=registry)
    return app


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


@pytest.fixture
async def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def gate() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
async def client(registry: CollectorRegistry, gate: asyncio.Event) -> AsyncIterator[TestClient]:
    server = TestServer(build_app(registry, gate), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        yield test_client


async def scrape(client: TestClient, accept: str | None = None) -> str:
    headers = {"Accept": accept} if accept else {}
    response = await client.get(names.METRICS_PATH, headers=headers)
    assert response.status == 200
    return await response.text()


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for f in parse_text(text) for s in f.samples if s.name == name]


async def test_requests_are_labelled_by_route_template_with_exact_counts(
    client: TestClient,
) -> None:
    for item_id in range(25):
        assert (await client.get(f"/items/{item_id}")).status == 200
    assert (await client.post("/items/7")).status == 200
    text = await scrape(client)
    counts = {
        (labels["route"], labels["method"], labels["code"]): value
        for labels, value in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert counts == {
        ("/items/{item_id}", "GET", "200"): 25,
        ("/items/{item_id}", "POST", "200"): 1,
    }
    buckets = {
        labels["le"]: value
        for labels, value in samples(text, names.HTTP_REQUEST_DURATION + "_bucket")
        if labels["method"] == "GET"
    }
    assert buckets["+Inf"] == 25
    assert "0.2" in buckets and "1.0" in buckets


async def test_ten_thousand_distinct_paths_give_at_most_routes_plus_one_label_values(
    client: TestClient,
) -> None:
    async def hit(i: int) -> None:
        path = f"/items/{i}" if i % 2 else f"/no/such/path/{i}"
        response = await client.get(path)
        await response.read()

    for start in range(0, 10_000, 200):
        await asyncio.gather(*(hit(i) for i in range(start, start + 200)))
    text = await scrape(client)
    routes = {labels["route"] for labels, _ in samples(text, names.HTTP_REQUESTS + "_total")}
    assert routes == {"/items/{item_id}", names.UNMATCHED_ROUTE}
    by_route = {
        labels["route"]: value for labels, value in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert by_route == {"/items/{item_id}": 5000, names.UNMATCHED_ROUTE: 5000}


async def test_an_unhandled_exception_counts_as_a_500_and_an_exception(client: TestClient) -> None:
    assert (await client.get("/fail")).status == 500
    assert (await client.get("/conflict")).status == 409
    text = await scrape(client)
    codes = {
        (labels["route"], labels["code"])
        for labels, _ in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert ("/fail", "500") in codes
    assert ("/conflict", "409") in codes
    exceptions = samples(text, names.HTTP_EXCEPTIONS + "_total")
    assert [(labels["route"], value) for labels, value in exceptions] == [("/fail", 1.0)]


async def test_unmatched_methods_and_subapp_routes_are_labelled(client: TestClient) -> None:
    assert (await client.delete("/fail")).status == 405
    assert (await client.get("/api/ping")).status == 200
    text = await scrape(client)
    codes = {
        (labels["route"], labels["method"], labels["code"])
        for labels, _ in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert (names.UNMATCHED_ROUTE, "DELETE", "405") in codes
    assert ("/api/ping", "GET", "200") in codes


async def test_in_flight_requests_are_tracked(client: TestClient, gate: asyncio.Event) -> None:
    pending = asyncio.create_task(client.get("/wait"))
    inst = client.app[INSTRUMENTATION_KEY]
    await eventually(lambda: inst.requests.in_flight == 1)
    text = await scrape(client)
    assert samples(text, names.HTTP_REQUESTS_IN_FLIGHT) == [({"service": "svc"}, 1.0)]
    gate.set()
    assert (await pending).status == 200
    assert inst.requests.in_flight == 0


async def test_the_scrape_endpoints_are_not_counted_as_traffic(client: TestClient) -> None:
    await scrape(client)
    text = await scrape(client)
    assert samples(text, names.HTTP_REQUESTS + "_total") == []


async def test_openmetrics_is_served_when_the_scraper_asks(client: TestClient) -> None:
    await client.get("/items/1")
    response = await client.get(
        names.METRICS_PATH, headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.text()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parse_openmetrics(text)}
    assert families[names.HTTP_REQUESTS].type == "counter"
    assert families[names.HTTP_REQUEST_DURATION].type == "histogram"


async def test_the_live_snapshot_reports_the_last_closed_second(client: TestClient) -> None:
    first = await client.get(names.LIVE_SNAPSHOT_PATH)
    if first.status == 503:
        assert first.headers["Retry-After"] == "1"
    inst = client.app[INSTRUMENTATION_KEY]
    await eventually(lambda: inst.latest is not None, timeout_s=10)
    for i in range(40):
        await client.get(f"/items/{i}")
    await client.get("/fail")
    await eventually(
        lambda: inst.latest is not None and inst.latest.latency_60s.count >= 41, timeout_s=10
    )
    body = await (await client.get(names.LIVE_SNAPSHOT_PATH)).json()
    assert body["service"] == "svc"
    assert body["requests_60s"] == 41
    assert body["latency_ms"]["60s"]["p95"] is not None
    assert set(body["sketch"]) == {"1s", "60s"}


async def test_live_snapshot_after_a_time_serves_the_seconds_in_order(client: TestClient) -> None:
    inst = client.app[INSTRUMENTATION_KEY]
    await eventually(lambda: len(inst.recent) >= 2, timeout_s=5)
    oldest, following = inst.recent[0], inst.recent[1]
    path = names.LIVE_SNAPSHOT_PATH
    first = await (await client.get(path, params={"after": "0"})).json()
    assert first["timestamp_s"] == oldest.timestamp_s
    second = await (await client.get(path, params={"after": str(oldest.timestamp_s)})).json()
    assert second["timestamp_s"] == following.timestamp_s == oldest.timestamp_s + 1
    assert isinstance(second["stalled"], bool)  # true only if this loaded machine stalled
    future = await client.get(path, params={"after": "1e12"})
    assert (future.status, future.headers["Retry-After"]) == (503, "1")
    bad = await client.get(path, params={"after": "soon"})
    assert bad.status == 400
    assert (
        "after: expected a timestamp_s in Unix seconds, got 'soon'" in (await bad.json())["error"]
    )


async def test_live_snapshot_is_unavailable_rather_than_frozen_once_the_ticker_ended(
    client: TestClient,
) -> None:
    inst = client.app[INSTRUMENTATION_KEY]
    await eventually(lambda: inst.latest is not None, timeout_s=3)
    task = client.app[_TICKER_KEY]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    response = await client.get(names.LIVE_SNAPSHOT_PATH)
    assert response.status == 503
    assert "ticker has stopped" in (await response.json())["error"]


async def test_a_scrape_from_another_thread_counts_each_request_once(
    client: TestClient, registry: CollectorRegistry
) -> None:
    """prometheus_client's own HTTP server or a push reads the registry from a thread while
    the loop appends; the counts still equal the requests made."""
    stop = threading.Event()
    scraping = threading.Event()

    def scrape_in_a_thread() -> None:
        while not stop.is_set():
            generate_latest(registry)
            scraping.set()

    thread = threading.Thread(target=scrape_in_a_thread)
    thread.start()
    try:
        await eventually(scraping.is_set)
        for start in range(0, 600, 50):
            statuses = await asyncio.gather(
                *(client.get(f"/items/{i}") for i in range(start, start + 50))
            )
            assert {r.status for r in statuses} == {200}
    finally:
        stop.set()
        thread.join()
    text = await scrape(client)
    counts = {
        labels["route"]: value for labels, value in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert counts == {"/items/{item_id}": 600}


async def test_two_services_share_a_registry_but_not_a_name(registry: CollectorRegistry) -> None:
    first = web.Application()
    instrument(first, service="one", sla=default_sla(), registry=registry)
    second = web.Application()
    with pytest.raises(ValueError, match="service 'one' is already instrumented"):
        instrument(second, service="one", sla=default_sla(), registry=registry)
    with pytest.raises(RuntimeError, match="already instrumented"):
        instrument(first, service="again", sla=default_sla(), registry=registry)


async def test_handlers_decorated_with_functools_wraps_are_still_timed(
    registry: CollectorRegistry,
) -> None:
    import functools

    def decorated(handler):  # type: ignore[no-untyped-def]
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            return await handler(request)

        return inner

    @decorated
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/decorated", hello)
    instrument(app, service="deco", sla=default_sla(), registry=registry)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        assert (await test_client.get("/decorated")).status == 200
        text = await scrape(test_client)
    counts = {
        labels["route"]: value for labels, value in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert counts == {"/decorated": 1.0}


async def test_an_uninstrumented_app_beside_an_instrumented_one_answers_404_and_405_as_before(
    client: TestClient,
) -> None:
    async def only_get(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    plain = web.Application()
    plain.router.add_get("/thing", only_get)
    async with TestClient(TestServer(plain)) as other:
        assert (await other.get("/missing")).status == 404
        assert (await other.post("/thing")).status == 405
        assert (await other.get("/thing")).status == 200
    assert (await client.get("/api/missing")).status == 404
    text = await scrape(client)
    codes = {
        (labels["route"], labels["method"], labels["code"]): value
        for labels, value in samples(text, names.HTTP_REQUESTS + "_total")
    }
    assert codes == {(names.UNMATCHED_ROUTE, "GET", "404"): 1.0}  # only the instrumented app's
