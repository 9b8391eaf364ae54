"""Posting one campaign to many social platforms at once, with retries and idempotency.

    client = make_social_client(settings)            # one bounded pool for the service
    publisher = Publisher(client, timeout_s=2.0, observe=post_metrics.observe)
    results = await publisher.post_all(42, {"twitter": "...", "tiktok": "..."}, key="k1")

Every platform is posted to concurrently; the slowest platform bounds the latency, not the
sum. A post is retried on 5xx, 429, timeouts and connection errors, `max_attempts` in all,
after `backoff_s * 2**(n-1)` seconds (+-50 % jitter). Each attempt sends the same derived
`Idempotency-Key` (`derived_key`), so a retry after a timeout whose post did land gets the
original post back instead of creating a second one. The client is an httpx.AsyncClient
over `AiohttpTransport` (aiohttp's connection pool; see there why).
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import aiohttp
import httpx
from prometheus_client import Histogram
from prometheus_client.registry import CollectorRegistry

from collector import conventions as names
from reference_services.campaign.models import PostStatus
from reference_services.settings import ServiceSettings

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_KEY_CHARS",
    "PLATFORM_MAX_CHARS",
    "AiohttpTransport",
    "PostMetrics",
    "PostResult",
    "Publisher",
    "backoff_delays_s",
    "derived_key",
    "draft_for",
    "make_social_client",
    "publish_status",
    "valid_key",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 100
"""Longest client Idempotency-Key accepted: the derived key (id, 64-char platform, key) then
stays within the 200 characters a platform accepts."""
PLATFORM_MAX_CHARS: Mapping[str, int] = {
    "twitter": 280,
    "instagram": 2200,
    "tiktok": 2200,
    "linkedin": 3000,
}
_DEFAULT_MAX_CHARS = 5000
_POOL_WAIT_FACTOR = 5.0
"""A request may wait this many `social_timeout_s` for a free pooled connection."""
_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_CHARS}}}$")
_MAX_PLATFORM_LABELS = 32
_OTHER_PLATFORM = "<other>"


def valid_key(key: str | None) -> bool:
    """Whether a client Idempotency-Key is 1..MAX_KEY_CHARS printable ASCII, no spaces."""
    return key is not None and _KEY.match(key) is not None


def derived_key(campaign_id: int, platform: str, key: str) -> str:
    """The downstream Idempotency-Key of one (campaign, platform, client key)."""
    return f"{campaign_id}:{platform}:{key}"


def draft_for(platform: str, content: str) -> str:
    """The campaign content fitted to the platform's length limit (an ellipsis if cut)."""
    limit = PLATFORM_MAX_CHARS.get(platform, _DEFAULT_MAX_CHARS)
    text = " ".join(content.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def backoff_delays_s(max_attempts: int, backoff_s: float, rng: random.Random) -> list[float]:
    """Seconds to wait before attempts 2..max_attempts: backoff_s * 2**(n-1), +-50 % jitter."""
    return [backoff_s * 2**n * (0.5 + rng.random()) for n in range(max_attempts - 1)]


@dataclass(frozen=True, slots=True)
class PostResult:
    """One platform's outcome: its external post id when posted, else the last error."""

    status: PostStatus
    external_id: str | None
    attempts: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a result in the publish reply."""
        return {
            "status": self.status.value,
            "external_id": self.external_id,
            "attempts": self.attempts,
            "error": self.error,
        }


def publish_status(results: Iterable[PostResult]) -> int:
    """200 when every platform is posted; when none is, 422 if every platform refused the
    post (a 4xx: the client must change the campaign) and 502 if any failed in a way a
    retry may mend; 207 when some are posted and some not."""
    statuses = [r.status for r in results]
    unposted = [s for s in statuses if s in (PostStatus.FAILED, PostStatus.REJECTED)]
    if not unposted:
        return 200
    if len(unposted) < len(statuses):
        return 207
    return 422 if all(s is PostStatus.REJECTED for s in unposted) else 502


_SKIPPED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp connection pool of at most `max_connections`.

    httpcore's pool scans every connection for every queued request (encode/httpx#3215).
    Measured here with 40 posts in flight to the fake platforms (50 ms replies): ~95
    requests/s through httpcore's pool, ~670 through this one (the latency bound is ~730).
    Bodies are read whole (small API replies); httpx decodes them. httpx's timeouts map
    onto aiohttp's: pool + connect for getting a connection, read per socket read;
    failures are raised as httpx exceptions (ConnectTimeout, ReadTimeout,
    ConnectError, ReadError).
    """

    def __init__(self, max_connections: int) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on first use, inside the running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        pool_s, connect_s = timeouts.get("pool"), timeouts.get("connect")
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool_s is None or connect_s is None else pool_s + connect_s,
            sock_connect=connect_s,
            sock_read=timeouts.get("read"),
        )
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() not in _SKIPPED_HEADERS
        ]
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                timeout=timeout,
                allow_redirects=False,
            ) as reply:
                body = await reply.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(
            reply.status,
            headers=reply.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_social_client(settings: ServiceSettings) -> httpx.AsyncClient:
    """The service's one HTTP client: at most `social_max_connections` connections.

    Connecting and each read time out after `social_timeout_s` seconds; waiting for a free
    pooled connection may take five times that more. Close with `await client.aclose()`.
    """
    return httpx.AsyncClient(
        base_url=settings.social_url,
        transport=AiohttpTransport(settings.social_max_connections),
        timeout=httpx.Timeout(
            settings.social_timeout_s, pool=settings.social_timeout_s * _POOL_WAIT_FACTOR
        ),
    )


_histograms: weakref.WeakKeyDictionary[CollectorRegistry, Histogram] = weakref.WeakKeyDictionary()
_histograms_lock = threading.Lock()


class PostMetrics:
    """SOCIAL_POST_DURATION{service, platform}: each post attempt's duration in seconds.

    Registered once per registry (the first caller's `buckets_s` win). Platform label
    values are bounded: past 32 distinct names they are counted as `<other>`.
    """

    def __init__(
        self, registry: CollectorRegistry, *, service: str, buckets_s: Sequence[float]
    ) -> None:
        with _histograms_lock:
            histogram = _histograms.get(registry)
            if histogram is None:
                histogram = _histograms[registry] = Histogram(
                    names.SOCIAL_POST_DURATION,
                    "Duration of one post attempt to a social platform, in seconds.",
                    (names.LABEL_SERVICE, names.LABEL_PLATFORM),
                    registry=registry,
                    buckets=list(buckets_s),
                )
        self._histogram = histogram
        self._service = service
        self._platforms: set[str] = set()

    def observe(self, platform: str, seconds: float) -> None:
        """Record one attempt to `platform` that took `seconds`."""
        if platform not in self._platforms:
            if len(self._platforms) >= _MAX_PLATFORM_LABELS:
                platform = _OTHER_PLATFORM
            else:
                self._platforms.add(platform)
        self._histogram.labels(self._service, platform).observe(seconds)


class _Attempt:
    """The outcome of one HTTP attempt: an id, or an error, whether to retry, and whether
    the platform refused the post for good (a 4xx)."""

    __slots__ = ("error", "external_id", "refused", "retryable")

    def __init__(
        self,
        external_id: str | None,
        error: str | None,
        retryable: bool,
        *,
        refused: bool = False,
    ) -> None:
        self.external_id = external_id
        self.error = error
        self.retryable = retryable
        self.refused = refused


class Publisher:
    """Posts through one shared `httpx.AsyncClient`; never raises for a platform's failure.

    `observe(platform, seconds)` gets each attempt's duration (waiting for a pooled
    connection included). `sleep` and `rng` are injectable so tests can drive the backoff.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout_s: float,
        max_attempts: int = 3,
        backoff_s: float = 0.05,
        observe: Callable[[str, float], None] = lambda platform, seconds: None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts: expected an integer >= 1, got {max_attempts!r}")
        self.client = client
        self.timeout = httpx.Timeout(timeout_s, pool=timeout_s * _POOL_WAIT_FACTOR)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._observe = observe
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()

    async def post_all(
        self, campaign_id: int, contents: Mapping[str, str], *, key: str
    ) -> dict[str, PostResult]:
        """Post `contents[platform]` to every platform concurrently; results by platform."""
        platforms = list(contents)
        results = await asyncio.gather(
            *(
                self.post(p, campaign_id=campaign_id, content=contents[p], key=key)
                for p in platforms
            )
        )
        return dict(zip(platforms, results, strict=True))

    async def post(self, platform: str, *, campaign_id: int, content: str, key: str) -> PostResult:
        """Post to one platform, retrying transient failures with the same derived key."""
        headers = {IDEMPOTENCY_HEADER: derived_key(campaign_id, platform, key)}
        payload = {"content": content, "campaign_id": campaign_id}
        delays = backoff_delays_s(self.max_attempts, self.backoff_s, self._rng)
        attempt = _Attempt(None, "not attempted", False)
        for number in range(1, self.max_attempts + 1):
            attempt = await self._attempt(platform, payload, headers)
            if attempt.external_id is not None:
                return PostResult(PostStatus.POSTED, attempt.external_id, number)
            if attempt.refused:
                return PostResult(PostStatus.REJECTED, None, number, attempt.error)
            if not attempt.retryable or number == self.max_attempts:
                return PostResult(PostStatus.FAILED, None, number, attempt.error)
            await self._sleep(delays[number - 1])
        return PostResult(PostStatus.FAILED, None, self.max_attempts, attempt.error)

    async def _attempt(
        self, platform: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> _Attempt:
        started = perf_counter()
        try:
            response = await self.client.post(
                f"/platforms/{platform}/posts", json=payload, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException as exc:
            return _Attempt(None, f"{type(exc).__name__} after {self.timeout_s:g} s", True)
        except httpx.TransportError as exc:
            return _Attempt(None, f"{type(exc).__name__}: {exc}"[:300], True)
        finally:
            self._observe(platform, perf_counter() - started)
        if response.status_code in (200, 201):
            try:
                external_id = response.json()["id"]
            except (ValueError, KeyError, TypeError):
                return _Attempt(None, "the platform's reply has no post id", True)
            return _Attempt(str(external_id), None, False)
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        status = response.status_code
        refused = 400 <= status < 500 and status not in _RETRYABLE_STATUSES
        return _Attempt(None, error, status in _RETRYABLE_STATUSES, refused=refused)
