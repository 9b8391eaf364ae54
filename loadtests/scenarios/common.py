"""What the scenarios share: seeded id ranges, the hot set, and one function per request.

Every function here issues exactly ONE request through `client` (a Locust `FastHttpSession`)
and names it by its route template, so statistics group by route, never by raw path. Outcomes
the services document as expected (409 already enrolled, 202 deferred, 429 rate limited) are
marked as successes; anything else >= 400, and every connection error, is a failure.

Import-light (no locust): the orchestrator reads `ScenarioSettings` from here.
"""

from __future__ import annotations

import functools
import json
import os
import random
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "BUSY_THINK_S",
    "CAMPAIGN_DEFAULT_PORT",
    "ENV_CAMPAIGN_HOST",
    "ENV_SEED_CAMPAIGNS",
    "ENV_SEED_COURSES",
    "ENV_SEED_USERS",
    "SETTINGS_ATTR",
    "IdPicker",
    "ScenarioSettings",
    "ScenarioSettingsError",
    "campaign_base_url",
    "create_campaign",
    "enroll",
    "generate",
    "list_campaigns",
    "mean_think_s",
    "process_campaign",
    "publish_campaign",
    "read_content",
    "read_progress",
    "settings_of",
    "stream_video",
    "update_progress",
]

ENV_SEED_USERS = "LOADWATCH_SEED_USERS"
ENV_SEED_COURSES = "LOADWATCH_SEED_COURSES"
ENV_SEED_CAMPAIGNS = "LOADWATCH_SEED_CAMPAIGNS"
ENV_CAMPAIGN_HOST = "LOADWATCH_CAMPAIGN_HOST"
SETTINGS_ATTR = "loadwatch_scenario"
"""Locust Environment attribute where a Locust process puts its ScenarioSettings."""
CAMPAIGN_DEFAULT_PORT = 8102
"""The mixed scenario's campaign service: the course host with this port, unless set."""

_ENROLLMENTS_PER_USER = 3  # `loadwatch seed` gives every user min(3, courses) enrollments
_PLATFORMS = ("twitter", "facebook", "linkedin", "instagram", "tiktok")
_STATUSES = ("draft", "scheduled", "active", "paused", "completed")
_PROMPTS = (
    "explain gradient descent",
    "summarize the lesson on recursion",
    "quiz me on SQL joins",
    "what is a closure in Python",
    "give an example of a binary search",
)
_BANDWIDTHS_MBPS = (0.8, 1.5, 2.0, 3.5, 5.0, 8.0, 25.0)


class ScenarioSettingsError(ValueError):
    """A scenario environment variable is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class ScenarioSettings:
    """The seeded id ranges (ids are 1..N) and where the mixed scenario finds the campaign
    service. `hot_pairs` (course, user) pairs get `hot_share` of the content reads.

    The counts are the default seed's until `with_dataset` applies what the services publish
    at `GET /dataset`; `explicit` names the counts set by LOADWATCH_SEED_* variables, which
    the published ones never replace."""

    users: int = 10_000
    courses: int = 200
    campaigns: int = 5_000
    campaign_host: str | None = None
    hot_pairs: int = 32
    hot_share: float = 0.9
    think_s: float | None = None
    """Mean think time between a user's requests (closed model), drawn uniformly from
    0.5x..1.5x; None: 0.2..1.0 s, a busy user."""
    seeded_videos: int | None = None
    seeded_enrollments: int | None = None
    explicit: tuple[str, ...] = ()

    @property
    def videos(self) -> int:
        """As published by the service, else two per course (what `loadwatch seed` makes)."""
        return self.seeded_videos if self.seeded_videos else 2 * self.courses

    @property
    def enrollments(self) -> int:
        """As published by the service, else users x min(3, courses) (`loadwatch seed`)."""
        if self.seeded_enrollments:
            return self.seeded_enrollments
        return self.users * min(_ENROLLMENTS_PER_USER, self.courses)

    def with_dataset(self, counts: Mapping[str, int]) -> ScenarioSettings:
        """These settings with the counts a service published (`users`, `courses`, `videos`,
        `enrollments`, `campaigns`); counts set explicitly, or below 1, are left as they are.
        Videos and enrollments follow the published figures only while the users and courses
        they depend on are not set explicitly."""
        changes: dict[str, Any] = {}
        for name in ("users", "courses", "campaigns"):
            if counts.get(name, 0) >= 1 and name not in self.explicit:
                changes[name] = counts[name]
        derived = {"users", "courses"} & set(self.explicit)
        for name, field_name in (
            ("videos", "seeded_videos"),
            ("enrollments", "seeded_enrollments"),
        ):
            if counts.get(name, 0) >= 1 and not derived:
                changes[field_name] = counts[name]
        return replace(self, **changes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ScenarioSettings:
        """Read LOADWATCH_SEED_USERS/_COURSES/_CAMPAIGNS and LOADWATCH_CAMPAIGN_HOST."""
        counts: dict[str, int] = {}
        for field, name in (
            ("users", ENV_SEED_USERS),
            ("courses", ENV_SEED_COURSES),
            ("campaigns", ENV_SEED_CAMPAIGNS),
        ):
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            try:
                counts[field] = int(raw)
            except ValueError:
                raise ScenarioSettingsError(
                    f"{name}: expected a whole number >= 1, got {raw!r}"
                ) from None
            if counts[field] < 1:
                raise ScenarioSettingsError(f"{name}: expected a whole number >= 1, got {raw!r}")
        host = environ.get(ENV_CAMPAIGN_HOST) or None
        if host is not None:
            check_base_url(host, ENV_CAMPAIGN_HOST)
        return cls(
            **counts, campaign_host=host.rstrip("/") if host else None, explicit=tuple(counts)
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioSettings:
        return cls(**{**data, "explicit": tuple(data.get("explicit", ()))})


def check_base_url(url: str, name: str) -> None:
    """Raise ScenarioSettingsError unless `url` is http(s)://host[:port] (no path)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ScenarioSettingsError(f"{name}: bad port in {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ScenarioSettingsError(
            f"{name}: expected a base URL like http://127.0.0.1:8101, got {url!r}"
        )


def campaign_base_url(host: str, settings: ScenarioSettings) -> str:
    """The campaign service's base URL: settings.campaign_host, else `host` on port 8102."""
    if settings.campaign_host:
        return settings.campaign_host
    parts = urlsplit(host)
    netloc = parts.hostname or "127.0.0.1"
    netloc = f"[{netloc}]" if ":" in netloc else netloc
    return urlunsplit((parts.scheme or "http", f"{netloc}:{CAMPAIGN_DEFAULT_PORT}", "", "", ""))


BUSY_THINK_S = (0.2, 1.0)
"""A busy user's think time in seconds, drawn uniformly, when no --think-time is given."""


def mean_think_s(settings: ScenarioSettings) -> float:
    """The mean think time in seconds of the built-in scenarios' users under `settings`."""
    return settings.think_s if settings.think_s is not None else sum(BUSY_THINK_S) / 2


def think(user: Any) -> float:
    """`wait_time` of every scenario user: seconds until its next request."""
    mean = settings_of(user.environment).think_s
    if mean is None:
        return random.uniform(*BUSY_THINK_S)
    return random.uniform(0.5 * mean, 1.5 * mean)


def settings_of(environment: Any) -> ScenarioSettings:
    """The settings a Locust process attached to its Environment, else from os.environ."""
    settings = getattr(environment, SETTINGS_ATTR, None)
    if isinstance(settings, ScenarioSettings):
        return settings
    return ScenarioSettings.from_environ(os.environ)


@functools.lru_cache(maxsize=8)
def _hot_set(settings: ScenarioSettings) -> tuple[tuple[int, int], ...]:
    """The (course, user) pairs most content reads go to; computed once, not per user
    (a ramp of 1,000 users/s spent a tenth of its CPU rebuilding this list)."""
    return tuple(
        (1 + (i * 7919) % settings.courses, 1 + (i * 104_729) % settings.users)
        for i in range(settings.hot_pairs)
    )


class IdPicker:
    """Draws ids from the seeded ranges for one simulated user; not shared between users.

    The hot set is the same in every process (derived from the settings only), so most
    content reads hit the services' caches.
    """

    def __init__(self, settings: ScenarioSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.rng = rng if rng is not None else random.Random()
        self.hot = _hot_set(settings)
        self.enrolled: deque[int] = deque(maxlen=16)

    def content_pair(self) -> tuple[int, int]:
        """(course_id, user_id): from the hot set `hot_share` of the time, else uniform."""
        if self.rng.random() < self.settings.hot_share:
            return self.hot[self.rng.randrange(len(self.hot))]
        return self.course(), self.user()

    def user(self) -> int:
        return self.rng.randint(1, self.settings.users)

    def course(self) -> int:
        return self.rng.randint(1, self.settings.courses)

    def video(self) -> int:
        return self.rng.randint(1, self.settings.videos)

    def campaign(self) -> int:
        return self.rng.randint(1, self.settings.campaigns)

    def enrollment(self) -> int:
        """One this user created, else a seeded one."""
        if self.enrolled and self.rng.random() < 0.5:
            return self.enrolled[self.rng.randrange(len(self.enrolled))]
        return self.rng.randint(1, self.settings.enrollments)


def _accept(response: Any, *statuses: int) -> None:
    """Inside `catch_response=True`: mark documented non-2xx outcomes as successes."""
    if response.status_code in statuses:
        response.success()


# -- course service ----------------------------------------------------------------------


def read_content(client: Any, ids: IdPicker) -> None:
    """GET /courses/{course_id}/content?user_id= (mostly the hot set: cache hits)."""
    course_id, user_id = ids.content_pair()
    client.get(
        f"/courses/{course_id}/content?user_id={user_id}", name="/courses/{course_id}/content"
    )


def read_progress(client: Any, ids: IdPicker) -> None:
    """GET /users/{user_id}/progress."""
    client.get(f"/users/{ids.user()}/progress", name="/users/{user_id}/progress")


def enroll(client: Any, ids: IdPicker) -> None:
    """POST /enrollments; 409 (already enrolled) is an expected outcome."""
    body = {"user_id": ids.user(), "course_id": ids.course()}
    with client.post("/enrollments", json=body, name="/enrollments", catch_response=True) as r:
        _accept(r, 409)
        if r.status_code == 201:
            try:
                ids.enrolled.append(int(json.loads(r.content)["id"]))
            except (ValueError, KeyError, TypeError):
                r.failure("201 without an enrollment id")


def update_progress(client: Any, ids: IdPicker) -> None:
    """PATCH /enrollments/{enrollment_id}/progress."""
    body = {"progress_percentage": round(ids.rng.uniform(0, 100), 1)}
    client.request(
        "PATCH",
        f"/enrollments/{ids.enrollment()}/progress",
        json=body,
        name="/enrollments/{enrollment_id}/progress",
    )


def stream_video(client: Any, ids: IdPicker) -> None:
    """GET /videos/{video_id}/stream?bandwidth_mbps= (rendition selection)."""
    mbps = ids.rng.choice(_BANDWIDTHS_MBPS)
    client.get(
        f"/videos/{ids.video()}/stream?bandwidth_mbps={mbps}", name="/videos/{video_id}/stream"
    )


def generate(client: Any, ids: IdPicker) -> None:
    """POST /ai/generate with 1-3 prompts (batched inference on the server)."""
    prompts = [ids.rng.choice(_PROMPTS) for _ in range(ids.rng.randint(1, 3))]
    client.post("/ai/generate", json={"prompts": prompts}, name="/ai/generate")


# -- campaign service (`base` is "" for --host, else an absolute base URL) ----------------


def create_campaign(client: Any, ids: IdPicker, base: str = "") -> None:
    """POST /campaigns."""
    n = ids.rng.randint(1, 1_000_000)
    body = {
        "name": f"Load test campaign {n}",
        "content": f"Spring sale {n}: everything must go! #loadwatch",
        "platforms": ids.rng.sample(_PLATFORMS, ids.rng.randint(1, 3)),
    }
    client.post(f"{base}/campaigns", json=body, name="/campaigns")


def list_campaigns(client: Any, ids: IdPicker, base: str = "") -> None:
    """GET /campaigns?status=&limit= (a page of one status)."""
    status = ids.rng.choice(_STATUSES)
    client.get(f"{base}/campaigns?status={status}&limit=20", name="/campaigns")


def process_campaign(client: Any, ids: IdPicker, base: str = "") -> None:
    """POST /campaigns/{campaign_id}/process; 202 (deferred) succeeds, 409 (paused or
    completed campaign) is an expected outcome."""
    with client.post(
        f"{base}/campaigns/{ids.campaign()}/process",
        name="/campaigns/{campaign_id}/process",
        catch_response=True,
    ) as r:
        _accept(r, 409)


def publish_campaign(client: Any, ids: IdPicker, base: str = "") -> None:
    """POST /campaigns/{campaign_id}/publish with a fresh Idempotency-Key, to every platform
    the campaign lists (a campaign drawn at random lists its own); 200 and 207 succeed, 409
    (not publishable) and 429 (rate limited) are expected, 502 fails."""
    with client.post(
        f"{base}/campaigns/{ids.campaign()}/publish",
        json={},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        name="/campaigns/{campaign_id}/publish",
        catch_response=True,
    ) as r:
        _accept(r, 409, 429)
