"""The course service end to end on SQLite: caching, one-statement progress, writes, video,
inference, static assets, health."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from collector.middleware import INSTRUMENTATION_KEY
from reference_services.course.app import make_course_app
from reference_services.seed import seed_course
from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('course') / 'course.sqlite3'}"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    settings = ServiceSettings.build("course", database_url=database_url)
    db = Database(make_engine(settings))
    try:
        await seed_course(db, users=60, courses=6, reset=True)
    finally:
        await db.close()
    app = make_course_app(settings, registry=CollectorRegistry())
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


def statements_run(client: TestClient) -> int:
    inst = client.app[INSTRUMENTATION_KEY]
    return sum(s.count for s in inst.statements.all_series())


async def test_content_is_cached_in_l1_after_the_first_read(client: TestClient) -> None:
    first = await client.get("/courses/3/content?user_id=7")
    assert first.status == 200
    assert first.headers["X-Cache"] == "miss"
    assert first.headers["Cache-Control"] == "private, max-age=300"
    body = await first.json()
    assert body["course"]["id"] == 3 and body["user_id"] == 7
    assert len(body["lessons"]) == 10
    before = statements_run(client)
    second = await client.get("/courses/3/content?user_id=7")
    assert second.headers["X-Cache"] == "hit-l1"
    assert await second.json() == body
    assert statements_run(client) == before


async def test_no_cache_requests_bypass_the_cache(client: TestClient) -> None:
    await client.get("/courses/2/content?user_id=5")
    fresh = await client.get("/courses/2/content?user_id=5", headers={"Cache-Control": "no-cache"})
    assert fresh.headers["X-Cache"] == "miss"


async def test_bad_and_missing_inputs_get_json_errors(client: TestClient) -> None:
    missing = await client.get("/courses/999/content?user_id=1")
    assert missing.status == 404
    assert "course 999" in (await missing.json())["error"]
    bad = await client.get("/courses/1/content?user_id=abc")
    assert bad.status == 400
    assert "user_id" in (await bad.json())["fields"]
    absent = await client.get("/courses/1/content")
    assert (await absent.json())["fields"] == {"user_id": "required"}


async def test_progress_is_one_statement_with_course_titles(client: TestClient) -> None:
    before = statements_run(client)
    response = await client.get("/users/4/progress", headers={"Cache-Control": "no-cache"})
    assert response.status == 200
    assert statements_run(client) - before == 1
    body = await response.json()
    assert body["user_id"] == 4
    for row in body["enrollments"]:
        assert row["progress_percentage"] > 0
        assert row["course_title"]


async def test_enrolling_invalidates_the_users_cached_content(client: TestClient) -> None:
    progress = await (await client.get("/users/11/progress")).json()
    enrolled = {row["course_id"] for row in progress["enrollments"]}
    all_enrolled = set()
    for course in range(1, 7):
        doc = await (await client.get(f"/courses/{course}/content?user_id=11")).json()
        if doc["enrolled"]:
            all_enrolled.add(course)
    target = next(c for c in range(1, 7) if c not in all_enrolled)
    assert (await client.get(f"/courses/{target}/content?user_id=11")).headers[
        "X-Cache"
    ] == "hit-l1"
    created = await client.post("/enrollments", json={"user_id": 11, "course_id": target})
    assert created.status == 201
    assert created.headers["Location"].startswith("/enrollments/")
    after = await client.get(f"/courses/{target}/content?user_id=11")
    assert after.headers["X-Cache"] == "miss"
    assert (await after.json())["enrolled"] is True
    other_user = await client.get(f"/courses/{target}/content?user_id=12")
    assert other_user.status == 200
    duplicate = await client.post("/enrollments", json={"user_id": 11, "course_id": target})
    assert duplicate.status == 409
    assert enrolled <= all_enrolled


async def test_enrollment_validation_and_missing_references(client: TestClient) -> None:
    bad = await client.post("/enrollments", json={"user_id": "x", "course_id": -1})
    assert bad.status == 400
    assert set((await bad.json())["fields"]) == {"user_id", "course_id"}
    missing = await client.post("/enrollments", json={"user_id": 99999, "course_id": 1})
    assert missing.status == 404
    not_json = await client.post(
        "/enrollments", data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status == 400


async def not_enrolled_course(client: TestClient, user_id: int) -> int:
    for course in range(1, 7):
        doc = await client.get(
            f"/courses/{course}/content?user_id={user_id}", headers={"Cache-Control": "no-cache"}
        )
        if not (await doc.json())["enrolled"]:
            return course
    raise AssertionError(f"user {user_id} is enrolled everywhere; seed fewer enrollments")


async def test_progress_updates_invalidate_and_validate(client: TestClient) -> None:
    course = await not_enrolled_course(client, 20)
    created = await client.post("/enrollments", json={"user_id": 20, "course_id": course})
    assert created.status == 201
    enrollment_id = (await created.json())["id"]
    await client.get(f"/courses/{course}/content?user_id=20")
    await client.get("/users/20/progress")
    updated = await client.patch(
        f"/enrollments/{enrollment_id}/progress", json={"progress_percentage": 55}
    )
    assert updated.status == 200
    doc = await client.get(f"/courses/{course}/content?user_id=20")
    assert doc.headers["X-Cache"] == "miss"
    assert (await doc.json())["progress_percentage"] == 55.0
    progress = await client.get("/users/20/progress")
    assert progress.headers["X-Cache"] == "miss"
    assert {"course_id": course, "progress_percentage": 55.0}.items() <= next(
        row for row in (await progress.json())["enrollments"] if row["course_id"] == course
    ).items()
    bad = await client.patch(
        f"/enrollments/{enrollment_id}/progress", json={"progress_percentage": 120, "status": "x"}
    )
    assert bad.status == 400
    assert set((await bad.json())["fields"]) == {"progress_percentage", "status"}
    missing = await client.patch("/enrollments/999999/progress", json={"progress_percentage": 1})
    assert missing.status == 404


@pytest.mark.parametrize(
    ("bandwidth", "rendition", "variants"),
    [("6", "1080p", 3), ("5", "720p", 2), ("1.5", "480p", 1)],
)
async def test_video_quality_follows_bandwidth(
    client: TestClient, bandwidth: str, rendition: str, variants: int
) -> None:
    response = await client.get(f"/videos/3/stream?bandwidth_mbps={bandwidth}")
    assert response.status == 200
    assert response.headers["X-Rendition"] == rendition
    assert response.content_type == "application/vnd.apple.mpegurl"
    text = await response.text()
    assert text.startswith("#EXTM3U")
    assert text.count("#EXT-X-STREAM-INF") == variants
    media = await client.get(f"/videos/3/{rendition}/playlist.m3u8")
    assert media.status == 200
    assert "#EXT-X-ENDLIST" in await media.text()


async def test_video_errors(client: TestClient) -> None:
    assert (await client.get("/videos/3/stream?bandwidth_mbps=fast")).status == 400
    assert (await client.get("/videos/3/stream?bandwidth_mbps=-1")).status == 400
    assert (await client.get("/videos/99999/stream?bandwidth_mbps=3")).status == 404
    assert (await client.get("/videos/3/4k/playlist.m3u8")).status == 404


async def test_ai_generation_answers_every_prompt(client: TestClient) -> None:
    prompts = ["intro to gradient descent", "sql joins for analysts", "vision transformers"]
    response = await client.post("/ai/generate", json={"prompts": prompts})
    assert response.status == 200
    results = (await response.json())["results"]
    assert [r["prompt"] for r in results] == prompts
    assert all(r["lessons"] and r["snippet"] for r in results)
    again = await (await client.post("/ai/generate", json={"prompts": prompts[:1]})).json()
    assert again["results"][0] == results[0]
    assert (await client.post("/ai/generate", json={"prompts": []})).status == 400
    assert (await client.post("/ai/generate", json={"prompts": ["x" * 3000]})).status == 400


async def test_the_index_links_content_hashed_immutable_assets(client: TestClient) -> None:
    index = await (await client.get("/")).text()
    css_url = index.split("href='", 1)[1].split("'", 1)[0]
    assert css_url.startswith("/static/app.") and css_url.endswith(".css")
    asset = await client.get(css_url)
    assert asset.status == 200
    assert asset.headers["Cache-Control"] == "public, max-age=86400, immutable"
    again = await client.get(css_url, headers={"If-None-Match": asset.headers["ETag"]})
    assert again.status == 304


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200


async def test_every_api_route_is_recorded_under_its_template(client: TestClient) -> None:
    await client.get("/courses/2/content?user_id=3")
    await client.get("/users/3/progress")
    text = await (await client.get("/metrics")).text()
    assert 'route="/courses/{course_id}/content",method="GET",code="200"' in text
    assert 'route="/users/{user_id}/progress",method="GET",code="200"' in text
    assert (
        'loadwatch_db_statement_duration_seconds_count{service="course",statement="SELECT' in text
    )
    assert 'loadwatch_cache_requests_total{service="course",layer="l1",result="miss"}' in text
