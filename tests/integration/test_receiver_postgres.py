"""The receiver on real PostgreSQL where only PostgreSQL can show it: the answer waits
for the commit (a commit refused by a deferred trigger is a 5xx and stores nothing), and
a database that goes away (through a TCP proxy that is stopped) gives 503 until it is
back."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from collector import conventions as names
from tests.integration.test_receiver_service import (
    AUTH,
    alert,
    count_events,
    notification,
    receiver_client,
    reset_tables,
)
from tests.tcp_proxy import TcpProxy
from tests.waiting import eventually

pytestmark = pytest.mark.integration

_REFUSE_AT_COMMIT = [
    """CREATE OR REPLACE FUNCTION loadwatch_refuse_commit() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.fingerprint = 'refused-at-commit' THEN
           RAISE EXCEPTION 'commit refused for the test';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE CONSTRAINT TRIGGER loadwatch_refuse_commit AFTER INSERT ON alert_events
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION loadwatch_refuse_commit()""",
]


def via_proxy(url: str, proxy: TcpProxy) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


async def test_a_commit_that_fails_is_never_acknowledged(postgres_url: str) -> None:
    await reset_tables(postgres_url)
    async with receiver_client(postgres_url) as client:
        engine = create_async_engine(postgres_url)
        try:
            async with engine.begin() as conn:
                for statement in _REFUSE_AT_COMMIT:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()
        body = notification(alert("ok-1"), alert("refused-at-commit"))
        refused = await client.post("/alerts", json=body, headers=AUTH)
        assert refused.status == 500, "the INSERT succeeded; only the COMMIT failed"
        assert await count_events(postgres_url) == {}, "nothing of the refused commit is kept"
        accepted = await client.post("/alerts", json=notification(alert("ok-1")), headers=AUTH)
        assert (await accepted.json()) == {"stored": 1, "duplicates": 0}
    assert len(await count_events(postgres_url)) == 1


async def test_storage_down_gives_503_until_it_is_back(postgres_url: str) -> None:
    await reset_tables(postgres_url)
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    registry = CollectorRegistry()
    try:
        url = via_proxy(postgres_url, proxy)
        async with receiver_client(url, registry=registry, pool_timeout_s=2.0) as client:
            first = await client.post("/alerts", json=notification(alert("a1")), headers=AUTH)
            assert first.status == 200
            await proxy.stop()
            down = await client.post("/alerts", json=notification(alert("a2")), headers=AUTH)
            assert down.status == 503
            assert down.headers["Retry-After"] == "5"
            assert (await down.json())["error"] == "the database is unreachable; retry later"
            assert (await client.get("/readyz")).status == 503
            await proxy.start()

            async def stored_again() -> bool:
                again = await client.post("/alerts", json=notification(alert("a2")), headers=AUTH)
                return again.status == 200

            await eventually(stored_again)
            assert (await client.get("/readyz")).status == 200
    finally:
        await proxy.stop()
    assert len(await count_events(postgres_url)) == 2
    unavailable = registry.get_sample_value(
        f"{names.RECEIVER_NOTIFICATIONS_REJECTED}_total", {names.LABEL_REASON: "unavailable"}
    )
    assert unavailable is not None and unavailable >= 1
