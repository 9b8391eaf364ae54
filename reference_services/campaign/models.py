"""Campaign platform tables (SQLAlchemy 2 ORM), with the performance guide's index.

- `campaigns`: what to post where; `idx_campaigns_status_created (status, created_at)`
  serves `GET /campaigns?status=&created_after=`.
- `post_drafts`: per-platform content made by processing, unique (campaign_id, platform),
  so processing twice creates nothing more.
- `posts`: one row per (campaign_id, platform, idempotency_key) publish outcome, so a
  retried publish with the same key never posts twice.
- `jobs`: the persistent deferral queue (`due_at`, a lease in `locked_until`); a pending
  job holds `dedupe_key`, unique, so a campaign has at most one pending process job.

Times are timezone-aware UTC datetimes (SQLite stores them naive: read them with `utc`).
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "DEFAULT_CAMPAIGN_PLATFORMS",
    "MAX_CONTENT_CHARS",
    "MAX_PLATFORMS",
    "Campaign",
    "CampaignBase",
    "CampaignStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "Post",
    "PostDraft",
    "PostStatus",
    "is_platform_list",
    "utc",
]

DEFAULT_CAMPAIGN_PLATFORMS = ("twitter", "facebook", "linkedin", "instagram", "tiktok")
"""Platforms of a campaign created without a `platforms` list."""
MAX_PLATFORMS = 16
MAX_CONTENT_CHARS = 5000
"""Longest campaign content, in characters (what the social platforms accept)."""
_PLATFORM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_platform_list(value: object) -> bool:
    """Whether `value` is 1..MAX_PLATFORMS distinct names of A-Z a-z 0-9 _ - (<= 64 chars)."""
    return (
        isinstance(value, list)
        and 1 <= len(value) <= MAX_PLATFORMS
        and all(isinstance(p, str) and _PLATFORM_NAME.match(p) for p in value)
        and len(set(value)) == len(value)
    )


class CampaignStatus(enum.StrEnum):
    """A campaign's life: processing moves DRAFT to SCHEDULED."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class PostStatus(enum.StrEnum):
    """A stored publish outcome (`already_posted` is only ever a reply, never stored)."""

    POSTED = "posted"
    ALREADY_POSTED = "already_posted"
    FAILED = "failed"
    REJECTED = "rejected"
    """The platform refused the post with a 4xx that a retry cannot change (like a platform
    it does not know); stored like FAILED, so a later publish may try again."""


class JobStatus(enum.StrEnum):
    """A queued job: PENDING until DONE, or FAILED after its last attempt."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class JobKind(enum.StrEnum):
    """What a job does."""

    PROCESS_CAMPAIGN = "process_campaign"


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class CampaignBase(DeclarativeBase):
    """Metadata of the campaign service's schema."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Campaign(CampaignBase):
    __tablename__ = "campaigns"
    __table_args__ = (
        # The guide: CREATE INDEX idx_campaigns_status_created ON campaigns (status, created_at).
        Index("idx_campaigns_status_created", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    platforms: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class PostDraft(CampaignBase):
    __tablename__ = "post_drafts"
    __table_args__ = (UniqueConstraint("campaign_id", "platform", name="uq_post_drafts_platform"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Post(CampaignBase):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "platform", "idempotency_key", name="uq_posts_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class Job(CampaignBase):
    __tablename__ = "jobs"
    __table_args__ = (Index("idx_jobs_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.PENDING.value)
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    due_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
