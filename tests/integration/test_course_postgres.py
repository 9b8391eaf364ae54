"""The course service on real PostgreSQL and Redis: the guide's index, a database outage
and recovery without a restart, and the same code path as SQLite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from reference_services.course.app import make_course_app
from reference_services.course.queries import PROGRESS_OF_USER
from reference_services.seed import seed_course
from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine
from tests.integration.outages import wait_for_status
from tests.tcp_proxy import TcpProxy


async def _seed(url: str) -> None:
    db = Database(make_engine(ServiceSettings.build("course", database_url=url)))
    try:
        await seed_course(db, users=2_000, courses=50, reset=True)
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await db.close()


@pytest.fixture(scope="module")
def seeded(postgres_url: str) -> str:
    """The course tables on PostgreSQL, dropped, recreated and seeded once per module."""
    asyncio.run(_seed(postgres_url))
    return postgres_url


async def test_the_progress_query_uses_the_guides_index(seeded: str) -> None:
    engine = create_async_engine(seeded)
    try:
        query = PROGRESS_OF_USER.params(user_id=42)
        compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        async with engine.connect() as conn:
            plan = "\n".join(row[0] for row in await conn.execute(text(f"EXPLAIN {compiled}")))
        assert "idx_course_enrollments_user_course" in plan, plan
    finally:
        await engine.dispose()


@pytest.fixture
async def proxied(seeded: str, redis_url: str) -> AsyncIterator[tuple[TestClient, TcpProxy]]:
    target = urlsplit(seeded.replace("postgresql+asyncpg", "postgresql"))
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = seeded.replace(f"{target.hostname}:{target.port or 5432}", f"127.0.0.1:{proxy.port}")
    if f"127.0.0.1:{proxy.port}" not in url:
        url = seeded.replace(f"@{target.hostname}/", f"@127.0.0.1:{proxy.port}/")
    settings = ServiceSettings.build(
        "course", database_url=url, redis_url=redis_url, command_timeout_s=2.0, pool_timeout_s=1.0
    )
    app = make_course_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client, proxy
    await proxy.stop()


async def test_a_database_outage_gives_503_then_recovers_without_restart(
    proxied: tuple[TestClient, TcpProxy],
) -> None:
    client, proxy = proxied
    assert (
        await client.get("/users/5/progress", headers={"Cache-Control": "no-cache"})
    ).status == 200
    await proxy.stop()
    down = await client.get("/users/5/progress", headers={"Cache-Control": "no-cache"})
    assert down.status == 503
    assert down.headers["Retry-After"] == "5"
    assert "database" in (await down.json())["error"]
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200
    await proxy.start()
    await wait_for_status(client, "/users/5/progress", 200, timeout_s=10)
    assert (await client.get("/readyz")).status == 200


async def test_the_redis_backed_service_serves_l2_hits_to_a_second_instance(
    seeded: str, redis_url: str
) -> None:
    settings = ServiceSettings.build("course", database_url=seeded, redis_url=redis_url)
    first = make_course_app(settings, registry=CollectorRegistry())
    second = make_course_app(settings, registry=CollectorRegistry())
    async with (
        TestClient(TestServer(first, host="127.0.0.1", port=0)) as a,
        TestClient(TestServer(second, host="127.0.0.1", port=0)) as b,
    ):
        user = 1_000 + int(time.time()) % 900
        await a.patch("/enrollments/1/progress", json={"progress_percentage": 10})
        miss = await a.get(f"/courses/2/content?user_id={user}")
        assert miss.headers["X-Cache"] in {"miss", "hit-l2"}
        hit = await b.get(f"/courses/2/content?user_id={user}")
        assert hit.headers["X-Cache"] == "hit-l2"
        assert await hit.json() == await miss.json()
