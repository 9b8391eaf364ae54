"""Bad input on SQLite gets a JSON 4xx with the reason on every JSON route of course,
campaign and social, never a 500: bodies the parser refuses for any reason, strings a
database cannot store, ids beyond the columns, times beyond the date library, and the
404/405/413 that aiohttp answers itself."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from reference_services.campaign import make_campaign_app
from reference_services.course.app import make_course_app
from reference_services.settings import ServiceSettings
from reference_services.social import make_social_app
from runtime.http import MAX_ID

BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "long integer": (b'{"user_id": ' + b"7" * 5000 + b"}", "more than 4300 digits"),
    "deep nesting": (b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nests deeper than"),
    "bad utf-8": (b'{"name": "\xc3\x28"}', "is not UTF-8"),
    "lone surrogate": (b'{"name": "x\\ud800", "content": "\\udc00"}', "lone surrogate"),
    "nul": (b'{"name": "a\\u0000b", "content": "c"}', "NUL"),
    "nan": (b'{"progress_percentage": NaN}', "NaN is not a JSON value"),
    "truncated": (b'{"name": ', "is not valid JSON"),
}
KEY = {"Idempotency-Key": "hardening-1", "Content-Type": "application/json"}
JSON_ROUTES = {
    "course": [
        ("POST", "/enrollments"),
        ("PATCH", "/enrollments/1/progress"),
        ("POST", "/ai/generate"),
    ],
    "campaign": [("POST", "/campaigns"), ("POST", "/campaigns/1/publish")],
    "social": [("POST", "/platforms/twitter/posts"), ("POST", "/platforms/twitter/behaviour")],
}


@asynccontextmanager
async def serving(service: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    """One service on 127.0.0.1:0 (SQLite in tmp_path), started and stopped."""
    registry = CollectorRegistry()
    url = f"sqlite+aiosqlite:///{tmp_path / f'{service}.sqlite3'}"
    if service == "course":
        app = make_course_app(ServiceSettings.build("course", database_url=url), registry=registry)
    elif service == "campaign":
        settings = ServiceSettings.build("campaign", database_url=url)
        app = make_campaign_app(settings, registry=registry)
    else:
        app = make_social_app(registry=registry)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


async def assert_json_error(response: object, status: int, reason: str) -> dict[str, object]:
    from aiohttp import ClientResponse

    assert isinstance(response, ClientResponse)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json", text
    body = await response.json()
    assert isinstance(body, dict) and isinstance(body["error"], str), body
    assert reason in body["error"], body
    return body


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
async def test_every_json_route_answers_every_unparsable_body_with_a_400(
    service: str, tmp_path: Path
) -> None:
    async with serving(service, tmp_path) as client:
        for method, path in JSON_ROUTES[service]:
            for name, (raw, reason) in BAD_BODIES.items():
                response = await client.request(method, path, data=raw, headers=KEY)
                try:
                    await assert_json_error(response, 400, reason)
                except AssertionError as exc:
                    raise AssertionError(f"{method} {path} with {name}: {exc}") from None


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
async def test_aiohttps_own_404_405_and_413_have_the_json_error_shape(
    service: str, tmp_path: Path
) -> None:
    async with serving(service, tmp_path) as client:
        body = await assert_json_error(await client.get("/no/such/route"), 404, "no route")
        assert body == {"error": "no route matches '/no/such/route'"}
        method, path = JSON_ROUTES[service][0]
        not_allowed = await client.put(path)
        await assert_json_error(not_allowed, 405, f"allowed: {not_allowed.headers['Allow']}")
        huge = io.BytesIO(b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}')
        too_large = await client.request(method, path, data=huge, headers=KEY)
        await assert_json_error(too_large, 413, "larger than")


async def test_course_ids_beyond_the_integer_columns_are_400(tmp_path: Path) -> None:
    async with serving("course", tmp_path) as client:
        for path in (
            f"/courses/{MAX_ID + 1}",
            f"/courses/1/content?user_id={MAX_ID + 1}",
            f"/users/{2**62}/progress",
            f"/videos/{MAX_ID + 1}/stream?bandwidth_mbps=3",
        ):
            await assert_json_error(await client.get(path), 400, str(MAX_ID))
        enroll = await client.post("/enrollments", json={"user_id": MAX_ID + 1, "course_id": 1})
        await assert_json_error(enroll, 400, "invalid enrollment")


@pytest.mark.parametrize(
    "created_after", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
)
async def test_a_time_outside_the_date_librarys_range_in_utc_is_400(
    created_after: str, tmp_path: Path
) -> None:
    async with serving("campaign", tmp_path) as client:
        response = await client.get("/campaigns", params={"created_after": created_after})
        body = await assert_json_error(response, 400, "outside years 1..9999")
        assert body["fields"] == {"created_after": "expected a time within years 1..9999 in UTC"}
