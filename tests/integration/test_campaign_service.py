"""The campaign service end to end on SQLite, posting to the real fake social app: validation,
listing, idempotent processing, deferral and the worker, the persistent queue's leases,
and publishing with retries, partial failures and idempotency keys."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from collector import conventions as names
from reference_services.campaign import make_campaign_app
from reference_services.campaign.jobs import (
    ClaimedJob,
    JobOutcome,
    JobQueue,
    JobResult,
    JobWorker,
)
from reference_services.campaign.models import (
    DEFAULT_CAMPAIGN_PLATFORMS,
    CampaignBase,
    JobKind,
    JobStatus,
    PostStatus,
)
from reference_services.campaign.publisher import Publisher, make_social_client
from reference_services.campaign.seed import seed_campaigns
from reference_services.settings import ServiceSettings
from reference_services.social import PlatformBehaviour, make_social_app
from runtime.database import Database, make_engine
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.conftest import ManualClock
from tests.waiting import eventually

PLATFORMS = list(DEFAULT_CAMPAIGN_PLATFORMS)
FAST = {name: PlatformBehaviour(name, 0.002, 0.005) for name in PLATFORMS}


@asynccontextmanager
async def social_server(
    behaviours: Mapping[str, PlatformBehaviour] = FAST,
    seed: int = 1,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncIterator[TestServer]:
    """The fake platforms on 127.0.0.1, port 0; `sleep` awaits each simulated delay."""
    server = TestServer(
        make_social_app(behaviours, seed=seed, registry=CollectorRegistry(), sleep=sleep),
        host="127.0.0.1",
        port=0,
    )
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def campaign_client(settings: ServiceSettings) -> AsyncIterator[TestClient]:
    """The campaign app started (worker included) on 127.0.0.1, port 0; stopped after."""
    app = make_campaign_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


def social_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def create_campaign(client: TestClient, **fields: Any) -> int:
    body = {"name": "Spring launch", "content": "Our spring launch is here!", **fields}
    response = await client.post("/campaigns", json=body)
    assert response.status == 201, await response.text()
    campaign_id: int = (await response.json())["id"]
    return campaign_id


async def wait_for_job(client: TestClient, job_id: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """Poll GET /jobs/{job_id} until it is no longer pending."""
    job: dict[str, Any] = {}

    async def settled() -> bool:
        job.update(await (await client.get(f"/jobs/{job_id}")).json())
        return job["status"] != JobStatus.PENDING

    await eventually(settled, timeout_s, what=f"job {job_id} no longer pending", poll_s=0.05)
    return job


async def social_stats(server: TestServer) -> dict[str, Any]:
    """GET /platforms/stats of the fake platforms."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url("/platforms/stats")) as response,
    ):
        stats: dict[str, Any] = await response.json()
    return stats


async def set_behaviour(server: TestServer, platform: str, **changes: float) -> None:
    """Change a fake platform's behaviour at run time."""
    async with aiohttp.ClientSession() as session:
        url = server.make_url(f"/platforms/{platform}/behaviour")
        async with session.post(url, json=changes) as response:
            assert response.status == 200, await response.text()


async def deferred_job_survives_a_restart(settings: ServiceSettings) -> None:
    """A job deferred by one instance is processed by the next on the same database."""
    limited = replace(settings, rate_limit_per_s=0.001, rate_limit_burst=1.0, defer_s=0.3)
    async with campaign_client(limited) as client:
        first, second = await create_campaign(client), await create_campaign(client)
        assert (await client.post(f"/campaigns/{first}/process")).status == 200
        deferred = await client.post(f"/campaigns/{second}/process")
        assert deferred.status == 202
        assert int(deferred.headers["Retry-After"]) >= 1
        job_id = (await deferred.json())["job_id"]
    db = Database(make_engine(settings))
    try:
        view = await JobQueue(db).get(job_id)
    finally:
        await db.close()
    assert view is not None and view.status == JobStatus.PENDING
    async with campaign_client(replace(limited, rate_limit_per_s=50.0)) as client:
        job = await wait_for_job(client, job_id)
        assert job["status"] == JobStatus.DONE and job["attempts"] == 1
        campaign = await (await client.get(f"/campaigns/{second}")).json()
        assert campaign["status"] == "scheduled"
        assert sorted(campaign["drafts"]) == sorted(PLATFORMS)


@pytest.fixture
def settings(tmp_path: Any) -> ServiceSettings:
    return ServiceSettings.build(
        "campaign",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'campaign.sqlite3'}",
        social_timeout_s=10.0 * TIMEOUT_UNIT_S,  # the fake platforms answer in ~5 ms
    )


@pytest.fixture
async def social() -> AsyncIterator[TestServer]:
    async with social_server() as server:
        yield server


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(
    settings: ServiceSettings, social: TestServer, registry: CollectorRegistry
) -> AsyncIterator[TestClient]:
    app = make_campaign_app(replace(settings, social_url=social_url(social)), registry=registry)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


# -- campaigns ---------------------------------------------------------------------------


async def test_a_created_campaign_is_served_with_its_defaults(client: TestClient) -> None:
    response = await client.post("/campaigns", json={"name": "Launch", "content": "Hello"})
    assert response.status == 201
    created = await response.json()
    assert response.headers["Location"] == f"/campaigns/{created['id']}"
    assert created["status"] == "draft" and created["platforms"] == PLATFORMS
    fetched = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert fetched == {**created, "drafts": {}}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"content": "x"}, {"name"}),
        ({"name": " ", "content": "x"}, {"name"}),
        ({"name": "n", "content": "x" * 5001}, {"content"}),
        ({"name": "n", "content": "x", "platforms": []}, {"platforms"}),
        ({"name": "n", "content": "x", "platforms": ["a b"]}, {"platforms"}),
        ({"name": "n", "content": "x", "status": "archived"}, {"status"}),
        ({"name": 3, "content": None, "status": ["draft"]}, {"name", "content", "status"}),
    ],
)
async def test_an_invalid_campaign_is_refused_naming_each_bad_field(
    client: TestClient, body: dict[str, Any], fields: set[str]
) -> None:
    response = await client.post("/campaigns", json=body)
    assert response.status == 400
    assert set((await response.json())["fields"]) == fields


async def test_unknown_campaigns_and_bad_queries_get_json_errors(client: TestClient) -> None:
    assert (await client.get("/campaigns/999")).status == 404
    assert (await client.post("/campaigns/999/process")).status == 404
    assert (await publish(client, 999, "k", ["twitter"]))[0] == 404
    assert (await client.get("/jobs/999")).status == 404
    assert (await client.get("/campaigns/abc")).status == 400
    bad_status = await client.get("/campaigns?status=archived")
    assert bad_status.status == 400 and "status" in (await bad_status.json())["fields"]
    bad_time = await client.get("/campaigns?created_after=yesterday")
    assert bad_time.status == 400 and "created_after" in (await bad_time.json())["fields"]


async def test_listing_filters_by_status_and_time_and_pages_on(
    client: TestClient, settings: ServiceSettings
) -> None:
    db = Database(make_engine(settings))
    try:
        await seed_campaigns(db, campaigns=100, reset=True)
    finally:
        await db.close()
    page = await (await client.get("/campaigns?status=active&limit=15")).json()
    assert len(page["campaigns"]) == 15 and {c["status"] for c in page["campaigns"]} == {"active"}
    times = [c["created_at"] for c in page["campaigns"]]
    assert times == sorted(times)
    rest = await client.get(
        "/campaigns", params={"status": "active", "created_after": page["next_created_after"]}
    )
    rest_page = await rest.json()
    assert len(rest_page["campaigns"]) == 5 and rest_page["next_created_after"] is None
    assert min(c["created_at"] for c in rest_page["campaigns"]) > times[-1]


# -- processing --------------------------------------------------------------------------


async def test_processing_twice_makes_one_draft_per_platform_and_changes_nothing_more(
    client: TestClient,
) -> None:
    campaign_id = await create_campaign(client, content="word " * 100)
    first = await (await client.post(f"/campaigns/{campaign_id}/process")).json()
    assert first["status"] == "scheduled" and first["drafts_created"] == len(PLATFORMS)
    assert len(first["drafts"]["twitter"]) == 280
    before = await (await client.get(f"/campaigns/{campaign_id}")).json()
    second = await (await client.post(f"/campaigns/{campaign_id}/process")).json()
    assert second == {**first, "drafts_created": 0}
    assert await (await client.get(f"/campaigns/{campaign_id}")).json() == before


async def test_paused_campaigns_are_neither_processed_nor_published(client: TestClient) -> None:
    campaign_id = await create_campaign(client, status="paused")
    assert (await client.post(f"/campaigns/{campaign_id}/process")).status == 409
    response = await client.post(
        f"/campaigns/{campaign_id}/publish",
        json={"platforms": ["twitter"]},
        headers={"Idempotency-Key": "k"},
    )
    assert response.status == 409


async def test_a_rate_limited_process_is_deferred_once_and_the_worker_runs_it(
    settings: ServiceSettings, limiter_clock: ManualClock
) -> None:
    # One token a second, burst one, on a clock that stands still: the second request is
    # deferred, and so is every try of the worker (every defer_s) until a second passes.
    limited = replace(settings, rate_limit_per_s=1.0, rate_limit_burst=1.0, defer_s=0.3)
    registry = CollectorRegistry()
    app = make_campaign_app(limited, registry=registry)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        first, second = await create_campaign(client), await create_campaign(client)
        assert (await client.post(f"/campaigns/{first}/process")).status == 200
        deferred = await client.post(f"/campaigns/{second}/process")
        again = await client.post(f"/campaigns/{second}/process")
        assert deferred.status == 202 and again.status == 202
        # Due in defer_s (0.3 s) or already due: rounded up, never below one second.
        assert deferred.headers["Retry-After"] == "1"
        body = await deferred.json()
        assert body["status"] == "deferred" and deferred.headers["Location"] == (
            f"/jobs/{body['job_id']}"
        )
        assert (await again.json())["job_id"] == body["job_id"]  # one pending job per campaign
        limiter_clock.now_s += 1.0  # one token again: the worker's next try takes it
        job = await wait_for_job(client, body["job_id"])
        assert job["status"] == JobStatus.DONE
        campaign = await (await client.get(f"/campaigns/{second}")).json()
        assert campaign["status"] == "scheduled" and len(campaign["drafts"]) == len(PLATFORMS)
    value = registry.get_sample_value
    assert value(names.JOBS_DEFERRED + "_total", {"service": "campaign"}) == 1
    done = {"service": "campaign", "outcome": JobOutcome.DONE.value}
    assert value(names.JOBS_PROCESSED + "_total", done) == 1
    limited_decisions = {"service": "campaign", "outcome": "limited"}
    assert (value(names.RATE_LIMIT_DECISIONS + "_total", limited_decisions) or 0) >= 2


async def test_a_deferred_job_survives_a_restart_on_sqlite(settings: ServiceSettings) -> None:
    await deferred_job_survives_a_restart(settings)


# -- publishing --------------------------------------------------------------------------


async def publish(
    client: TestClient, campaign_id: int, key: str, platforms: list[str] = PLATFORMS
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/campaigns/{campaign_id}/publish",
        json={"platforms": platforms},
        headers={"Idempotency-Key": key},
    )
    return response.status, await response.json()


async def test_publishing_posts_everywhere_once_and_a_repeat_returns_the_stored_posts(
    client: TestClient, social: TestServer
) -> None:
    campaign_id = await create_campaign(client)
    await client.post(f"/campaigns/{campaign_id}/process")
    status, body = await publish(client, campaign_id, "launch-1")
    assert status == 200 and body["campaign_id"] == campaign_id
    assert {r["status"] for r in body["results"].values()} == {"posted"}
    status, repeat = await publish(client, campaign_id, "launch-1")
    assert status == 200
    for platform, result in repeat["results"].items():
        assert result["status"] == "already_posted"
        assert result["external_id"] == body["results"][platform]["external_id"]
    stats = await social_stats(social)
    assert [stats[p]["stored"] for p in PLATFORMS] == [1] * len(PLATFORMS)
    assert [stats[p]["requests"] for p in PLATFORMS] == [1] * len(PLATFORMS)


async def test_concurrent_publishes_with_one_key_post_each_platform_once(
    client: TestClient, social: TestServer
) -> None:
    campaign_id = await create_campaign(client)
    replies = await asyncio.gather(*(publish(client, campaign_id, "same") for _ in range(6)))
    assert {status for status, _ in replies} == {200}
    for platform in PLATFORMS:
        assert len({body["results"][platform]["external_id"] for _, body in replies}) == 1
    stats = await social_stats(social)
    assert all(stats[p]["stored"] == 1 for p in PLATFORMS)
    assert all(stats[p]["deliveries_per_content"]["max"] == 1 for p in PLATFORMS)


async def test_a_failing_platform_is_retried_then_reported_and_a_retry_posts_only_it(
    settings: ServiceSettings,
) -> None:
    down = {**FAST, "tiktok": PlatformBehaviour("tiktok", 0.002, 0.005, error_rate=1.0)}
    async with social_server(down) as server:
        async with campaign_client(replace(settings, social_url=social_url(server))) as client:
            campaign_id = await create_campaign(client)
            status, body = await publish(client, campaign_id, "k1")
            assert status == 207
            tiktok = body["results"]["tiktok"]
            assert tiktok["status"] == "failed" and tiktok["attempts"] == 3
            assert tiktok["error"].startswith("HTTP 503")
            status, only_down = await publish(client, campaign_id, "k2", ["tiktok"])
            assert status == 502 and only_down["results"]["tiktok"]["status"] == "failed"
            await set_behaviour(server, "tiktok", error_rate=0)
            status, retried = await publish(client, campaign_id, "k1")
            assert status == 200
            assert retried["results"]["tiktok"]["status"] == "posted"
            others = {r["status"] for p, r in retried["results"].items() if p != "tiktok"}
            assert others == {"already_posted"}
        stats = await social_stats(server)
    assert stats["tiktok"]["stored"] == 1 and stats["tiktok"]["errors"] == 6
    assert all(stats[p]["stored"] == 1 for p in PLATFORMS)


async def test_a_timed_out_post_that_landed_is_not_posted_twice_on_retry(
    settings: ServiceSettings,
) -> None:
    # Twitter stores each post at once and then never answers (until the test is over), so
    # every attempt that reaches it times out whatever the machine's speed.
    hang_s = 3600.0
    released = asyncio.Event()

    async def sleep(seconds: float) -> None:
        if seconds == hang_s:
            await released.wait()
        else:
            await asyncio.sleep(seconds)

    hanging = {
        "twitter": PlatformBehaviour("twitter", 0.002, 0.005, timeout_rate=1.0, hang_s=hang_s)
    }
    async with social_server(hanging, sleep=sleep) as server:
        try:
            on_server = replace(settings, social_url=social_url(server))
            # Short enough to keep the test short, long enough for each request to land.
            quick = replace(on_server, social_timeout_s=0.5 * TIMEOUT_UNIT_S)
            async with campaign_client(quick) as client:
                campaign_id = await create_campaign(client, platforms=["twitter"])
                status, body = await publish(client, campaign_id, "k", ["twitter"])
            assert status == 502
            assert body["results"]["twitter"]["attempts"] == 3
            assert "Timeout" in body["results"]["twitter"]["error"]
            await set_behaviour(server, "twitter", timeout_rate=0)
            # The retry comes from an instance whose timeout nothing here can reach.
            async with campaign_client(on_server) as client:
                status, body = await publish(client, campaign_id, "k", ["twitter"])
            assert status == 200 and body["results"]["twitter"]["external_id"] == "twitter-1"
        finally:
            released.set()
        stats = (await social_stats(server))["twitter"]
    assert stats["timeouts"] >= 1  # at least one timed-out attempt landed: the case at hand
    # However many attempts landed, the first was stored and every later one got it back.
    assert stats["stored"] == 1 and stats["errors"] == stats["rejected"] == 0
    assert stats["duplicates"] == stats["requests"] - 1


async def test_retries_back_off_exponentially_and_reuse_one_downstream_key(
    settings: ServiceSettings,
) -> None:
    down = {"linkedin": PlatformBehaviour("linkedin", 0.002, 0.005, error_rate=1.0)}
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with social_server(down) as server:
        client = make_social_client(replace(settings, social_url=social_url(server)))
        publisher = Publisher(
            client, timeout_s=settings.social_timeout_s, max_attempts=4, backoff_s=0.1, sleep=record
        )
        try:
            result = await publisher.post("linkedin", campaign_id=5, content="hi", key="k")
        finally:
            await client.aclose()
        stats = await social_stats(server)
    assert (result.status, result.attempts) == (PostStatus.FAILED, 4)
    assert len(waits) == 3
    for n, wait_s in enumerate(waits):
        assert 0.05 * 2**n <= wait_s <= 0.15 * 2**n
    assert stats["linkedin"]["requests"] == 4 and stats["linkedin"]["errors"] == 4


async def test_an_unreachable_platform_api_is_retried_then_reported_as_failed(
    settings: ServiceSettings,
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with campaign_client(replace(settings, social_url=closed)) as client:
        campaign_id = await create_campaign(client)
        status, body = await publish(client, campaign_id, "k", ["twitter", "tiktok"])
    assert status == 502
    for result in body["results"].values():
        assert result["status"] == "failed" and result["attempts"] == 3
        assert result["error"].startswith("ConnectError")


async def test_publishing_past_the_rate_limit_is_refused_with_retry_after(
    settings: ServiceSettings, social: TestServer
) -> None:
    tight = replace(
        settings, social_url=social_url(social), rate_limit_per_s=0.01, rate_limit_burst=5.0
    )
    async with campaign_client(tight) as client:
        campaign_id = await create_campaign(client)
        assert (await publish(client, campaign_id, "a"))[0] == 200
        response = await client.post(
            f"/campaigns/{campaign_id}/publish",
            json={"platforms": ["twitter"]},
            headers={"Idempotency-Key": "b"},
        )
        assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
        assert (await publish(client, campaign_id, "a"))[0] == 200  # stored: no token needed


async def test_a_publish_needs_an_idempotency_key_and_platforms(client: TestClient) -> None:
    campaign_id = await create_campaign(client)
    response = await client.post(f"/campaigns/{campaign_id}/publish", json={"platforms": []})
    assert response.status == 400
    assert set((await response.json())["fields"]) == {"Idempotency-Key", "platforms"}


async def test_health_and_metrics_are_served(
    client: TestClient, registry: CollectorRegistry
) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    campaign_id = await create_campaign(client)
    await publish(client, campaign_id, "m", ["twitter"])
    text = await (await client.get("/metrics")).text()
    for family in (names.SOCIAL_POST_DURATION, names.JOBS_PROCESSED, names.JOBS_DUE):
        assert family in text
    labels = {"service": "campaign", "platform": "twitter"}
    assert registry.get_sample_value(names.SOCIAL_POST_DURATION + "_count", labels) == 1


# -- the queue ---------------------------------------------------------------------------


@pytest.fixture
async def queue(settings: ServiceSettings) -> AsyncIterator[tuple[JobQueue, ManualClock]]:
    db = Database(make_engine(settings))
    await db.create_schema(CampaignBase)
    clock = ManualClock()
    try:
        yield JobQueue(db, clock=clock, lease_s=30.0, max_attempts=3), clock
    finally:
        await db.close()


async def test_a_job_is_claimed_when_due_and_again_after_its_lease_expires(
    queue: tuple[JobQueue, ManualClock],
) -> None:
    jobs, clock = queue
    queued = await jobs.enqueue(JobKind.PROCESS_CAMPAIGN, 7, delay_s=60.0)
    assert await jobs.claim() == [] and await jobs.next_ready_in_s() == 60.0
    clock.now_s += 60.0
    assert await jobs.count_due() == 1
    (held,) = await jobs.claim()
    assert (held.id, held.campaign_id, held.attempts) == (queued.job_id, 7, 1)
    assert await jobs.claim() == []  # leased
    clock.now_s += 31.0  # the holder died: its lease expires
    (taken_over,) = await jobs.claim()
    assert taken_over.attempts == 2 and taken_over.token != held.token
    assert not await jobs.complete(held)  # the old holder changes nothing
    assert await jobs.complete(taken_over)
    view = await jobs.get(queued.job_id)
    assert view is not None and view.status == JobStatus.DONE
    assert await jobs.next_ready_in_s() is None


async def test_a_campaign_has_at_most_one_pending_job(queue: tuple[JobQueue, ManualClock]) -> None:
    jobs, clock = queue
    results = await asyncio.gather(
        *(jobs.enqueue(JobKind.PROCESS_CAMPAIGN, 3, 5.0) for _ in range(8))
    )
    assert sum(r.created for r in results) == 1 and len({r.job_id for r in results}) == 1
    other = await jobs.enqueue(JobKind.PROCESS_CAMPAIGN, 4, 5.0)
    assert other.created and other.job_id != results[0].job_id
    clock.now_s += 5.0
    for job in await jobs.claim():
        await jobs.complete(job)
    assert (await jobs.enqueue(JobKind.PROCESS_CAMPAIGN, 3, 5.0)).created


async def test_failures_back_off_then_fail_for_good_and_deferrals_are_free(
    queue: tuple[JobQueue, ManualClock],
) -> None:
    jobs, clock = queue
    queued = await jobs.enqueue(JobKind.PROCESS_CAMPAIGN, 9, 0.0)
    (job,) = await jobs.claim()
    assert await jobs.defer(job, 10.0)
    clock.now_s += 10.0
    outcomes = []
    for expected_wait_s in (1.0, 2.0, None):
        (job,) = await jobs.claim()
        outcomes.append(await jobs.fail(job, "boom"))
        if expected_wait_s is not None:
            assert await jobs.next_ready_in_s() == expected_wait_s
            clock.now_s += expected_wait_s
    assert outcomes == [JobOutcome.RETRY, JobOutcome.RETRY, JobOutcome.FAILED]
    view = await jobs.get(queued.job_id)
    assert view is not None and (view.status, view.attempts) == (JobStatus.FAILED, 3)
    assert view.last_error == "boom"


async def test_the_worker_counts_outcomes_and_releases_its_batch_when_stopped(
    queue: tuple[JobQueue, ManualClock],
) -> None:
    jobs, clock = queue

    async def handle(job: ClaimedJob) -> JobResult:
        if job.campaign_id == 1:
            return JobResult(JobOutcome.DONE)
        if job.campaign_id == 2:
            return JobResult(JobOutcome.DEFERRED, delay_s=60.0)
        raise RuntimeError("bug")

    seen: list[JobOutcome] = []
    worker = JobWorker(jobs, handle, on_outcome=seen.append)
    for campaign_id in (1, 2, 3):
        await jobs.enqueue(JobKind.PROCESS_CAMPAIGN, campaign_id, 0.0)
    assert await worker.run_once() == 3
    assert seen == [JobOutcome.DONE, JobOutcome.DEFERRED, JobOutcome.RETRY]
    clock.now_s += 60.0
    worker.stop()
    assert await worker.run_once() == 0
    # Released, not consumed: each claim so far but the failed one was given back.
    assert {j.campaign_id: j.attempts for j in await jobs.claim()} == {2: 1, 3: 2}


async def test_a_platform_the_social_side_does_not_know_is_a_422_not_a_502(
    client: TestClient, social: TestServer
) -> None:
    """Found by Schemathesis: a campaign may list any platform name; one that no platform
    answers to (404 there) made the publish a 502, a server error no retry can mend."""
    campaign_id = await create_campaign(client, platforms=["myspace"])
    status, body = await publish(client, campaign_id, "unknown-1", ["myspace"])
    assert status == 422
    result = body["results"]["myspace"]
    assert (result["status"], result["attempts"]) == ("rejected", 1)
    assert result["error"].startswith("HTTP 404")
    mixed = await create_campaign(client, platforms=["myspace", "twitter"])
    status, body = await publish(client, mixed, "unknown-2", ["myspace", "twitter"])
    assert status == 207 and body["results"]["twitter"]["status"] == "posted"
