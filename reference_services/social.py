"""The stand-in for external social platforms: configurable latency, errors and hangs.

    app = make_social_app({"twitter": parse_platform_spec("twitter:50ms:1%")}, seed=7)

Routes (JSON in and out):
- `POST /platforms/{platform}/posts` `{"content": str, "campaign_id": int}` with an
  `Idempotency-Key` header: after a lognormal latency, 503 on a simulated error (nothing
  stored), else 201 with the new post, or 200 with the stored one when the key was seen.
- `GET /platforms/{platform}/posts/{post_id}`: the post, or 404.
- `GET|POST /platforms/{platform}/behaviour`: read or change the behaviour at run time.
- `GET /platforms/stats`: counts per platform, with `deliveries_per_key` and
  `deliveries_per_content` (`{"max", "keys"}`): max 1 means every post was delivered once.

Each platform draws from its own `random.Random` seeded by (seed, name), so one platform's
traffic does not change another's draws. Memory: about 1 KB per stored post (content
included); beyond `max_posts` per platform the oldest are dropped from GET but their keys
are still deduplicated (~150 bytes each).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from types import MappingProxyType
from typing import Any

from aiohttp import web
from prometheus_client import REGISTRY, Counter
from prometheus_client.registry import CollectorRegistry

from collector import conventions as names
from collector.middleware import instrument
from collector.sla import SLA
from collector.units import UnitError, parse_duration, parse_percent
from reference_services.social_api import IDEMPOTENCY_HEADER, SocialOperations
from runtime.http import ApiError, add_health_routes, add_json_errors, json_error
from runtime.openapi import add_openapi_route

__all__ = [
    "DEFAULT_PLATFORMS",
    "BehaviourError",
    "PlatformBehaviour",
    "Post",
    "PostOutcome",
    "make_social_app",
    "parse_platform_spec",
]

_Z99 = 2.3263478740408408
"""The standard normal's 99th percentile: p99 = median * exp(_Z99 * sigma)."""
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BehaviourError(ValueError):
    """An invalid behaviour; `field` names the offending PlatformBehaviour field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class PlatformBehaviour:
    """How one fake platform answers: latency (seconds), error and hang fractions (0..1).

    Latency is lognormal, fitted to `latency_median_s` and `latency_p99_s` (equal: constant).
    A fraction `timeout_rate` of posts hangs `hang_s` seconds instead: the post is stored
    first (the platform accepted it, the answer is late), so a client that times out and
    retries with the same Idempotency-Key gets 200 and the original id. A fraction
    `error_rate` answers 503 after the latency and stores nothing.
    """

    name: str
    latency_median_s: float = 0.05
    latency_p99_s: float = 0.15
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise BehaviourError("name", f"expected 1-64 of A-Z a-z 0-9 _ -, got {self.name!r}")
        for name in ("latency_median_s", "hang_s"):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                raise BehaviourError(name, f"expected seconds > 0, got {value!r}")
        if not _is_number(self.latency_p99_s) or self.latency_p99_s < self.latency_median_s:
            raise BehaviourError(
                "latency_p99_s",
                f"expected seconds >= latency_median_s ({self.latency_median_s:g}), "
                f"got {self.latency_p99_s!r}",
            )
        for name in ("error_rate", "timeout_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise BehaviourError(name, f"expected a fraction in [0, 1], got {value!r}")
        if self.error_rate + self.timeout_rate > 1.0:
            raise BehaviourError(
                "timeout_rate",
                f"error_rate + timeout_rate must not exceed 1, got {self.error_rate:g} + "
                f"{self.timeout_rate:g}",
            )

    @property
    def sigma(self) -> float:
        """The lognormal's shape parameter (standard deviation of ln(latency))."""
        return math.log(self.latency_p99_s / self.latency_median_s) / _Z99

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (seconds and fractions)."""
        return asdict(self)

    def updated(self, changes: Mapping[str, object]) -> PlatformBehaviour:
        """A copy with `changes` applied; durations as seconds or '50ms', rates as 0.01 or '1%'.

        Raises `BehaviourError` naming the first bad field.
        """
        known = {f.name for f in fields(self)}
        parsed: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise BehaviourError(key, f"unknown field; expected one of {sorted(known)}")
            try:
                if key == "name":
                    if value != self.name:
                        raise BehaviourError("name", f"expected {self.name!r}, got {value!r}")
                elif key.endswith("_s"):
                    parsed[key] = parse_duration(value)
                else:
                    parsed[key] = parse_percent(value)
            except UnitError as exc:
                raise BehaviourError(key, str(exc)) from None
        return replace(self, **parsed)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_platform_spec(spec: str) -> PlatformBehaviour:
    """Parse `name:median[:error%[:p99]]`, e.g. 'twitter:50ms:1%' or 'x:20ms:0%:400ms'.

    Without a p99 the default spread is kept (p99 = 3 x median). Raises ValueError naming
    the spec and the part that is wrong.
    """
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4:
        raise ValueError(
            f"platform spec {spec!r}: expected name:median[:error%[:p99]], like 'twitter:50ms:1%'"
        )
    name, *texts = parts
    values: list[float] = []
    for part, text, parse in zip(
        ("median", "error", "p99"),
        texts,
        (parse_duration, parse_percent, parse_duration),
        strict=False,
    ):
        try:
            values.append(parse(text))
        except UnitError as exc:
            raise ValueError(f"platform spec {spec!r}: {part}: {exc}") from None
    median_s = values[0]
    error_rate = values[1] if len(values) > 1 else 0.0
    p99_s = values[2] if len(values) > 2 else 3.0 * median_s
    try:
        return PlatformBehaviour(name, median_s, p99_s, error_rate)
    except BehaviourError as exc:
        raise ValueError(f"platform spec {spec!r}: {exc}") from None


DEFAULT_PLATFORMS: Mapping[str, PlatformBehaviour] = MappingProxyType(
    {
        name: PlatformBehaviour(name)
        for name in ("twitter", "facebook", "linkedin", "instagram", "tiktok")
    }
)
"""Five platforms answering in 50 ms (median, p99 150 ms), without errors or hangs."""


class PostOutcome(Enum):
    """What a post request did; the `outcome` label of SOCIAL_POSTS."""

    CREATED = "created"
    DUPLICATE = "duplicate"
    ERROR = "error"


class _Fate(Enum):
    OK = "ok"
    ERROR = "error"
    HANG = "hang"


@dataclass(frozen=True, slots=True)
class Post:
    """A stored post."""

    id: str
    platform: str
    idempotency_key: str
    campaign_id: int
    content: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Counts:
    """Per-platform request counts, as served by GET /platforms/stats."""

    requests: int = 0
    rejected: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: int = 0
    timeouts: int = 0
    evicted: int = 0
    key_reuse_mismatches: int = 0


@dataclass(slots=True)
class _Platform:
    """One platform's behaviour, draws, store and counts. Sans-I/O: the handler awaits."""

    behaviour: PlatformBehaviour
    rng: random.Random
    max_posts: int
    posts: dict[str, Post] = field(default_factory=dict)
    id_by_key: dict[str, str] = field(default_factory=dict)
    per_content: dict[tuple[int, bytes], int] = field(default_factory=dict)
    max_per_content: int = 0
    counts: _Counts = field(default_factory=_Counts)

    def draw(self) -> tuple[_Fate, float]:
        """The fate of the next post and its delay in seconds."""
        behaviour = self.behaviour
        roll = self.rng.random()
        if roll < behaviour.timeout_rate:
            self.counts.timeouts += 1
            return _Fate.HANG, behaviour.hang_s
        delay_s = self.rng.lognormvariate(math.log(behaviour.latency_median_s), behaviour.sigma)
        if roll < behaviour.timeout_rate + behaviour.error_rate:
            return _Fate.ERROR, delay_s
        return _Fate.OK, delay_s

    def commit(self, key: str, campaign_id: int, content: str) -> tuple[PostOutcome, str]:
        """Store the post unless `key` was seen: (CREATED or DUPLICATE, the post's id)."""
        post_id = self.id_by_key.get(key)
        if post_id is not None:
            self.counts.duplicates += 1
            post = self.posts.get(post_id)
            if post is not None and (post.campaign_id, post.content) != (campaign_id, content):
                self.counts.key_reuse_mismatches += 1
            return PostOutcome.DUPLICATE, post_id
        self.counts.stored += 1
        name = self.behaviour.name
        post = Post(f"{name}-{self.counts.stored}", name, key, campaign_id, content)
        self.posts[post.id] = post
        self.id_by_key[key] = post.id
        digest = (campaign_id, hashlib.blake2b(content.encode(), digest_size=16).digest())
        count = self.per_content[digest] = self.per_content.get(digest, 0) + 1
        self.max_per_content = max(self.max_per_content, count)
        if len(self.posts) > self.max_posts:
            del self.posts[next(iter(self.posts))]
            self.counts.evicted += 1
        return PostOutcome.CREATED, post.id

    def stats(self) -> dict[str, Any]:
        """Counts; deliveries per key are 1 by construction, per content they show retries
        that used a fresh key (same campaign_id and content stored twice)."""
        keys = len(self.id_by_key)
        return {
            **asdict(self.counts),
            "deliveries_per_key": {"max": 1 if keys else 0, "keys": keys},
            "deliveries_per_content": {"max": self.max_per_content, "keys": len(self.per_content)},
            "behaviour": self.behaviour.to_dict(),
        }


_PLATFORMS_KEY: web.AppKey[dict[str, _Platform]] = web.AppKey("social_platforms", dict)
_posts_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_posts_counters_lock = threading.Lock()


def _posts_counter(registry: CollectorRegistry) -> Counter:
    """The registry's SOCIAL_POSTS family, registered on first use (many apps may share it)."""
    with _posts_counters_lock:
        counter = _posts_counters.get(registry)
        if counter is None:
            counter = _posts_counters[registry] = Counter(
                names.SOCIAL_POSTS,
                "Posts received by the fake social platforms, by outcome.",
                (names.LABEL_PLATFORM, names.LABEL_OUTCOME),
                registry=registry,
            )
        return counter


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _platform(request: web.Request) -> _Platform:
    name = request.match_info["platform"]
    platforms = request.app[_PLATFORMS_KEY]
    platform = platforms.get(name)
    if platform is None:
        known = sorted(platforms.keys())
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"unknown platform {name!r}", "platforms": known}),
            content_type="application/json",
        )
    return platform


def make_social_app(
    platforms: Mapping[str, PlatformBehaviour] | None = None,
    *,
    seed: int = 0,
    registry: CollectorRegistry | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    max_posts: int = 100_000,
    sla: SLA | None = None,
) -> web.Application:
    """The fake platforms as an instrumented aiohttp app (service "social").

    `platforms` maps each name to its behaviour (default `DEFAULT_PLATFORMS`); `sleep` is
    awaited with every simulated delay in seconds (inject one that records to test without
    waiting). Metrics go to `registry` (default: the global one): the HTTP families and
    `loadwatch_social_posts_total{platform, outcome}`. `max_posts` bounds the posts kept
    per platform for GET (keys stay deduplicated). `sla` sets the histogram buckets at its
    thresholds (default: the nearest sla.yaml). O(1) work per request besides the delay.
    """
    chosen = DEFAULT_PLATFORMS if platforms is None else platforms
    if not chosen:
        raise ValueError("platforms: expected at least one platform")
    for name, behaviour in chosen.items():
        if name != behaviour.name:
            raise ValueError(f"platforms: key {name!r} holds the behaviour of {behaviour.name!r}")
    if max_posts < 1:
        raise ValueError(f"max_posts: expected an integer >= 1, got {max_posts!r}")
    posts_total = _posts_counter(registry if registry is not None else REGISTRY)
    for name in chosen:
        for outcome in PostOutcome:
            posts_total.labels(name, outcome.value)

    app = web.Application()
    app[_PLATFORMS_KEY] = {
        name: _Platform(behaviour, random.Random(f"{seed}:{name}"), max_posts)
        for name, behaviour in chosen.items()
    }

    async def create_post(request: web.Request) -> web.Response:
        platform = _platform(request)
        platform.counts.requests += 1
        try:
            body = await operations.create_post.parse(request)
        except ApiError as exc:
            platform.counts.rejected += 1
            return json_error(exc.status, exc.message, fields=exc.fields)
        key = body[IDEMPOTENCY_HEADER]
        fate, delay_s = platform.draw()
        if fate is _Fate.HANG:  # accepted at once, answered late
            outcome, post_id = platform.commit(key, body["campaign_id"], body["content"])
            posts_total.labels(platform.behaviour.name, outcome.value).inc()
            await sleep(delay_s)
        else:
            await sleep(delay_s)
            if fate is _Fate.ERROR:
                platform.counts.errors += 1
                posts_total.labels(platform.behaviour.name, PostOutcome.ERROR.value).inc()
                return _error(503, f"simulated outage of {platform.behaviour.name}", retryable=True)
            outcome, post_id = platform.commit(key, body["campaign_id"], body["content"])
            posts_total.labels(platform.behaviour.name, outcome.value).inc()
        return web.json_response(
            {"id": post_id, "platform": platform.behaviour.name, "idempotency_key": key},
            status=201 if outcome is PostOutcome.CREATED else 200,
        )

    async def get_post(request: web.Request) -> web.Response:
        platform = _platform(request)
        post = platform.posts.get(request.match_info["post_id"])
        if post is None:
            return _error(404, f"no post {request.match_info['post_id']!r} on this platform")
        return web.json_response(post.to_dict())

    async def get_behaviour(request: web.Request) -> web.Response:
        return web.json_response(_platform(request).behaviour.to_dict())

    async def set_behaviour(request: web.Request) -> web.Response:
        platform = _platform(request)
        try:
            body = await operations.set_behaviour.parse(request)
        except ApiError as exc:
            return json_error(exc.status, exc.message, fields=exc.fields)
        body.pop("platform")
        try:
            platform.behaviour = platform.behaviour.updated(body)
        except BehaviourError as exc:
            return _error(400, "invalid behaviour", fields={exc.field: exc.message})
        return web.json_response(platform.behaviour.to_dict())

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {name: platform.stats() for name, platform in request.app[_PLATFORMS_KEY].items()}
        )

    operations = SocialOperations.for_platforms(chosen)
    add_health_routes(app, None)
    add_json_errors(app)
    add_openapi_route(app, "social", operations.all())
    app.router.add_get("/platforms/stats", stats)
    app.router.add_post("/platforms/{platform}/posts", create_post)
    app.router.add_get("/platforms/{platform}/posts/{post_id}", get_post)
    app.router.add_get("/platforms/{platform}/behaviour", get_behaviour)
    app.router.add_post("/platforms/{platform}/behaviour", set_behaviour)
    instrument(app, service="social", sla=sla, registry=registry)
    return app
