"""The receiver's reliability targets, bounded: 1,000 webhook posts at 200 concurrent,
30 % duplicates and 5 % malformed, store every valid alert event exactly once and refuse
every malformed post with 400; and with the database taken away mid-burst, posts get 5xx
during the outage and, after Alertmanager-style retries, nothing is missing."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import pytest

from receiver.keys import event_key
from receiver.payload import parse_payload
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.test_receiver_postgres import via_proxy
from tests.integration.test_receiver_service import (
    AUTH,
    alert,
    count_events,
    database_url,
    notification,
    receiver_client,
    reset_tables,
)
from tests.tcp_proxy import TcpProxy
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["database_url"]  # the fixture, imported for this module's tests

POSTS = 1000
CONCURRENCY = 200
DUPLICATE_SHARE = 0.30
MALFORMED_SHARE = 0.05
BURST_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Post:
    """One webhook post of the burst: its body, and whether it must be refused."""

    body: bytes
    malformed: bool


def _malformed(rng: random.Random, index: int) -> bytes:
    good = notification(alert(f"bad-{index}"))
    defect = index % 5
    if defect == 0:
        return b'{"version": "4", "alerts": ['  # truncated JSON
    if defect == 1:
        del good["alerts"][0]["fingerprint"]
    elif defect == 2:
        good["alerts"][0]["startsAt"] = "not a time"
    elif defect == 3:
        good["version"] = "3"
    else:
        good["alerts"][0]["labels"] = {"alertname": rng.randint(0, 9)}
    return json.dumps(good).encode()


def burst(seed: int = 7) -> tuple[list[Post], set[str]]:
    """1,000 posts: 65 % distinct notifications of 1-3 alerts (as Alertmanager batches
    them), 30 % exact re-posts of those, 5 % malformed; shuffled. Returns the posts and the
    event keys that must end up stored."""
    rng = random.Random(seed)
    malformed = round(POSTS * MALFORMED_SHARE)
    duplicates = round(POSTS * DUPLICATE_SHARE)
    originals = POSTS - malformed - duplicates
    bodies: list[bytes] = []
    for index in range(originals):
        statuses = ("firing", "resolved")
        alerts = [
            alert(f"fp-{index}-{n}", rng.choice(statuses), start_minute=rng.randint(0, 600))
            for n in range(rng.randint(1, 3))
        ]
        bodies.append(json.dumps(notification(*alerts)).encode())
    expected = {event_key(a) for body in bodies for a in parse_payload(json.loads(body)).alerts}
    posts = [Post(body, False) for body in bodies]
    posts += [Post(rng.choice(bodies), False) for _ in range(duplicates)]
    posts += [Post(_malformed(rng, index), True) for index in range(malformed)]
    rng.shuffle(posts)
    return posts, expected


@dataclass
class Outcome:
    """What the senders saw: final status per post, and every 5xx on the way."""

    final: list[int] = field(default_factory=list)
    server_errors: int = 0
    stored: int = 0
    answered: int = 0


async def send_all(url: str, posts: list[Post], outcome: Outcome) -> None:
    """Post everything at CONCURRENCY; retry 5xx and connection errors as Alertmanager does
    (exponential backoff, never on 4xx) until the burst deadline."""
    deadline = time.monotonic() + BURST_TIMEOUT_S * TIMEOUT_UNIT_S
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {**AUTH, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)

    async def one(session: aiohttp.ClientSession, post: Post) -> None:
        delay_s = 0.05
        async with gate:
            while True:
                try:
                    async with session.post(url, data=post.body, headers=headers) as response:
                        status = response.status
                        body = await response.read()
                except (TimeoutError, aiohttp.ClientError):
                    status, body = 599, b""
                outcome.answered += 1
                if status < 500:
                    if status == 200:
                        outcome.stored += json.loads(body)["stored"]
                    outcome.final.append(status)
                    return
                outcome.server_errors += 1
                if time.monotonic() > deadline:
                    outcome.final.append(status)
                    return
                await asyncio.sleep(delay_s)
                delay_s = min(1.0, delay_s * 2)

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, post) for post in posts))


def check(outcome: Outcome, posts: list[Post], expected: set[str], stored: dict[str, int]) -> None:
    malformed = sum(p.malformed for p in posts)
    assert Counter(outcome.final) == Counter({200: len(posts) - malformed, 400: malformed})
    assert set(stored) == expected, "every valid alert event is stored, nothing else"
    assert set(stored.values()) == {1}, "each exactly once"


async def test_a_burst_with_duplicates_and_malformed_posts_stores_each_event_once(
    database_url: str,
) -> None:
    posts, expected = burst()
    outcome = Outcome()
    async with receiver_client(database_url) as client:
        await send_all(str(client.make_url("/alerts")), posts, outcome)
    check(outcome, posts, expected, await count_events(database_url))
    assert outcome.stored == len(expected), "each event was acknowledged as new exactly once"


async def test_storage_taken_away_mid_burst_loses_nothing_after_retries(
    postgres_url: str,
) -> None:
    await reset_tables(postgres_url)
    posts, expected = burst(seed=11)
    posts = [p for p in posts if not p.malformed]
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    outcome = Outcome()
    try:
        async with receiver_client(via_proxy(postgres_url, proxy), pool_timeout_s=2.0) as client:
            sending = asyncio.create_task(send_all(str(client.make_url("/alerts")), posts, outcome))
            await eventually(lambda: outcome.answered >= len(posts) // 4, BURST_TIMEOUT_S)
            await proxy.stop()
            await eventually(lambda: outcome.server_errors >= 20 or sending.done(), BURST_TIMEOUT_S)
            errors_during_outage = outcome.server_errors
            await proxy.start()
            await sending
    finally:
        await proxy.stop()
    assert errors_during_outage >= 20, "posts got 5xx while the database was away"
    check(outcome, posts, expected, await count_events(postgres_url))
    # A commit whose answer was cut by the outage is 5xx; its retry finds the events
    # stored ("duplicates"), so new-acknowledgements may be fewer, never more.
    assert outcome.stored <= len(expected)
