"""The campaign service: campaigns, rate-limited processing with a persistent deferral
queue, and idempotent parallel publishing to the social platforms.

    app = make_campaign_app(ServiceSettings.build("campaign", social_url="http://..."))

Routes: POST /campaigns, GET /campaigns?status=&created_after=&limit=,
GET /campaigns/{campaign_id}, POST /campaigns/{campaign_id}/process (200 processed now, 202
deferred with Retry-After and the job id), POST /campaigns/{campaign_id}/publish (to the
platforms of the body, or without them to every platform the campaign lists) with an
Idempotency-Key header (200 all posted, 207 some failed, 502 all failed, 429 rate limited,
400 for a platform the campaign does not list), GET /jobs/{job_id}, GET /dataset (how many
campaigns it holds: ids are 1..N, so load tests draw from it), plus /healthz, /readyz,
/metrics and /live/snapshot.

The token bucket (`rate_limit_per_s`, `rate_limit_burst`) lives in Redis when `redis_url`
is set, so the limit holds across instances (a local bucket answers while Redis is down);
else in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import func, select

from collector.db import instrument_engine, pool_sample
from collector.middleware import instrument
from collector.sla import SLA
from reference_services.campaign import api as api_spec
from reference_services.campaign import queries
from reference_services.campaign.jobs import (
    ClaimedJob,
    JobMetrics,
    JobOutcome,
    JobQueue,
    JobResult,
    JobWorker,
)
from reference_services.campaign.models import (
    Campaign,
    CampaignBase,
    JobKind,
    PostStatus,
    utc,
)
from reference_services.campaign.publisher import (
    IDEMPOTENCY_HEADER,
    PostMetrics,
    PostResult,
    Publisher,
    draft_for,
    make_social_client,
    publish_status,
)
from reference_services.ratelimit import (
    Decision,
    LocalRateLimiter,
    RateLimiter,
    RateLimitMetrics,
    RedisRateLimiter,
)
from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine
from runtime.http import (
    BadRequest,
    Conflict,
    NotFound,
    TooManyRequests,
    add_health_routes,
    add_json_errors,
    api,
)
from runtime.openapi import add_openapi_route

__all__ = ["PROCESS_LIMIT_KEY", "PUBLISH_LIMIT_KEY", "make_campaign_app"]

PROCESS_LIMIT_KEY = "process"
"""Rate-limiter bucket of campaign processing (one token a campaign)."""
PUBLISH_LIMIT_KEY = "publish"
"""Rate-limiter bucket of social posts (one token a platform posted to)."""


class CampaignService:
    """Handlers and the resources they share; resources are opened at start-up."""

    def __init__(self, settings: ServiceSettings, metrics: JobMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.db: Database | None = None
        self.queue: JobQueue | None = None
        self.worker: JobWorker | None = None
        self.limiter: RateLimiter | None = None
        self.limit_metrics: RateLimitMetrics | None = None
        self.publisher: Publisher | None = None

    def _ready(self) -> tuple[Database, JobQueue, RateLimiter, Publisher]:
        if self.db is None or self.queue is None or self.limiter is None or not self.publisher:
            raise RuntimeError("the campaign service has not started")
        return self.db, self.queue, self.limiter, self.publisher

    async def _acquire(self, key: str, tokens: float = 1.0) -> Decision:
        _, _, limiter, _ = self._ready()
        decision = await limiter.acquire(key, tokens)
        if self.limit_metrics is not None:
            self.limit_metrics.observe(decision)
        return decision

    async def _campaign(self, campaign_id: int) -> Any:
        db, *_ = self._ready()
        async with db.session() as session:
            row = (await session.execute(queries.campaign_by_id(campaign_id))).first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        return row

    async def create(self, request: web.Request) -> web.Response:
        args = await api_spec.CREATE.parse(request)
        name, content, status = args["name"], args["content"], args["status"]
        platforms = args["platforms"]
        db, *_ = self._ready()
        async with db.session() as session, session.begin():
            campaign = Campaign(
                name=name,
                content=content,
                platforms=platforms,
                status=status,
                created_at=datetime.now(UTC),
            )
            session.add(campaign)
        return web.json_response(
            queries.campaign_document(campaign),
            status=201,
            headers={"Location": f"/campaigns/{campaign.id}"},
        )

    async def list_campaigns(self, request: web.Request) -> web.Response:
        args = await api_spec.LIST.parse(request)
        status, created_after, limit = args["status"], args["created_after"], args["limit"]
        db, *_ = self._ready()
        async with db.session() as session:
            rows = (
                await session.execute(queries.list_campaigns(status, created_after, limit))
            ).all()
        campaigns = [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "created_at": utc(r.created_at).isoformat(),
            }
            for r in rows
        ]
        next_after = campaigns[-1]["created_at"] if len(campaigns) == limit else None
        return web.json_response({"campaigns": campaigns, "next_created_after": next_after})

    async def dataset(self, request: web.Request) -> web.Response:
        """What the database holds: load-test scenarios size their id ranges from it."""
        db, *_ = self._ready()
        async with db.session() as session:
            campaigns = await session.scalar(select(func.count()).select_from(Campaign))
        return web.json_response(
            {"campaigns": int(campaigns or 0)}, headers={"Cache-Control": "no-cache"}
        )

    async def get(self, request: web.Request) -> web.Response:
        campaign_id = (await api_spec.GET.parse(request))["campaign_id"]
        row = await self._campaign(campaign_id)
        db, *_ = self._ready()
        async with db.session() as session:
            drafts = (await session.execute(queries.drafts_of(campaign_id))).all()
        document = queries.campaign_document(row)
        document["drafts"] = {d.platform: d.content for d in drafts}
        return web.json_response(document)

    async def process(self, request: web.Request) -> web.Response:
        campaign_id = (await api_spec.PROCESS.parse(request))["campaign_id"]
        row = await self._campaign(campaign_id)
        if row.status not in queries.PROCESSABLE_STATUSES:
            raise Conflict(str(queries.CampaignNotProcessable(campaign_id, row.status)))
        db, queue, *_ = self._ready()
        if (await self._acquire(PROCESS_LIMIT_KEY)).allowed:
            try:
                done = await queries.process_campaign(db, campaign_id, datetime.now(UTC))
            except queries.CampaignNotProcessable as exc:
                raise Conflict(str(exc)) from None
            return web.json_response(
                {
                    "campaign_id": campaign_id,
                    "status": done.status,
                    "drafts_created": done.drafts_created,
                    "drafts": done.drafts,
                }
            )
        queued = await queue.enqueue(JobKind.PROCESS_CAMPAIGN, campaign_id, self.settings.defer_s)
        if queued.created:
            self.metrics.deferred.inc()
        retry_after_s = max(0.0, queued.due_at.timestamp() - datetime.now(UTC).timestamp())
        return web.json_response(
            {
                "campaign_id": campaign_id,
                "status": "deferred",
                "job_id": queued.job_id,
                "due_at": queued.due_at.isoformat(),
                "retry_after_s": round(retry_after_s, 3),
            },
            status=202,
            headers={
                "Retry-After": str(max(1, math.ceil(retry_after_s))),
                "Location": f"/jobs/{queued.job_id}",
            },
        )

    async def handle_job(self, job: ClaimedJob) -> JobResult:
        """The worker's handler: process the campaign, or defer again while rate limited."""
        db, *_ = self._ready()
        if not (await self._acquire(PROCESS_LIMIT_KEY)).allowed:
            return JobResult(JobOutcome.DEFERRED, delay_s=self.settings.defer_s)
        try:
            await queries.process_campaign(db, job.campaign_id, datetime.now(UTC))
        except (queries.CampaignNotFound, queries.CampaignNotProcessable) as exc:
            return JobResult(JobOutcome.FAILED, error=str(exc))
        return JobResult(JobOutcome.DONE)

    async def publish(self, request: web.Request) -> web.Response:
        args = await api_spec.PUBLISH.parse(request)
        campaign_id, key = args["campaign_id"], args[IDEMPOTENCY_HEADER]
        requested = args.get("platforms")
        platforms: list[str] = [] if requested is None else requested
        db, _, _, publisher = self._ready()
        async with db.session() as session:  # one connection for the reads, none while posting
            row = (await session.execute(queries.campaign_by_id(campaign_id))).first()
            drafts_rows = (await session.execute(queries.drafts_of(campaign_id))).all()
            posted = (await session.execute(queries.posted_for_key(campaign_id, key))).all()
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        if row.status not in queries.PROCESSABLE_STATUSES:
            raise Conflict(str(queries.CampaignNotProcessable(campaign_id, row.status)))
        if requested is None:  # no list: every platform the campaign lists
            platforms = list(row.platforms)
        unlisted = [p for p in platforms if p not in row.platforms]
        if unlisted:
            raise BadRequest(
                f"campaign {campaign_id} does not list {', '.join(unlisted)}",
                fields={"platforms": f"expected some of {', '.join(row.platforms)}"},
            )
        drafts = {d.platform: d.content for d in drafts_rows}
        results: dict[str, PostResult] = {
            p.platform: PostResult(PostStatus.ALREADY_POSTED, p.external_id, p.attempts)
            for p in posted
            if p.platform in platforms
        }
        to_post = [p for p in platforms if p not in results]
        if to_post:
            tokens = min(float(len(to_post)), self.settings.rate_limit_burst)
            decision = await self._acquire(PUBLISH_LIMIT_KEY, tokens)
            if not decision.allowed:
                raise TooManyRequests(
                    "the social platforms' rate limit is reached; retry later",
                    decision.retry_after_s,
                )
            contents = {p: drafts.get(p) or draft_for(p, row.content) for p in to_post}
            fresh = await publisher.post_all(campaign_id, contents, key=key)
            async with db.session() as session, session.begin():
                await queries.record_posts(session, campaign_id, key, fresh, datetime.now(UTC))
            results.update(fresh)
        ordered = {p: results[p] for p in platforms}
        return web.json_response(
            {"campaign_id": campaign_id, "results": {p: r.to_dict() for p, r in ordered.items()}},
            status=publish_status(ordered.values()),
        )

    async def job(self, request: web.Request) -> web.Response:
        job_id = (await api_spec.JOB.parse(request))["job_id"]
        _, queue, *_ = self._ready()
        view = await queue.get(job_id)
        if view is None:
            raise NotFound(f"job {job_id} does not exist")
        return web.json_response(view.to_dict())


def make_campaign_app(
    settings: ServiceSettings,
    *,
    registry: CollectorRegistry | None = None,
    sla: SLA | None = None,
) -> web.Application:
    """The campaign service, instrumented; database, Redis, HTTP pool and worker open at
    start-up and close (the worker finishing its current job) at cleanup.

    With `redis_url`, instances of the same `settings.service` share the token buckets
    `loadwatch:ratelimit:{service}:process` and `...:publish`.
    """
    app = web.Application(client_max_size=256 * 1024)
    inst = instrument(app, service=settings.service, sla=sla, registry=registry)
    target = registry if registry is not None else REGISTRY
    metrics = JobMetrics(target, service=settings.service)
    post_metrics = PostMetrics(target, service=settings.service, buckets_s=inst.bounds_s)
    service = CampaignService(settings, metrics)
    limit_metrics = service.limit_metrics = RateLimitMetrics(target, service=settings.service)
    router = app.router
    router.add_post("/campaigns", api(service.create))
    router.add_get("/campaigns", api(service.list_campaigns))
    router.add_get("/campaigns/{campaign_id}", api(service.get))
    router.add_post("/campaigns/{campaign_id}/process", api(service.process))
    router.add_post("/campaigns/{campaign_id}/publish", api(service.publish))
    router.add_get("/jobs/{job_id}", api(service.job))
    router.add_get("/dataset", api(service.dataset))
    add_health_routes(app, lambda: service.db)
    add_openapi_route(app, "campaign", api_spec.OPERATIONS)
    add_json_errors(app)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = make_engine(settings)
        instrument_engine(engine, inst.statements, settings.service)
        inst.pool_sources.append(lambda: pool_sample(engine))
        db = service.db = Database(engine)
        local = LocalRateLimiter(
            rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
        )
        redis_client = None
        service.limiter = local
        if settings.redis_url:
            redis_client = aioredis.Redis.from_url(
                settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            service.limiter = RedisRateLimiter(
                redis_client,
                rate_per_s=settings.rate_limit_per_s,
                burst=settings.rate_limit_burst,
                prefix=f"loadwatch:ratelimit:{settings.service}:",
                fallback=local,
                on_error=limit_metrics.observe_error,
            )
        client: httpx.AsyncClient = make_social_client(settings)
        service.publisher = Publisher(
            client,
            timeout_s=settings.social_timeout_s,
            observe=post_metrics.observe,
        )
        queue = service.queue = JobQueue(db)
        try:
            await db.create_schema(CampaignBase)
        except Exception as exc:  # start anyway: /readyz says 503 until the database answers
            app.logger.warning("schema not created yet: %s", exc)
        worker = service.worker = JobWorker(
            queue,
            service.handle_job,
            poll_s=min(1.0, settings.defer_s),
            on_outcome=metrics.observe_outcome,
            on_due=metrics.due.set,
        )
        task = asyncio.get_running_loop().create_task(worker.run())
        try:
            yield
        finally:
            worker.stop()
            try:
                await asyncio.wait_for(task, settings.shutdown_timeout_s)
            except TimeoutError:
                app.logger.warning("the job worker did not stop in time; leases will expire")
            except Exception:
                app.logger.exception("the job worker failed")
            await client.aclose()
            if redis_client is not None:
                with contextlib.suppress(Exception):
                    await redis_client.aclose()
            await db.close()

    app.cleanup_ctx.append(resources)
    return app
