"""The receiver end to end on SQLite and PostgreSQL: auth, the size limit, validation with
the field path, each alert event stored once, the current-state and history reads, and
the metrics. Helpers here are shared by the other receiver tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from collector import conventions as names
from receiver.app import make_receiver_app
from receiver.destinations import ForwardConfig
from receiver.models import AlertEvent, ReceiverBase
from receiver.settings import ReceiverSettings

pytestmark = pytest.mark.integration

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def alert(
    fingerprint: str,
    status: str = "firing",
    *,
    start_minute: int = 0,
    service: str = "course",
    alertname: str = "CourseErrorBudgetBurn",
) -> dict[str, Any]:
    """One alert as Alertmanager writes it."""
    starts = BASE_TIME + timedelta(minutes=start_minute)
    ends = "0001-01-01T00:00:00Z" if status == "firing" else (starts + timedelta(minutes=5))
    return {
        "status": status,
        "labels": {"alertname": alertname, "service": service, "severity": "page"},
        "annotations": {"summary": f"{alertname} on {service}"},
        "startsAt": starts.isoformat().replace("+00:00", ".123456789Z"),
        "endsAt": ends if isinstance(ends, str) else ends.isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A version-4 notification carrying `alerts`."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="CourseErrorBudgetBurn"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "loadwatch",
        "groupLabels": {"alertname": "CourseErrorBudgetBurn"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts),
    }


async def reset_tables(url: str) -> None:
    """Drop the receiver's tables (PostgreSQL test database shared across tests)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ReceiverBase.metadata.drop_all)
    finally:
        await engine.dispose()


async def count_events(url: str) -> dict[str, int]:
    """Stored events by event key -> how many rows (each must be 1)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(AlertEvent.event_key, func.count()).group_by(AlertEvent.event_key)
            )
            return {key: count for key, count in rows.all()}
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh receiver database: a SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'receiver.sqlite3'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(reset_tables(url))
    yield url


@asynccontextmanager
async def receiver_client(
    database_url: str,
    forward: ForwardConfig | None = None,
    *,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] = time.time,
    rng: Callable[[], float] = lambda: 0.5,
    **overrides: Any,
) -> AsyncIterator[TestClient]:
    """The receiver started on 127.0.0.1, port 0 (forwarder included); stopped after."""
    settings = ReceiverSettings.build(token=TOKEN, database_url=database_url, **overrides)
    app = make_receiver_app(
        settings, forward, registry=registry or CollectorRegistry(), clock=clock, rng=rng
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


@dataclass
class Destination:
    """A local stand-in for Slack or a webhook: records every request, answers `statuses`
    in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((request.path, body, dict(request.headers)))
        status = self.statuses.pop(0) if self.statuses else 200
        self.answered.append(status)
        return web.json_response({"ok": status == 200}, status=status)

    def delivered(self) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        """Requests answered 200."""
        return [r for r, s in zip(self.received, self.answered, strict=True) if s == 200]


@asynccontextmanager
async def destination_server(destination: Destination) -> AsyncIterator[TestServer]:
    """`destination` served at /slack and /hook on 127.0.0.1, port 0."""
    app = web.Application()
    app.router.add_post("/slack", destination.handle)
    app.router.add_post("/hook", destination.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


# -- auth, size, validation ----------------------------------------------------------------


async def test_a_post_without_or_with_a_wrong_token_is_refused(database_url: str) -> None:
    body = notification(alert("a1"))
    async with receiver_client(database_url) as client:
        missing = await client.post("/alerts", json=body)
        wrong = await client.post("/alerts", json=body, headers={"Authorization": "Bearer x"})
        reads = await client.get("/alerts")
        assert (missing.status, wrong.status, reads.status) == (401, 401, 401)
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await missing.json())["error"] == "a valid bearer token is required"
        listed = await (await client.get("/alerts", headers=AUTH)).json()
        assert listed == {"alerts": []}, "nothing was stored by refused posts"


async def test_a_body_over_the_limit_is_refused_with_413(database_url: str) -> None:
    big = notification(*(alert(f"fp{i:04d}") for i in range(40)))
    async with receiver_client(database_url, max_body_bytes=4096) as client:
        response = await client.post("/alerts", json=big, headers=AUTH)
        assert response.status == 413
        assert (await response.json())["fields"] == {"body": "expected at most 4096 bytes"}
        chunked = await client.post(
            "/alerts",
            data=_chunks(b'{"version": "4", "alerts": [' + b" " * 8000 + b"]}"),
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert chunked.status == 413, "a chunked body without Content-Length is limited too"
        small = await client.post("/alerts", json=notification(alert("a1")), headers=AUTH)
        assert small.status == 200


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


async def test_an_invalid_payload_is_a_400_naming_the_field(database_url: str) -> None:
    bad = notification(alert("a1"), alert("a2"))
    bad["alerts"][1]["startsAt"] = "yesterday"
    async with receiver_client(database_url) as client:
        response = await client.post("/alerts", json=bad, headers=AUTH)
        assert response.status == 400
        error = await response.json()
        assert list(error["fields"]) == ["alerts[1].startsAt"]
        assert error["error"].startswith("alerts[1].startsAt: expected an RFC 3339 timestamp")
        not_json = await client.post("/alerts", data=b"{nope", headers=AUTH)
        assert not_json.status == 400
        assert (await not_json.json())["fields"] == {"body": "expected a JSON object"}
        for raw, reason in [
            (b'{"truncatedAlerts": ' + b"7" * 5000 + b"}", "more than 4300 digits"),
            (b'{"alerts": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nests deeper than"),
            (b'{"receiver": "a\\u0000b"}', "NUL"),
        ]:  # were 500s: the receiver parsed with json.loads and no limits
            refused = await client.post("/alerts", data=raw, headers=AUTH)
            assert refused.status == 400 and reason in (await refused.json())["error"]
        unmatched = await client.get("/nowhere", headers=AUTH)
        assert unmatched.status == 404 and unmatched.content_type == "application/json"
        assert await count_events(database_url) == {}, "a bad notification stores nothing"


# -- storage -------------------------------------------------------------------------------


async def test_each_alert_event_is_stored_once_however_often_it_is_posted(
    database_url: str,
) -> None:
    first = notification(alert("a1"), alert("a2"), alert("a1"))
    async with receiver_client(database_url) as client:
        answers = [
            await (await client.post("/alerts", json=first, headers=AUTH)).json() for _ in range(3)
        ]
        assert answers == [
            {"stored": 2, "duplicates": 1},
            {"stored": 0, "duplicates": 3},
            {"stored": 0, "duplicates": 3},
        ]
        concurrent = notification(alert("a3"), alert("a1", "resolved"))
        results = await asyncio.gather(
            *(client.post("/alerts", json=concurrent, headers=AUTH) for _ in range(20))
        )
        bodies = [await r.json() for r in results]
        assert all(r.status == 200 for r in results)
        assert sum(b["stored"] for b in bodies) == 2, "concurrent copies store each event once"
    counts = await count_events(database_url)
    assert len(counts) == 4 and set(counts.values()) == {1}


async def test_current_state_and_history_follow_the_latest_event(database_url: str) -> None:
    async with receiver_client(database_url) as client:
        posts = [
            notification(alert("a1"), alert("b1", service="campaign", alertname="Down")),
            notification(alert("a1", "resolved")),
            notification(alert("a1", start_minute=30), alert("c1", "resolved")),
        ]
        for body in posts:
            assert (await client.post("/alerts", json=body, headers=AUTH)).status == 200

        async def fingerprints(query: str) -> list[tuple[str, str]]:
            listed = await (await client.get(f"/alerts{query}", headers=AUTH)).json()
            return [(a["fingerprint"], a["status"]) for a in listed["alerts"]]

        assert await fingerprints("") == [("a1", "firing"), ("b1", "firing"), ("c1", "resolved")]
        assert await fingerprints("?status=firing") == [("a1", "firing"), ("b1", "firing")]
        assert await fingerprints("?status=firing&service=campaign") == [("b1", "firing")]
        assert await fingerprints("?status=resolved") == [("c1", "resolved")]
        bad = await client.get("/alerts?status=pending", headers=AUTH)
        assert bad.status == 400 and "status" in (await bad.json())["fields"]

        history = await (await client.get("/alerts/a1/history", headers=AUTH)).json()
        assert [(e["status"], e["startsAt"]) for e in history["events"]] == [
            ("firing", "2026-12-01T08:00:00.123456+00:00"),
            ("resolved", "2026-12-01T08:00:00.123456+00:00"),
            ("firing", "2026-12-01T08:30:00.123456+00:00"),
        ]
        assert history["events"][1]["endsAt"] == "2026-12-01T08:05:00+00:00"
        missing = await client.get("/alerts/zz/history", headers=AUTH)
        assert missing.status == 404


async def test_health_readiness_and_metrics(database_url: str) -> None:
    registry = CollectorRegistry()
    async with receiver_client(database_url, registry=registry) as client:
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
        await client.post("/alerts", json=notification(alert("a1"), alert("a1")), headers=AUTH)
        await client.post("/alerts", json={"version": "4"}, headers=AUTH)
        await client.post("/alerts", json={})
        text = await (await client.get("/metrics")).text()

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample(f"{names.RECEIVER_ALERTS_RECEIVED}_total") == 2
    assert sample(f"{names.RECEIVER_ALERTS_STORED}_total") == 1
    assert sample(f"{names.RECEIVER_ALERTS_DUPLICATE}_total") == 1
    rejected = f"{names.RECEIVER_NOTIFICATIONS_REJECTED}_total"
    assert sample(rejected, reason="invalid") == 1
    assert sample(rejected, reason="unauthorized") == 1
    assert sample(rejected, reason="unavailable") == 0
    assert f'{names.HTTP_REQUESTS}_total{{service="receiver",route="/alerts",method="POST"' in text
    assert names.RECEIVER_OUTBOX_DEPTH in text
