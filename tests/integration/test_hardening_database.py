"""A database that answers nothing (packets dropped, connections left open) costs a
request at most `ServiceSettings.db_give_up_s` before a 503, not the old 30 s; and publishing to a
platform the campaign does not list is the client's mistake (400), not a failed post."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from reference_services.campaign import make_campaign_app
from reference_services.course.app import make_course_app
from reference_services.settings import ServiceSettings
from reference_services.social import make_social_app
from tests.conftest import TIMEOUT_UNIT_S


class BlackholeProxy:
    """A TCP forwarder to PostgreSQL that can go silent: while `silent`, bytes in either
    direction are read and dropped and no connection is closed, like a lost network."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.silent = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.silent:
                while await client_r.read(65536):
                    pass
                return
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
            await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))
        except (ConnectionError, OSError):
            pass
        finally:
            client_w.close()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.silent:
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def blackhole(postgres_url: str) -> AsyncIterator[tuple[BlackholeProxy, str]]:
    target = urlsplit(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    proxy = BlackholeProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    netloc = f"{target.hostname}:{target.port}" if target.port else f"{target.hostname}"
    url = postgres_url.replace(f"@{netloc}/", f"@127.0.0.1:{proxy.port}/")
    assert f"127.0.0.1:{proxy.port}" in url
    yield proxy, url
    await proxy.stop()


async def timed_get(client: TestClient, path: str) -> tuple[int, float, str]:
    start = time.monotonic()
    response = await client.get(path, headers={"Cache-Control": "no-cache"})
    return response.status, time.monotonic() - start, await response.text()


async def test_a_silent_database_gives_503_within_the_documented_bound(
    blackhole: tuple[BlackholeProxy, str],
) -> None:
    proxy, url = blackhole
    settings = ServiceSettings.build("course", database_url=url, pool_min=1, pool_max=2)
    app = make_course_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        assert (await timed_get(client, "/users/5/progress"))[0] == 200  # a pooled connection
        proxy.silent = True
        results = await asyncio.gather(*(timed_get(client, "/users/5/progress") for _ in range(3)))
        for status, elapsed_s, body in results:
            assert status == 503, body
            assert "database" in body
            assert elapsed_s <= settings.db_give_up_s + 2 * TIMEOUT_UNIT_S, elapsed_s
        print("answered 503 after", ", ".join(f"{r[1]:.2f} s" for r in results))
        proxy.silent = False


async def test_publishing_to_a_platform_the_campaign_does_not_list_is_400(
    tmp_path: Path,
) -> None:
    social = TestServer(make_social_app(registry=CollectorRegistry()), host="127.0.0.1", port=0)
    await social.start_server()
    settings = ServiceSettings.build(
        "campaign",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/campaign.sqlite3",
        social_url=str(social.make_url("")).rstrip("/"),
    )
    app = make_campaign_app(settings, registry=CollectorRegistry())
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            created = await client.post(
                "/campaigns",
                json={"name": "n", "content": "c", "platforms": ["twitter", "linkedin"]},
            )
            campaign_id = (await created.json())["id"]
            response = await client.post(
                f"/campaigns/{campaign_id}/publish",
                json={"platforms": ["twitter", "tiktok"]},
                headers={"Idempotency-Key": "unlisted"},
            )
            body = await response.json()
            assert response.status == 400, body
            assert body["error"] == f"campaign {campaign_id} does not list tiktok"
            assert body["fields"] == {"platforms": "expected some of twitter, linkedin"}
            listed = await client.post(
                f"/campaigns/{campaign_id}/publish",
                json={"platforms": ["twitter"]},
                headers={"Idempotency-Key": "listed"},
            )
            assert listed.status == 200, await listed.text()
            assert list((await listed.json())["results"]) == ["twitter"]
            everywhere = await client.post(
                f"/campaigns/{campaign_id}/publish",
                json={},
                headers={"Idempotency-Key": "everywhere"},
            )
            assert everywhere.status == 200, await everywhere.text()
            assert sorted((await everywhere.json())["results"]) == ["linkedin", "twitter"]
    finally:
        await social.close()
