"""The course service: aiohttp handlers over SQLAlchemy, a two-level cache and a batcher.

    app = make_course_app(ServiceSettings.build("course"))

Routes: GET /courses/{course_id}, GET /courses/{course_id}/content?user_id=,
GET /users/{user_id}/progress, POST /enrollments, PATCH /enrollments/{enrollment_id}/progress,
GET /videos/{video_id}/stream?bandwidth_mbps=, GET /videos/{video_id}/{rendition}/playlist.m3u8,
POST /ai/generate, GET /static/{filename}, GET /, GET /dataset (how many users, courses,
videos and enrollments it holds: ids are 1..N, so load tests draw from these), plus /healthz,
/readyz, /metrics and /live/snapshot. A request header `Cache-Control: no-cache` bypasses the
cache on reads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from collector.db import instrument_engine, pool_sample
from collector.middleware import instrument
from collector.sla import SLA
from reference_services.ai_model import Generation, QuantizedModel
from reference_services.assets import AssetManifest
from reference_services.batching import BatchMetrics, DynamicBatcher
from reference_services.cache import CacheSource, LRUCache, RedisLayer, TwoLevelCache
from reference_services.course import api as api_spec
from reference_services.course import queries
from reference_services.course.content import (
    content_key,
    invalidation_patterns,
    personalize,
    progress_key,
)
from reference_services.course.models import (
    Course,
    CourseBase,
    CourseEnrollment,
    User,
    Video,
)
from reference_services.settings import ServiceSettings
from reference_services.static_routes import add_static_routes, api_cache_control
from reference_services.video import Rendition, master_playlist, media_playlist, select_rendition
from runtime.database import Database, make_engine, make_sqlite_reader
from runtime.http import (
    Conflict,
    NotFound,
    add_health_routes,
    add_json_errors,
    api,
)
from runtime.openapi import add_openapi_route

__all__ = ["SERVICE_KEY", "STATIC_SOURCE_DIR", "CourseService", "make_course_app"]

STATIC_SOURCE_DIR = Path(__file__).resolve().parent.parent / "static_src"
_JSON = "application/json"
_HLS = "application/vnd.apple.mpegurl"
_API_TTL_S = 300
"""The guide's CDN TTL for cacheable API reads (seconds)."""
_PUBLIC_CACHE_CONTROL = api_cache_control(_API_TTL_S)
_PRIVATE_CACHE_CONTROL = f"private, max-age={_API_TTL_S}"
"""Personalized reads: browsers may keep them, shared caches must not."""


class CourseService:
    """Handlers and the resources they share; resources are opened at start-up."""

    def __init__(self, settings: ServiceSettings, manifest: AssetManifest) -> None:
        self.settings = settings
        self.manifest = manifest
        self.db: Database | None = None
        self.cache: TwoLevelCache | None = None
        self.batcher: DynamicBatcher[str, Generation] | None = None

    def database(self) -> Database:
        if self.db is None:
            raise RuntimeError("the course service has not started")
        return self.db

    def two_level(self) -> TwoLevelCache:
        if self.cache is None:
            raise RuntimeError("the course service has not started")
        return self.cache

    # -- reads ---------------------------------------------------------------------------

    def _cached(self, request: web.Request, body: bytes, source: CacheSource) -> web.Response:
        return web.Response(
            body=body,
            content_type=_JSON,
            headers={"X-Cache": source.value, "Cache-Control": _PRIVATE_CACHE_CONTROL},
        )

    async def content(self, request: web.Request) -> web.Response:
        args = await api_spec.CONTENT.parse(request)
        course_id, user_id = args["course_id"], args["user_id"]
        key = content_key(course_id, user_id)
        cache = self.two_level()
        if "no-cache" in request.headers.get("Cache-Control", ""):
            body = await self._load_content(course_id, user_id)
            return self._cached(request, body, CacheSource.MISS)
        hit = cache.get_l1(key)
        if hit is not None:
            return self._cached(request, hit, CacheSource.L1)
        body, source = await cache.get_or_load(key, lambda: self._load_content(course_id, user_id))
        return self._cached(request, body, source)

    async def _load_content(self, course_id: int, user_id: int) -> bytes:
        courses, lessons, enrollments = await self.database().read(
            (queries.COURSE_BY_ID, {"course_id": course_id}),
            (queries.LESSONS_OF, {"course_id": course_id}),
            (queries.ENROLLMENT_OF, {"user_id": user_id, "course_id": course_id}),
        )
        if not courses:
            raise NotFound(f"course {course_id} does not exist")
        return personalize(courses[0], lessons, enrollments[0] if enrollments else None, user_id)

    async def course(self, request: web.Request) -> web.Response:
        course_id = (await api_spec.COURSE.parse(request))["course_id"]
        (rows,) = await self.database().read((queries.COURSE_BY_ID, {"course_id": course_id}))
        if not rows:
            raise NotFound(f"course {course_id} does not exist")
        row = rows[0]
        return web.json_response(
            {"id": row.id, "title": row.title, "description": row.description},
            headers={"Cache-Control": _PUBLIC_CACHE_CONTROL},
        )

    async def progress(self, request: web.Request) -> web.Response:
        user_id = (await api_spec.PROGRESS.parse(request))["user_id"]

        async def load() -> bytes:
            (rows,) = await self.database().read((queries.PROGRESS_OF_USER, {"user_id": user_id}))
            enrollments = [
                {
                    "course_id": r.course_id,
                    "course_title": r.course_title,
                    "progress_percentage": r.progress_percentage,
                }
                for r in rows
            ]
            return json.dumps({"user_id": user_id, "enrollments": enrollments}).encode()

        if "no-cache" in request.headers.get("Cache-Control", ""):
            return self._cached(request, await load(), CacheSource.MISS)
        body, source = await self.two_level().get_or_load(progress_key(user_id), load)
        return self._cached(request, body, source)

    # -- writes --------------------------------------------------------------------------

    async def enroll(self, request: web.Request) -> web.Response:
        args = await api_spec.ENROLL.parse(request)
        user_id, course_id = args["user_id"], args["course_id"]
        async with self.database().session() as session, session.begin():
            user = await session.scalar(select(User.id).where(User.id == user_id))
            course = await session.scalar(select(Course.id).where(Course.id == course_id))
            if user is None or course is None:
                missing = "user" if user is None else "course"
                raise NotFound(f"{missing} {user_id if user is None else course_id} does not exist")
            try:
                enrollment_id = await session.scalar(
                    insert(CourseEnrollment)
                    .values(
                        user_id=user_id,
                        course_id=course_id,
                        status="active",
                        progress_percentage=0.0,
                        updated_at=datetime.now(UTC),
                    )
                    .returning(CourseEnrollment.id)
                )
            except IntegrityError:
                raise Conflict(
                    f"user {user_id} is already enrolled in course {course_id}"
                ) from None
        await self.two_level().invalidate(invalidation_patterns(user_id))
        document = {
            "id": enrollment_id,
            "user_id": user_id,
            "course_id": course_id,
            "status": "active",
            "progress_percentage": 0.0,
        }
        return web.json_response(
            document, status=201, headers={"Location": f"/enrollments/{enrollment_id}"}
        )

    async def update_progress(self, request: web.Request) -> web.Response:
        args = await api_spec.UPDATE_PROGRESS.parse(request)
        enrollment_id = args["enrollment_id"]
        progress, status = args["progress_percentage"], args["status"]
        async with self.database().session() as session, session.begin():
            row = (
                await session.execute(
                    update(CourseEnrollment)
                    .where(CourseEnrollment.id == enrollment_id)
                    .values(
                        progress_percentage=float(progress),
                        status=status,
                        updated_at=datetime.now(UTC),
                    )
                    .returning(CourseEnrollment.user_id, CourseEnrollment.course_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"enrollment {enrollment_id} does not exist")
        await self.two_level().invalidate(invalidation_patterns(row.user_id))
        return web.json_response(
            {
                "id": enrollment_id,
                "user_id": row.user_id,
                "course_id": row.course_id,
                "status": status,
                "progress_percentage": float(progress),
            }
        )

    # -- video ---------------------------------------------------------------------------

    async def _renditions(self, video_id: int) -> tuple[float, list[Rendition]]:
        async def load() -> bytes:
            (rows,) = await self.database().read((queries.RENDITIONS_OF, {"video_id": video_id}))
            if not rows:
                raise NotFound(f"video {video_id} does not exist")
            return json.dumps(
                {
                    "duration_s": rows[0].duration_s,
                    "renditions": [
                        [r.name, r.width, r.height, r.bandwidth_bps, r.codecs] for r in rows
                    ],
                }
            ).encode()

        body, _ = await self.two_level().get_or_load(f"video:{video_id}:renditions", load)
        data = json.loads(body)
        return data["duration_s"], [Rendition(*r) for r in data["renditions"]]

    async def stream(self, request: web.Request) -> web.Response:
        args = await api_spec.STREAM.parse(request)
        video_id, bandwidth = args["video_id"], args["bandwidth_mbps"]
        _, renditions = await self._renditions(video_id)
        wanted = select_rendition(bandwidth)
        available = [r for r in renditions if r.bandwidth_bps <= wanted.bandwidth_bps] or [
            min(renditions, key=lambda r: r.bandwidth_bps)
        ]
        text = master_playlist(video_id, available, preferred=available[0])
        return web.Response(
            text=text,
            content_type=_HLS,
            headers={"Cache-Control": _PUBLIC_CACHE_CONTROL, "X-Rendition": available[0].name},
        )

    async def media(self, request: web.Request) -> web.Response:
        args = await api_spec.MEDIA.parse(request)
        video_id, name = args["video_id"], args["rendition"]
        duration_s, renditions = await self._renditions(video_id)
        rendition = next((r for r in renditions if r.name == name), None)
        if rendition is None:
            raise NotFound(f"video {video_id} has no rendition {name!r}")
        return web.Response(
            text=media_playlist(video_id, rendition, duration_s),
            content_type=_HLS,
            headers={"Cache-Control": _PUBLIC_CACHE_CONTROL},
        )

    # -- inference -----------------------------------------------------------------------

    async def generate(self, request: web.Request) -> web.Response:
        prompts = (await api_spec.GENERATE.parse(request))["prompts"]
        if self.batcher is None:
            raise RuntimeError("the course service has not started")
        results = await asyncio.gather(*(self.batcher.submit(p) for p in prompts))
        return web.json_response(
            {
                "results": [
                    {
                        "prompt": g.prompt,
                        "lessons": list(g.lessons),
                        "scores": [round(s, 4) for s in g.scores],
                        "snippet": g.snippet,
                    }
                    for g in results
                ]
            }
        )

    async def dataset(self, request: web.Request) -> web.Response:
        """What the database holds: load-test scenarios size their id ranges from it."""
        tables = {"users": User, "courses": Course, "videos": Video}
        tables["enrollments"] = CourseEnrollment
        results = await self.database().read(
            *((select(func.count()).select_from(table), {}) for table in tables.values())
        )
        counts = {name: int(rows[0][0]) for name, rows in zip(tables, results, strict=True)}
        return web.json_response(counts, headers={"Cache-Control": "no-cache"})

    async def index(self, request: web.Request) -> web.Response:
        css = self.manifest.url_for("app.css")
        js = self.manifest.url_for("app.js")
        html = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Courses</title>"
            f"<link rel='stylesheet' href='{css}'></head><body><h1>Courses</h1>"
            f"<script src='{js}' defer></script></body></html>"
        )
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )


SERVICE_KEY: web.AppKey[CourseService] = web.AppKey("course_service", CourseService)
"""The app's CourseService: its `cache` (a TwoLevelCache once started) for tests and tools."""


def make_course_app(
    settings: ServiceSettings,
    *,
    registry: CollectorRegistry | None = None,
    sla: SLA | None = None,
    manifest: AssetManifest | None = None,
) -> web.Application:
    """The course service, instrumented; its database and caches open at start-up."""
    service = CourseService(settings, manifest or AssetManifest.build(STATIC_SOURCE_DIR))
    app = web.Application(client_max_size=256 * 1024)
    app[SERVICE_KEY] = service
    router = app.router
    router.add_get("/", service.index)
    router.add_get("/courses/{course_id}", api(service.course))
    router.add_get("/courses/{course_id}/content", api(service.content))
    router.add_get("/users/{user_id}/progress", api(service.progress))
    router.add_post("/enrollments", api(service.enroll))
    router.add_patch("/enrollments/{enrollment_id}/progress", api(service.update_progress))
    router.add_get("/videos/{video_id}/stream", api(service.stream))
    router.add_get("/videos/{video_id}/{rendition}/playlist.m3u8", api(service.media))
    router.add_post("/ai/generate", api(service.generate))
    router.add_get("/dataset", api(service.dataset))
    add_static_routes(app, service.manifest)
    add_health_routes(app, lambda: service.db)
    add_openapi_route(app, "course", api_spec.OPERATIONS)
    add_json_errors(app)
    inst = instrument(app, service=settings.service, sla=sla, registry=registry)
    batch_metrics = BatchMetrics(
        registry if registry is not None else REGISTRY, service=settings.service
    )

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = make_engine(settings)
        reader = make_sqlite_reader(settings)
        instrument_engine(engine, inst.statements, settings.service)
        inst.pool_sources.append(lambda: pool_sample(engine))
        if reader is not None:
            instrument_engine(reader, inst.statements, settings.service)
            inst.pool_sources.append(lambda: pool_sample(reader))
        service.db = Database(engine, reader)
        redis_client = (
            aioredis.Redis.from_url(
                settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            if settings.redis_url
            else None
        )
        service.cache = TwoLevelCache(
            LRUCache(settings.l1_max_entries),
            RedisLayer(redis_client) if redis_client is not None else None,
            inst.cache,
            ttl_s=settings.cache_ttl_s,
        )
        model = QuantizedModel.create()
        service.batcher = DynamicBatcher(
            model.generate,
            max_batch=settings.ai_max_batch,
            max_wait_s=settings.ai_max_wait_s,
            on_batch=batch_metrics.observe,
        )
        try:
            await service.db.create_schema(CourseBase)
        except Exception as exc:  # start anyway: /readyz says 503 until the database answers
            app.logger.warning("schema not created yet: %s", exc)
        await service.cache.start()
        try:
            yield
        finally:
            await service.batcher.close()
            await service.cache.close()
            if redis_client is not None:
                await redis_client.aclose()
            await service.db.close()

    app.cleanup_ctx.append(resources)
    return app
