"""The receiver service: aiohttp handlers over AlertStore, plus the outbox forwarder.

    app = make_receiver_app(ReceiverSettings.build(token=...), load_forward_config(path))

Routes:
- POST /alerts: an Alertmanager webhook notification (version 4). 401 without the bearer
  token, 413 above `max_body_bytes`, 400 with the field path when invalid, 200
  `{"stored": n, "duplicates": m}` only after the commit, 503 (Retry-After) when the
  database is unreachable, so Alertmanager retries (it does on 5xx, never on 4xx).
- GET /alerts?status=firing|resolved&service=NAME&limit=N: the latest event per
  fingerprint. GET /alerts/{fingerprint}/history: every event of one alert, oldest first.
  Both need the token too.
- GET /healthz, /readyz (the database answers), /metrics, /live/snapshot.

Errors are JSON: `{"error": "...", "fields": {"alerts[0].startsAt": "expected ..."}}`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable

import httpx
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry

from collector.db import instrument_engine, pool_sample
from collector.middleware import instrument
from collector.sla import SLA
from receiver import api as api_spec
from receiver.auth import bearer_matches
from receiver.destinations import ForwardConfig
from receiver.engine import make_receiver_engine
from receiver.forwarder import Forwarder
from receiver.metrics import ReceiverMetrics, RejectReason
from receiver.models import ReceiverBase
from receiver.outbox import Outbox
from receiver.payload import AlertStatus, PayloadError, parse_payload
from receiver.settings import ReceiverSettings
from receiver.storage import AlertStore
from runtime.database import Database, is_unavailable
from runtime.http import (
    ApiError,
    BadRequest,
    NotFound,
    ServiceUnavailable,
    add_health_routes,
    add_json_errors,
    api,
    parse_json_object,
)
from runtime.openapi import add_openapi_route

__all__ = ["SERVICE_NAME", "make_receiver_app"]

SERVICE_NAME = "receiver"
_RETRY_AFTER_S = "5"


class Unauthorized(ApiError):
    """401: the bearer token is missing or wrong."""

    status = 401


class PayloadTooLarge(ApiError):
    """413: the body is larger than the receiver accepts."""

    status = 413


class ReceiverService:
    """Handlers and the resources they share; resources are opened at start-up."""

    def __init__(
        self,
        settings: ReceiverSettings,
        forward: ForwardConfig,
        metrics: ReceiverMetrics,
    ) -> None:
        self.settings = settings
        self.forward = forward
        self.metrics = metrics
        self.db: Database | None = None
        self.store: AlertStore | None = None
        self.forwarder: Forwarder | None = None
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    def _authorize(self, request: web.Request) -> None:
        if not bearer_matches(request.headers.get("Authorization"), self.settings.token):
            self.metrics.rejected(RejectReason.UNAUTHORIZED)
            raise Unauthorized(
                "a valid bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="loadwatch-receiver"'},
            )

    async def alert_store(self) -> AlertStore:
        """The store, once the schema exists (created at start-up, or when the database
        first answers if it was down then)."""
        if self.store is None or self.db is None:
            raise ServiceUnavailable("the receiver is starting", headers={"Retry-After": "1"})
        if not self._schema_ready:
            async with self._schema_lock:
                if not self._schema_ready:
                    await self.db.create_schema(ReceiverBase)
                    self._schema_ready = True
        return self.store

    def _too_large(self) -> PayloadTooLarge:
        limit = self.settings.max_body_bytes
        self.metrics.rejected(RejectReason.TOO_LARGE)
        return PayloadTooLarge(
            f"the body is larger than {limit} bytes",
            fields={"body": f"expected at most {limit} bytes"},
        )

    async def _body(self, request: web.Request) -> bytes:
        """The body, refused early by its Content-Length, or by aiohttp's
        `client_max_size` while reading a chunked one."""
        length = request.content_length
        if length is not None and length > self.settings.max_body_bytes:
            raise self._too_large()
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise self._too_large() from None

    async def post_alerts(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await self._body(request)
        try:
            payload = parse_payload(parse_json_object(body))
        except BadRequest:
            self.metrics.rejected(RejectReason.INVALID)
            raise
        except PayloadError as exc:
            self.metrics.rejected(RejectReason.INVALID)
            raise BadRequest(str(exc), fields={exc.path: f"expected {exc.expected}"}) from None
        self.metrics.received.inc(len(payload.alerts))
        try:
            store = await self.alert_store()
            result = await store.store(payload)
        except Exception as exc:
            if is_unavailable(exc):
                self.metrics.rejected(RejectReason.UNAVAILABLE)
                raise ServiceUnavailable(
                    "the database is unreachable; retry later",
                    headers={"Retry-After": _RETRY_AFTER_S},
                ) from None
            raise
        self.metrics.stored.inc(result.stored)
        self.metrics.duplicates.inc(result.duplicates)
        if result.stored and self.forward.destinations and self.forwarder is not None:
            self.forwarder.wake()
        return web.json_response({"stored": result.stored, "duplicates": result.duplicates})

    async def list_alerts(self, request: web.Request) -> web.Response:
        self._authorize(request)
        args = await api_spec.LIST.parse(request)
        raw_status, service, limit = args["status"], args["service"], args["limit"]
        status = None if raw_status is None else AlertStatus(raw_status)
        store = await self.alert_store()
        events = await store.current(status=status, service=service, limit=limit)
        return web.json_response({"alerts": [e.to_dict() for e in events]})

    async def history(self, request: web.Request) -> web.Response:
        self._authorize(request)
        fingerprint = (await api_spec.HISTORY.parse(request))["fingerprint"]
        store = await self.alert_store()
        events = await store.history(fingerprint)
        if not events:
            raise NotFound(f"no alert with fingerprint {fingerprint[:200]!r} was received")
        return web.json_response(
            {"fingerprint": fingerprint, "events": [e.to_dict() for e in events]}
        )


def make_receiver_app(
    settings: ReceiverSettings,
    forward: ForwardConfig | None = None,
    *,
    registry: CollectorRegistry | None = None,
    sla: SLA | None = None,
    clock: Callable[[], float] = time.time,
    rng: Callable[[], float] = random.random,
    transport: httpx.AsyncBaseTransport | None = None,
) -> web.Application:
    """The receiver, instrumented; its database, HTTP client and forwarder open at start-up.

    `clock` (epoch seconds) stamps events and schedules retries; `rng` draws the backoff
    jitter; `transport` replaces httpx's network transport (tests).
    """
    config = forward if forward is not None else ForwardConfig()
    target = registry if registry is not None else REGISTRY
    service = ReceiverService(settings, config, ReceiverMetrics(target))
    app = web.Application(client_max_size=settings.max_body_bytes)
    app.router.add_post("/alerts", api(service.post_alerts))
    app.router.add_get("/alerts", api(service.list_alerts))
    app.router.add_get("/alerts/{fingerprint}/history", api(service.history))
    add_health_routes(app, lambda: service.db)
    add_json_errors(app)
    add_openapi_route(app, SERVICE_NAME, api_spec.OPERATIONS)
    inst = instrument(app, service=SERVICE_NAME, sla=sla, registry=registry)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = make_receiver_engine(settings)
        instrument_engine(engine, inst.statements, SERVICE_NAME)
        inst.pool_sources.append(lambda: pool_sample(engine))
        db = Database(engine)
        service.db = db
        service.store = AlertStore(
            db, destinations=[d.name for d in config.destinations], clock=clock
        )
        try:
            await service.alert_store()
        except Exception as exc:  # start anyway: 503 until the database answers
            app.logger.warning("receiver schema not created yet: %s", exc)
        client = httpx.AsyncClient(transport=transport)
        forwarder = Forwarder(
            Outbox(db, clock=clock, lease_s=settings.lease_s),
            config,
            client,
            metrics=service.metrics,
            rng=rng,
            poll_s=settings.poll_s,
            batch=settings.forward_batch,
        )
        service.forwarder = forwarder
        task = asyncio.get_running_loop().create_task(forwarder.run())
        try:
            yield
        finally:
            forwarder.stop()
            await task
            await client.aclose()
            await db.close()

    app.cleanup_ctx.append(resources)
    return app
