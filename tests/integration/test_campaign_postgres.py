"""The campaign service on real PostgreSQL and Redis: the guide's index in the plan, one
rate limit shared by two instances, a deferred job surviving a restart, and 1,000
concurrent publishes against platforms failing 20 % of the time, each posted once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from collector import conventions as names
from reference_services.campaign import make_campaign_app
from reference_services.campaign.jobs import JobQueue
from reference_services.campaign.models import JobKind, Post, PostStatus
from reference_services.campaign.queries import list_campaigns
from reference_services.campaign.seed import seed_campaigns
from reference_services.settings import ServiceSettings
from reference_services.social import PlatformBehaviour
from runtime.database import Database, make_engine
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.conftest import ManualClock
from tests.integration.outages import wait_for_status
from tests.integration.test_campaign_service import (
    PLATFORMS,
    campaign_client,
    create_campaign,
    deferred_job_survives_a_restart,
    social_server,
    social_stats,
    social_url,
    wait_for_job,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


async def _reset_and_seed(url: str) -> None:
    db = Database(make_engine(ServiceSettings.build("campaign", database_url=url)))
    try:
        await seed_campaigns(db, campaigns=5_000, reset=True)  # drop_all + create_all first
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE campaigns"))
    finally:
        await db.close()


@pytest.fixture(scope="module")
def seeded(postgres_url: str) -> str:
    """The campaign tables on PostgreSQL, dropped, recreated and seeded once per module."""
    asyncio.run(_reset_and_seed(postgres_url))
    return postgres_url


@pytest.fixture
async def settings(seeded: str) -> ServiceSettings:
    """Settings on the seeded database, with no jobs, drafts or posts left by other tests."""
    engine = create_async_engine(seeded)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM jobs"))
            await conn.execute(text("DELETE FROM posts"))
            await conn.execute(text("DELETE FROM post_drafts"))
    finally:
        await engine.dispose()
    return ServiceSettings.build(
        "campaign", database_url=seeded, social_timeout_s=5.0 * TIMEOUT_UNIT_S
    )


async def test_the_list_query_uses_the_guides_index(seeded: str) -> None:
    engine = create_async_engine(seeded)
    try:
        query = list_campaigns("active", datetime.now(UTC) - timedelta(days=2), 100)
        compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        async with engine.connect() as conn:
            plan = "\n".join(row[0] for row in await conn.execute(text(f"EXPLAIN {compiled}")))
    finally:
        await engine.dispose()
    assert "idx_campaigns_status_created" in plan, plan
    condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "status" in condition and "created_at" in condition, plan


async def test_two_instances_sharing_redis_hold_one_rate_limit(
    settings: ServiceSettings, redis_url: str
) -> None:
    service = f"campaign-{uuid.uuid4().hex[:8]}"  # the Redis bucket is named after it
    shared = replace(
        settings, service=service, redis_url=redis_url, rate_limit_per_s=0.001,
        rate_limit_burst=4.0,
    )  # fmt: skip
    registries = [CollectorRegistry(), CollectorRegistry()]
    servers = [
        TestServer(make_campaign_app(shared, registry=r), host="127.0.0.1", port=0)
        for r in registries
    ]
    try:
        async with TestClient(servers[0]) as one, TestClient(servers[1]) as other:
            ids = [await create_campaign(one) for _ in range(10)]
            statuses = [
                (await (one if n % 2 else other).post(f"/campaigns/{c}/process")).status
                for n, c in enumerate(ids)
            ]
    finally:
        redis = Redis.from_url(redis_url)
        keys = [k async for k in redis.scan_iter(match=f"loadwatch:ratelimit:{service}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    assert Counter(statuses) == {200: 4, 202: 6}  # one bucket of 4, not 4 per instance
    allowed = sum(
        r.get_sample_value(
            names.RATE_LIMIT_DECISIONS + "_total", {"service": service, "outcome": "allowed"}
        )
        or 0
        for r in registries
    )
    assert allowed == 4


async def test_a_deferred_job_survives_a_restart_on_postgresql(settings: ServiceSettings) -> None:
    await deferred_job_survives_a_restart(settings)


async def test_concurrent_workers_never_claim_the_same_job(settings: ServiceSettings) -> None:
    databases = [Database(make_engine(settings)) for _ in range(2)]
    try:
        queues = [JobQueue(db) for db in databases]
        for campaign_id in range(1, 41):
            await queues[0].enqueue(JobKind.PROCESS_CAMPAIGN, campaign_id, 0.0)
        claimed: list[int] = []
        for _ in range(10):  # claims skip rows locked by each other: some come back short
            batches = await asyncio.gather(*(queues[n % 2].claim(limit=5) for n in range(8)))
            claimed += [job.id for batch in batches for job in batch]
            if len(claimed) >= 40:
                break
    finally:
        for db in databases:
            await db.close()
    assert len(claimed) == len(set(claimed)) == 40  # every job claimed exactly once


async def test_a_database_outage_gives_503_and_the_worker_drains_again_after_it(
    settings: ServiceSettings, limiter_clock: ManualClock
) -> None:
    target = urlsplit(settings.database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    through_proxy = settings.database_url.replace(
        f"@{target.netloc.split('@')[-1]}", f"@127.0.0.1:{proxy.port}"
    )
    config = replace(
        settings, database_url=through_proxy, command_timeout_s=2.0, pool_timeout_s=1.0,
        rate_limit_per_s=1.0, rate_limit_burst=1.0, defer_s=0.3,
    )  # fmt: skip
    try:
        async with campaign_client(config) as client:
            assert (await client.get("/campaigns/1")).status == 200
            await proxy.stop()
            down = await client.post("/campaigns/1/process")
            assert down.status == 503 and down.headers["Retry-After"] == "5"
            assert (await client.get("/readyz")).status == 503
            assert (await client.get("/healthz")).status == 200
            await proxy.start()
            await wait_for_status(client, "/readyz", 200)
            first, second = await create_campaign(client), await create_campaign(client)
            assert (await client.post(f"/campaigns/{first}/process")).status == 200
            deferred = await client.post(f"/campaigns/{second}/process")
            assert deferred.status == 202  # the limiter's clock stands still: no refill
            limiter_clock.now_s += 1.0
            job = await wait_for_job(client, (await deferred.json())["job_id"])
            assert job["status"] == "done"
    finally:
        await proxy.stop()


async def publish_one(
    http: aiohttp.ClientSession, base: str, campaign_id: int, platform: str
) -> tuple[int, str, dict[str, Any]]:
    async with http.post(
        f"{base}/campaigns/{campaign_id}/publish",
        json={"platforms": [platform]},
        headers={"Idempotency-Key": f"launch-{campaign_id}"},
    ) as response:
        assert response.status in (200, 502), await response.text()
        result: dict[str, Any] = (await response.json())["results"][platform]
    return campaign_id, platform, result


async def test_a_thousand_concurrent_publishes_post_each_platform_exactly_once(
    settings: ServiceSettings,
) -> None:
    flaky = {p: PlatformBehaviour(p, 0.002, 0.01, error_rate=0.2) for p in PLATFORMS}
    async with social_server(flaky, seed=11) as social:
        # 1,000 requests at once, of which 100 reach the service at a time (a loop busy with
        # all 1,000 starves asyncpg's 5 s connect timeout on a loaded machine), queueing for
        # 20 database connections, all kept open, and 50 social ones. How long the last one
        # waits depends on the machine's speed; this test is about posting once, not about
        # throughput, so the waits may take minutes.
        config = replace(
            settings, social_url=social_url(social), rate_limit_per_s=1e6,
            rate_limit_burst=1e6, social_max_connections=50, pool_min=20, pool_max=20,
            pool_timeout_s=600.0 * TIMEOUT_UNIT_S, social_timeout_s=60.0 * TIMEOUT_UNIT_S,
        )  # fmt: skip
        app = make_campaign_app(config, registry=CollectorRegistry())
        connector = aiohttp.TCPConnector(limit=100)
        async with TestClient(TestServer(app, host="127.0.0.1", port=0), connector=connector) as c:
            base = str(c.make_url("")).rstrip("/")
            ids = await asyncio.gather(*(create_campaign(c) for _ in range(200)))
            pending = [(campaign_id, p) for campaign_id in ids for p in PLATFORMS]
            assert len(pending) == 1_000
            fresh: dict[tuple[int, str], str] = {}
            rounds = 0
            while pending and rounds < 5:  # failed posts (0.2**3 each) are retried
                rounds += 1
                replies = await asyncio.gather(
                    *(publish_one(c.session, base, cid, p) for cid, p in pending)
                )
                for campaign_id, platform, result in replies:
                    if result["status"] == PostStatus.POSTED:
                        assert (campaign_id, platform) not in fresh
                        fresh[(campaign_id, platform)] = result["external_id"]
                pending = [(cid, p) for cid, p, r in replies if r["status"] == "failed"]
            assert pending == []
            replay = await asyncio.gather(
                *(publish_one(c.session, base, cid, p) for cid, p in fresh)
            )
            assert {r["status"] for _, _, r in replay} == {PostStatus.ALREADY_POSTED.value}
            assert {(cid, p): r["external_id"] for cid, p, r in replay} == fresh
        stats = await social_stats(social)
    db = Database(make_engine(settings))
    try:
        async with db.session() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Post).where(Post.status == "posted")
            )
    finally:
        await db.close()
    assert len(fresh) == 1_000 == stored
    assert sum(stats[p]["stored"] for p in PLATFORMS) == 1_000
    assert all(stats[p]["errors"] > 0 for p in PLATFORMS)  # the retries were exercised
    assert max(stats[p]["deliveries_per_key"]["max"] for p in PLATFORMS) == 1
    assert max(stats[p]["deliveries_per_content"]["max"] for p in PLATFORMS) == 1
