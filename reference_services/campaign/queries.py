"""The campaign service's statements and its idempotent writes, each a few round trips.

`process_campaign` and `record_posts` may run any number of times with the same input:
unique constraints plus `ON CONFLICT` (PostgreSQL and SQLite alike) make the second run
change nothing, so at-least-once delivery has an exactly-once effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Select, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from reference_services.campaign.models import (
    Campaign,
    CampaignStatus,
    Post,
    PostDraft,
    PostStatus,
    utc,
)
from reference_services.campaign.publisher import PostResult, draft_for
from runtime.database import Database

__all__ = [
    "PROCESSABLE_STATUSES",
    "AnySelect",
    "CampaignNotFound",
    "CampaignNotProcessable",
    "Processed",
    "campaign_by_id",
    "campaign_document",
    "dialect_insert",
    "drafts_of",
    "list_campaigns",
    "posted_for_key",
    "process_campaign",
    "record_posts",
]

PROCESSABLE_STATUSES = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE}
)
"""Statuses in which a campaign may be processed or published (not paused or completed)."""
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


class CampaignNotFound(LookupError):
    """No campaign has this id."""


class CampaignNotProcessable(RuntimeError):
    """The campaign is paused or completed; `status` says which."""

    def __init__(self, campaign_id: int, status: str) -> None:
        super().__init__(
            f"campaign {campaign_id} is {status}; only "
            f"{', '.join(sorted(PROCESSABLE_STATUSES))} campaigns are processed or published"
        )
        self.status = status


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT with `on_conflict_do_nothing/update` for the session's database."""
    bind = session.bind
    name = bind.dialect.name if bind is not None else "sqlite"
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def campaign_by_id(campaign_id: int) -> AnySelect:
    return select(
        Campaign.id,
        Campaign.name,
        Campaign.content,
        Campaign.platforms,
        Campaign.status,
        Campaign.created_at,
        Campaign.processed_at,
    ).where(Campaign.id == campaign_id)


def campaign_document(row: Any) -> dict[str, Any]:
    """A `campaign_by_id` row (or a Campaign) as JSON values, times in ISO 8601."""
    return {
        "id": row.id,
        "name": row.name,
        "content": row.content,
        "platforms": list(row.platforms),
        "status": row.status,
        "created_at": utc(row.created_at).isoformat(),
        "processed_at": utc(row.processed_at).isoformat() if row.processed_at else None,
    }


def list_campaigns(status: str | None, created_after: datetime | None, limit: int) -> AnySelect:
    """Campaigns oldest first; with a status, served by idx_campaigns_status_created.

    Page on by passing the last row's `created_at` as the next `created_after`.
    """
    query = select(Campaign.id, Campaign.name, Campaign.status, Campaign.created_at)
    if status is not None:
        query = query.where(Campaign.status == status)
    if created_after is not None:
        query = query.where(Campaign.created_at > created_after)
    return query.order_by(Campaign.created_at, Campaign.id).limit(limit)


def drafts_of(campaign_id: int) -> AnySelect:
    return (
        select(PostDraft.platform, PostDraft.content)
        .where(PostDraft.campaign_id == campaign_id)
        .order_by(PostDraft.platform)
    )


def posted_for_key(campaign_id: int, key: str) -> AnySelect:
    """The platforms already posted under this client Idempotency-Key."""
    return select(Post.platform, Post.external_id, Post.attempts).where(
        Post.campaign_id == campaign_id,
        Post.idempotency_key == key,
        Post.status == PostStatus.POSTED.value,
    )


@dataclass(frozen=True, slots=True)
class Processed:
    """The state after processing: `drafts_created` is 0 when it had been done before."""

    campaign_id: int
    status: str
    drafts_created: int
    drafts: dict[str, str]


async def process_campaign(db: Database, campaign_id: int, now: datetime) -> Processed:
    """Make a draft per platform and move DRAFT to SCHEDULED, once; repeats change nothing.

    Raises CampaignNotFound or CampaignNotProcessable. One transaction, four statements.
    """
    async with db.session() as session, session.begin():
        row = (
            await session.execute(
                select(Campaign.content, Campaign.platforms, Campaign.status).where(
                    Campaign.id == campaign_id
                )
            )
        ).first()
        if row is None:
            raise CampaignNotFound(f"campaign {campaign_id} does not exist")
        if row.status not in PROCESSABLE_STATUSES:
            raise CampaignNotProcessable(campaign_id, row.status)
        drafts = {platform: draft_for(platform, row.content) for platform in row.platforms}
        created = 0
        if drafts:
            insert = dialect_insert(session, PostDraft).values(
                [
                    {"campaign_id": campaign_id, "platform": p, "content": c, "created_at": now}
                    for p, c in drafts.items()
                ]
            )
            result = await session.execute(
                insert.on_conflict_do_nothing(index_elements=["campaign_id", "platform"])
            )
            created = max(0, int(getattr(result, "rowcount", 0) or 0))
        status = await session.scalar(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.processed_at.is_(None))
            .values(
                status=case(
                    (Campaign.status == CampaignStatus.DRAFT.value, CampaignStatus.SCHEDULED.value),
                    else_=Campaign.status,
                ),
                processed_at=now,
            )
            .returning(Campaign.status)
        )
        stored = (await session.execute(drafts_of(campaign_id))).all()
    return Processed(
        campaign_id, status or row.status, created, {d.platform: d.content for d in stored}
    )


async def record_posts(
    session: AsyncSession,
    campaign_id: int,
    key: str,
    results: Mapping[str, PostResult],
    now: datetime,
) -> None:
    """Store the outcomes of one publish; a POSTED row is never overwritten.

    A FAILED row is replaced by a later outcome under the same key (attempts add up).
    One statement; call inside a transaction.
    """
    rows: Sequence[dict[str, Any]] = [
        {
            "campaign_id": campaign_id,
            "platform": platform,
            "idempotency_key": key,
            "status": result.status.value,
            "external_id": result.external_id,
            "attempts": result.attempts,
            "error": result.error,
            "updated_at": now,
        }
        for platform, result in results.items()
        if result.status is not PostStatus.ALREADY_POSTED
    ]
    if not rows:
        return
    insert = dialect_insert(session, Post).values(list(rows))
    excluded = insert.excluded
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["campaign_id", "platform", "idempotency_key"],
            set_={
                "status": excluded.status,
                "external_id": excluded.external_id,
                "attempts": Post.attempts + excluded.attempts,
                "error": excluded.error,
                "updated_at": excluded.updated_at,
            },
            where=Post.status != PostStatus.POSTED.value,
        )
    )
