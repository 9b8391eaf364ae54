"""On real PostgreSQL, input that passes Python but not the database is a 4xx, never a
500: ids beyond the int32 columns on every id route, strings PostgreSQL text cannot hold,
and times the date library cannot convert."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from reference_services.campaign import make_campaign_app
from reference_services.course.app import make_course_app
from reference_services.settings import ServiceSettings
from runtime.http import MAX_ID

BODY = {
    "/progress": {"progress_percentage": 5},
    "/publish": {"platforms": ["twitter"]},
}
HEADERS = {"Idempotency-Key": "hardening-pg"}
COURSE_ROUTES = [
    ("GET", "/courses/{id}"),
    ("GET", "/courses/{id}/content?user_id=1"),
    ("GET", "/courses/1/content?user_id={id}"),
    ("GET", "/users/{id}/progress"),
    ("PATCH", "/enrollments/{id}/progress"),
    ("GET", "/videos/{id}/stream?bandwidth_mbps=3"),
    ("GET", "/videos/{id}/720p/playlist.m3u8"),
]
CAMPAIGN_ROUTES = [
    ("GET", "/campaigns/{id}"),
    ("POST", "/campaigns/{id}/process"),
    ("POST", "/campaigns/{id}/publish"),
    ("GET", "/jobs/{id}"),
]


@pytest.fixture
async def course(postgres_url: str) -> AsyncIterator[TestClient]:
    settings = ServiceSettings.build("course", database_url=postgres_url)
    app = make_course_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


@pytest.fixture
async def campaign(postgres_url: str) -> AsyncIterator[TestClient]:
    settings = ServiceSettings.build("campaign", database_url=postgres_url)
    app = make_campaign_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


async def call(client: TestClient, method: str, template: str, id_: int) -> ClientResponse:
    path = template.format(id=id_)
    body = next((b for suffix, b in BODY.items() if path.endswith(suffix)), None)
    return await client.request(method, path, json=body, headers=HEADERS)


async def status_and_error(response: ClientResponse) -> tuple[int, str]:
    assert response.content_type == "application/json", await response.text()
    return response.status, (await response.json())["error"]


async def check_id_routes(client: TestClient, routes: list[tuple[str, str]]) -> None:
    for method, template in routes:
        status, error = await status_and_error(await call(client, method, template, MAX_ID + 1))
        assert (status, str(MAX_ID) in error) == (400, True), (template, status, error)
        at_limit = await call(client, method, template, MAX_ID)  # reaches the database
        assert at_limit.status in {200, 404}, (template, await at_limit.text())


async def test_every_course_id_route_answers_ids_beyond_int32_with_400(
    course: TestClient,
) -> None:
    await check_id_routes(course, COURSE_ROUTES)
    for fields in ({"user_id": MAX_ID + 1, "course_id": 1}, {"user_id": 1, "course_id": 2**31}):
        enroll = await course.post("/enrollments", json=fields)
        assert enroll.status == 400, await enroll.text()
    missing = await course.post("/enrollments", json={"user_id": MAX_ID, "course_id": MAX_ID})
    assert missing.status == 404, await missing.text()


async def test_every_campaign_id_route_answers_ids_beyond_int32_with_400(
    campaign: TestClient,
) -> None:
    await check_id_routes(campaign, CAMPAIGN_ROUTES)


@pytest.mark.parametrize("name", ["x\ud800", "a\x00b"])
async def test_a_name_postgresql_text_cannot_hold_is_400(campaign: TestClient, name: str) -> None:
    response = await campaign.post("/campaigns", json={"name": name, "content": "hello"})
    status, error = await status_and_error(response)
    assert (status, "NUL or a lone surrogate" in error) == (400, True), error


async def test_a_time_beyond_year_9999_in_utc_is_400(campaign: TestClient) -> None:
    response = await campaign.get(
        "/campaigns", params={"created_after": "9999-12-31T23:59:59-14:00"}
    )
    assert (await status_and_error(response))[0] == 400
    latest = await campaign.get("/campaigns", params={"created_after": "9999-12-31T09:59:59Z"})
    assert latest.status == 200, await latest.text()
