"""Forwarding through the outbox to local stand-ins for Slack and a webhook: the message
shapes and the idempotency key, retries on the backoff schedule of an injected clock,
dead letters, a lease taken over after a crash, and delivery surviving a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from collector import conventions as names
from receiver.backoff import BackoffPolicy
from receiver.destinations import Destination as DestinationConfig
from receiver.destinations import DestinationKind, ForwardConfig
from receiver.engine import make_receiver_engine
from receiver.forwarder import Forwarder
from receiver.metrics import ReceiverMetrics
from receiver.models import DeliveryStatus, ReceiverBase
from receiver.outbox import Outbox
from receiver.payload import parse_payload
from receiver.settings import ReceiverSettings
from receiver.storage import AlertStore
from runtime.database import Database
from tests.integration.test_receiver_service import (
    AUTH,
    TOKEN,
    Destination,
    alert,
    database_url,
    destination_server,
    notification,
    receiver_client,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["database_url"]  # the fixture, imported for this module's tests


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def forward_config(
    server: TestServer, *, max_attempts: int = 4, base_s: float = 10.0
) -> ForwardConfig:
    base = str(server.make_url("")).rstrip("/")
    return ForwardConfig(
        (
            DestinationConfig("chat", DestinationKind.SLACK, f"{base}/slack"),
            DestinationConfig("hook", DestinationKind.WEBHOOK, f"{base}/hook", {"X-Team": "sre"}),
        ),
        timeout_s=5.0,
        backoff=BackoffPolicy(base_s=base_s, max_s=100.0, jitter=0.5, max_attempts=max_attempts),
    )


@dataclass
class Pipeline:
    """The storage, outbox and forwarder on one database, driven by hand with `clock`."""

    store: AlertStore
    outbox: Outbox
    forwarder: Forwarder
    clock: FakeClock
    registry: CollectorRegistry


@asynccontextmanager
async def pipeline(url: str, config: ForwardConfig) -> AsyncIterator[Pipeline]:
    clock = FakeClock()
    db = Database(make_receiver_engine(ReceiverSettings.build(token=TOKEN, database_url=url)))
    await db.create_schema(ReceiverBase)
    registry = CollectorRegistry()
    outbox = Outbox(db, clock=clock, lease_s=30.0)
    try:
        async with httpx.AsyncClient() as client:
            forwarder = Forwarder(
                outbox, config, client, metrics=ReceiverMetrics(registry), rng=lambda: 0.5
            )
            store = AlertStore(db, destinations=[d.name for d in config.destinations], clock=clock)
            yield Pipeline(store, outbox, forwarder, clock, registry)
    finally:
        await db.close()


async def test_slack_and_webhook_get_their_messages_with_a_stable_idempotency_key(
    database_url: str,
) -> None:
    destination = Destination(statuses=[503])  # the first attempt (to one of them) fails
    async with destination_server(destination) as server:
        config = forward_config(server, base_s=0.05)
        async with receiver_client(database_url, config, poll_s=0.05) as client:
            body = notification(alert("a1"))
            assert (await client.post("/alerts", json=body, headers=AUTH)).status == 200
            await eventually(lambda: len(destination.delivered()) == 2)
    by_path = {path: (message, headers) for path, message, headers in destination.delivered()}
    slack, _ = by_path["/slack"]
    assert slack == {
        "text": ":rotating_light: [FIRING] CourseErrorBudgetBurn (service=course, severity=page)"
        "\nCourseErrorBudgetBurn on course"
    }
    hook, hook_headers = by_path["/hook"]
    assert hook["fingerprint"] == "a1" and hook["status"] == "firing"
    assert hook_headers["X-Team"] == "sre"
    assert hook_headers["Idempotency-Key"] == hook["idempotencyKey"]
    keys = {(path, headers["Idempotency-Key"]) for path, _, headers in destination.received}
    assert len(keys) == 2, "the retried attempt carried the same key as the one that failed"


async def test_failures_back_off_exponentially_with_jitter_then_dead_letter(
    database_url: str,
) -> None:
    destination = Destination(statuses=[500] * 20)
    async with destination_server(destination) as server:
        config = forward_config(server, max_attempts=4)
        config = ForwardConfig(config.destinations[1:], config.timeout_s, config.backoff)
        async with pipeline(database_url, config) as p:
            await p.store.store(parse_payload(notification(alert("a1"))))
            due_times = []
            for _ in range(4):
                assert await p.forwarder.run_once() == 1
                assert await p.forwarder.run_once() == 0, "not due again before its delay"
                (row,) = await p.outbox.deliveries()
                due_times.append(row.due_at.timestamp() - p.clock.now)
                p.clock.now = row.due_at.timestamp()
            (row,) = await p.outbox.deliveries()
            assert row.status is DeliveryStatus.DEAD
            assert row.attempts == 4
            assert row.last_error is not None and row.last_error.startswith("HTTP 500")
            # Delays after failures 1..3: 10, 20, 40 s scaled by the jitter draw 0.5 (x0.75).
            assert due_times[:3] == [7.5, 15.0, 30.0]
            p.clock.now += 1000.0
            assert await p.forwarder.run_once() == 0, "a dead letter is never tried again"
            assert await p.outbox.depth() == 0
            labels = {names.LABEL_DESTINATION: "hook"}
            attempts = p.registry.get_sample_value(
                f"{names.RECEIVER_FORWARD_ATTEMPTS}_total", labels
            )
            dead = p.registry.get_sample_value(f"{names.RECEIVER_FORWARD_DEAD}_total", labels)
            assert (attempts, dead) == (4, 1)
    assert len(destination.received) == 4


async def test_a_refusal_is_dead_at_once_and_429_is_retried(database_url: str) -> None:
    destination = Destination(statuses=[429, 400])
    async with destination_server(destination) as server:
        config = forward_config(server)
        config = ForwardConfig(config.destinations[1:], config.timeout_s, config.backoff)
        async with pipeline(database_url, config) as p:
            await p.store.store(parse_payload(notification(alert("a1"))))
            await p.forwarder.run_once()
            (row,) = await p.outbox.deliveries()
            assert row.status is DeliveryStatus.PENDING
            p.clock.now = row.due_at.timestamp()
            await p.forwarder.run_once()
            (row,) = await p.outbox.deliveries()
            assert (row.status, row.attempts) == (DeliveryStatus.DEAD, 2)


async def test_a_delivery_held_by_a_crashed_forwarder_is_taken_over_after_its_lease(
    database_url: str,
) -> None:
    destination = Destination()
    async with destination_server(destination) as server:
        config = forward_config(server)
        config = ForwardConfig(config.destinations[1:], config.timeout_s, config.backoff)
        async with pipeline(database_url, config) as p:
            await p.store.store(parse_payload(notification(alert("a1"))))
            (held,) = await p.outbox.claim(10)  # claimed, then the process "died"
            assert await p.forwarder.run_once() == 0, "leased: nobody else takes it"
            p.clock.now += 31.0
            assert await p.forwarder.run_once() == 1
            (row,) = await p.outbox.deliveries()
            assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)
            assert not await p.outbox.delivered(held), "the lost lease cannot settle it again"
    assert len(destination.received) == 1


async def test_a_queued_delivery_survives_a_restart_of_the_receiver(database_url: str) -> None:
    destination = Destination(statuses=[503] * 1000)
    async with destination_server(destination) as server:
        config = forward_config(server, max_attempts=100)
        config = ForwardConfig(
            config.destinations[1:], 5.0, BackoffPolicy(base_s=0.05, max_s=0.2, max_attempts=100)
        )
        async with receiver_client(database_url, config, poll_s=0.05) as client:
            body = notification(alert("a1"), alert("a2"))
            assert (await client.post("/alerts", json=body, headers=AUTH)).status == 200
            await eventually(lambda: len(destination.received) >= 2)
        destination.statuses.clear()  # the destination recovers while the receiver is down
        attempts_before = len(destination.received)
        async with receiver_client(database_url, config, poll_s=0.05):
            await eventually(lambda: len(destination.delivered()) == 2)
    delivered = {message["fingerprint"] for _, message, _ in destination.delivered()}
    assert delivered == {"a1", "a2"}
    assert len(destination.received) > attempts_before
    keys = {headers["Idempotency-Key"] for _, _, headers in destination.received}
    assert len(keys) == 2, "every attempt, before and after the restart, used the same keys"
