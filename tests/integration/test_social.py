"""The fake social platforms over HTTP on 127.0.0.1 (port 0), with a recording `sleep`."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from collector import conventions as names
from reference_services.social import (
    DEFAULT_PLATFORMS,
    PlatformBehaviour,
    make_social_app,
    parse_platform_spec,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., Awaitable[TestClient]]


class RecordingSleep:
    """Records every requested delay instead of waiting; delays >= `block_from_s` block
    until `release` is set (a hang the test controls)."""

    def __init__(self, block_from_s: float = math.inf) -> None:
        self.delays_s: list[float] = []
        self.block_from_s = block_from_s
        self.release = asyncio.Event()

    async def __call__(self, delay_s: float) -> None:
        self.delays_s.append(delay_s)
        if delay_s >= self.block_from_s:
            await self.release.wait()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def make_client(
    registry: CollectorRegistry, sleep: RecordingSleep
) -> AsyncIterator[ClientFactory]:
    clients: list[TestClient] = []

    async def make(
        platforms: Mapping[str, PlatformBehaviour] | None = None, **kw: Any
    ) -> TestClient:
        kw.setdefault("registry", registry)
        kw.setdefault("sleep", sleep)
        app = make_social_app(platforms, **kw)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    sleep.release.set()
    for client in clients:
        await client.close()


async def post(
    client: TestClient, platform: str, key: str, content: str = "hello", campaign_id: int = 1
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/platforms/{platform}/posts",
        json={"content": content, "campaign_id": campaign_id},
        headers={"Idempotency-Key": key},
    )
    return response.status, await response.json()


async def stats(client: TestClient) -> dict[str, Any]:
    response = await client.get("/platforms/stats")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


# --- parse_platform_spec ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("twitter:50ms", PlatformBehaviour("twitter", 0.05, 0.15, 0.0)),
        ("twitter:50ms:1%", PlatformBehaviour("twitter", 0.05, 0.15, 0.01)),
        ("x:20ms:0%:400ms", PlatformBehaviour("x", 0.02, 0.4, 0.0)),
        ("slow:1.5s:50%:2s", PlatformBehaviour("slow", 1.5, 2.0, 0.5)),
    ],
)
def test_platform_specs_parse_into_behaviours(spec: str, expected: PlatformBehaviour) -> None:
    assert parse_platform_spec(spec).to_dict() == pytest.approx(expected.to_dict())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("twitter", "expected name:median"),
        ("twitter:50:1%", "'twitter:50:1%': median: expected a duration"),
        ("twitter:50ms:1", "'twitter:50ms:1': error: expected a percentage"),
        ("twitter:50ms:120%", "error: expected a percentage.* between 0% and 100%"),
        ("twitter:50ms:1%:10ms", "latency_p99_s: expected seconds >= latency_median_s"),
        ("twitter:50ms:1%:fast", "p99: expected a duration"),
        ("my space:50ms", "name: expected 1-64"),
        ("a:1ms:1%:2ms:extra", "expected name:median"),
    ],
)
def test_bad_platform_specs_say_which_part_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_platform_spec(spec)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latency_median_s": 0.0}, "latency_median_s: expected seconds > 0"),
        ({"latency_p99_s": 0.01}, "latency_p99_s: expected seconds >= latency_median_s"),
        ({"error_rate": 1.5}, "error_rate: expected a fraction"),
        ({"error_rate": 0.7, "timeout_rate": 0.7}, "timeout_rate: error_rate \\+ timeout_rate"),
    ],
)
def test_behaviours_reject_impossible_values(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlatformBehaviour("twitter", **changes)


def test_default_platforms_are_the_five_networks_at_50_ms() -> None:
    assert sorted(DEFAULT_PLATFORMS) == ["facebook", "instagram", "linkedin", "tiktok", "twitter"]
    assert {b.latency_median_s for b in DEFAULT_PLATFORMS.values()} == {0.05}


# --- the HTTP app ----------------------------------------------------------------------


async def test_latency_follows_the_configured_median_and_p99(
    make_client: ClientFactory, sleep: RecordingSleep
) -> None:
    client = await make_client({"x": PlatformBehaviour("x", 0.08, 0.4)}, seed=3)
    for i in range(2000):
        status, _ = await post(client, "x", f"key-{i}")
        assert status == 201
    delays = np.array(sleep.delays_s)
    assert len(delays) == 2000
    assert np.median(delays) == pytest.approx(0.08, rel=0.15)
    assert np.percentile(delays, 99) == pytest.approx(0.4, rel=0.15)


async def test_the_error_rate_is_honoured_and_errors_store_nothing(
    make_client: ClientFactory, registry: CollectorRegistry
) -> None:
    client = await make_client({"x": PlatformBehaviour("x", error_rate=0.2)}, seed=11)
    statuses = [(await post(client, "x", f"key-{i}"))[0] for i in range(1000)]
    errors = statuses.count(503)
    assert set(statuses) == {201, 503}
    assert abs(errors / 1000 - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 1000)
    counts = (await stats(client))["x"]
    assert (counts["requests"], counts["errors"], counts["stored"]) == (1000, errors, 1000 - errors)

    def posts_total(outcome: str) -> float | None:
        return registry.get_sample_value(
            f"{names.SOCIAL_POSTS}_total", {names.LABEL_PLATFORM: "x", names.LABEL_OUTCOME: outcome}
        )

    assert (posts_total("created"), posts_total("error"), posts_total("duplicate")) == (
        1000 - errors,
        errors,
        0.0,
    )


async def test_the_same_seed_draws_the_same_fates(make_client: ClientFactory) -> None:
    runs = []
    for _ in range(2):
        client = await make_client(
            {"x": PlatformBehaviour("x", error_rate=0.5)}, seed=5, registry=CollectorRegistry()
        )
        runs.append([(await post(client, "x", f"key-{i}"))[0] for i in range(50)])
    assert runs[0] == runs[1]


async def test_a_repeated_idempotency_key_is_stored_once_under_the_same_id(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    first = await post(client, "twitter", "campaign-1-post-1")
    again = await post(client, "twitter", "campaign-1-post-1")
    elsewhere = await post(client, "facebook", "campaign-1-post-1")
    assert first == (
        201,
        {"id": "twitter-1", "platform": "twitter", "idempotency_key": "campaign-1-post-1"},
    )
    assert again == (200, first[1])
    assert elsewhere[0] == 201  # keys are per platform
    response = await client.get("/platforms/twitter/posts/twitter-1")
    assert response.status == 200
    assert await response.json() == {
        "id": "twitter-1",
        "platform": "twitter",
        "idempotency_key": "campaign-1-post-1",
        "campaign_id": 1,
        "content": "hello",
    }
    twitter = (await stats(client))["twitter"]
    assert (twitter["stored"], twitter["duplicates"]) == (1, 1)
    assert twitter["deliveries_per_key"] == {"max": 1, "keys": 1}


async def test_concurrent_posts_with_one_key_store_one_post(make_client: ClientFactory) -> None:
    client = await make_client()
    replies = await asyncio.gather(*(post(client, "tiktok", "same") for _ in range(20)))
    assert sorted(status for status, _ in replies) == [200] * 19 + [201]
    assert {body["id"] for _, body in replies} == {"tiktok-1"}


async def test_a_hung_post_is_stored_so_a_retry_after_the_client_timeout_is_deduplicated(
    make_client: ClientFactory,
) -> None:
    hang = RecordingSleep(block_from_s=30.0)
    client = await make_client({"x": PlatformBehaviour("x", timeout_rate=1.0)}, sleep=hang)
    hung = asyncio.create_task(post(client, "x", "k"))
    # the post reached the platform, which now never answers
    await eventually(lambda: hang.delays_s, 5, what="the post reaching the platform", poll_s=0.01)
    hung.cancel()  # the client gives up, as its timeout would, whenever that is
    with pytest.raises(asyncio.CancelledError):
        await hung
    assert hang.delays_s == [30.0]
    await client.post("/platforms/x/behaviour", json={"timeout_rate": 0})
    assert await post(client, "x", "k") == (
        200,
        {"id": "x-1", "platform": "x", "idempotency_key": "k"},
    )
    hang.release.set()
    counts = (await stats(client))["x"]
    assert (counts["timeouts"], counts["stored"], counts["duplicates"]) == (1, 1, 1)


async def test_a_retry_with_a_fresh_key_shows_as_a_second_delivery_of_the_content(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    await post(client, "linkedin", "first", content="launch", campaign_id=7)
    await post(client, "linkedin", "second", content="launch", campaign_id=7)
    await post(client, "linkedin", "third", content="launch", campaign_id=8)
    linkedin = (await stats(client))["linkedin"]
    assert linkedin["deliveries_per_key"] == {"max": 1, "keys": 3}
    assert linkedin["deliveries_per_content"] == {"max": 2, "keys": 2}


@pytest.mark.parametrize(
    ("body", "headers", "fields"),
    [
        ({"campaign_id": 1}, {"Idempotency-Key": "k"}, {"content"}),
        ({"content": "", "campaign_id": 1}, {"Idempotency-Key": "k"}, {"content"}),
        ({"content": "x" * 5001, "campaign_id": 1}, {"Idempotency-Key": "k"}, {"content"}),
        ({"content": "hi", "campaign_id": "1"}, {"Idempotency-Key": "k"}, {"campaign_id"}),
        ({"content": "hi", "campaign_id": True}, {"Idempotency-Key": "k"}, {"campaign_id"}),
        ({"content": "hi", "campaign_id": 1}, {}, {"Idempotency-Key"}),
        ({"content": "hi", "campaign_id": 1}, {"Idempotency-Key": "k" * 201}, {"Idempotency-Key"}),
        ({"content": 3}, {}, {"content", "campaign_id", "Idempotency-Key"}),
        (["not", "an", "object"], {"Idempotency-Key": "k"}, {"body"}),
    ],
)
async def test_invalid_posts_are_rejected_naming_each_field(
    make_client: ClientFactory, body: object, headers: dict[str, str], fields: set[str]
) -> None:
    client = await make_client()
    response = await client.post("/platforms/twitter/posts", json=body, headers=headers)
    assert response.status == 400
    reply = await response.json()
    assert set(reply["fields"]) == fields
    counts = (await stats(client))["twitter"]
    assert (counts["rejected"], counts["stored"]) == (1, 0)


async def test_unknown_platforms_and_posts_are_404_with_a_json_error(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    response = await client.post(
        "/platforms/myspace/posts",
        json={"content": "hi", "campaign_id": 1},
        headers={"Idempotency-Key": "k"},
    )
    assert response.status == 404
    assert "myspace" in (await response.json())["error"]
    missing = await client.get("/platforms/twitter/posts/twitter-99")
    assert missing.status == 404
    assert "twitter-99" in (await missing.json())["error"]


async def test_behaviour_changes_at_run_time(
    make_client: ClientFactory, sleep: RecordingSleep
) -> None:
    client = await make_client({"x": PlatformBehaviour("x", 0.05, 0.05)})
    assert (await post(client, "x", "a"))[0] == 201
    response = await client.post(
        "/platforms/x/behaviour",
        json={"error_rate": "100%", "latency_median_s": "200ms", "latency_p99_s": 0.2},
    )
    assert response.status == 200
    assert (await response.json())["error_rate"] == 1.0
    assert (await post(client, "x", "b"))[0] == 503
    await client.post("/platforms/x/behaviour", json={"error_rate": 0})
    assert (await post(client, "x", "b"))[0] == 201
    assert sleep.delays_s == pytest.approx([0.05, 0.2, 0.2])
    current = await (await client.get("/platforms/x/behaviour")).json()
    assert current == PlatformBehaviour("x", 0.2, 0.2).to_dict()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_rate": 2}, "error_rate"),
        ({"latency_median_s": "fast"}, "latency_median_s"),
        ({"latency_median_s": 1.0}, "latency_p99_s"),
        ({"colour": "red"}, "colour"),
        ({"name": "facebook"}, "name"),
        ([1], "body"),
    ],
)
async def test_an_invalid_behaviour_change_is_rejected_and_changes_nothing(
    make_client: ClientFactory, body: object, field: str
) -> None:
    client = await make_client()
    response = await client.post("/platforms/twitter/behaviour", json=body)
    assert response.status == 400
    assert list((await response.json())["fields"]) == [field]
    current = await (await client.get("/platforms/twitter/behaviour")).json()
    assert current == DEFAULT_PLATFORMS["twitter"].to_dict()


async def test_old_posts_are_dropped_beyond_max_posts_but_keys_stay_deduplicated(
    make_client: ClientFactory,
) -> None:
    client = await make_client({"x": PlatformBehaviour("x")}, max_posts=2)
    for key in ("a", "b", "c"):
        await post(client, "x", key)
    assert (await client.get("/platforms/x/posts/x-1")).status == 404
    assert (await client.get("/platforms/x/posts/x-3")).status == 200
    assert await post(client, "x", "a") == (
        200,
        {"id": "x-1", "platform": "x", "idempotency_key": "a"},
    )
    counts = (await stats(client))["x"]
    assert (counts["stored"], counts["evicted"], counts["duplicates"]) == (3, 1, 1)
