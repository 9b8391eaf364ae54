"""Deterministic bulk seeding of the campaign database.

`seed_campaigns(db, campaigns=5_000)` inserts campaigns with ids 1..N, statuses spread
evenly over draft/scheduled/active/paused/completed and `created_at` spread over the last
90 days, in batches of `batch` rows per INSERT (5,000 campaigns: well under a second on
SQLite). Drafts, posts and jobs start empty.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from reference_services.campaign.models import (
    DEFAULT_CAMPAIGN_PLATFORMS,
    Campaign,
    CampaignBase,
    CampaignStatus,
)
from reference_services.seed import AlreadySeeded, SeedReport
from runtime.database import Database

__all__ = ["seed_campaigns"]

_SPAN_S = 90 * 24 * 3600
_PRODUCTS = ("Spring Sale", "Webinar", "Product Launch", "Newsletter", "Black Friday", "Meetup")
_ANGLES = ("Early-bird", "Last-chance", "Behind-the-scenes", "Customer story", "How-to")


def campaign_rows(campaigns: int, seed: int, now: datetime) -> list[dict[str, Any]]:
    """The rows `seed_campaigns` inserts: pure and deterministic for (campaigns, seed, now)."""
    rng = random.Random(seed)
    statuses = list(CampaignStatus)
    rows = []
    for campaign_id in range(1, campaigns + 1):
        product, angle = rng.choice(_PRODUCTS), rng.choice(_ANGLES)
        count = rng.randint(2, len(DEFAULT_CAMPAIGN_PLATFORMS))
        chosen = set(rng.sample(DEFAULT_CAMPAIGN_PLATFORMS, count))
        status = statuses[(campaign_id - 1) % len(statuses)]
        created_at = now - timedelta(seconds=rng.uniform(0, _SPAN_S))
        processed_at = (
            None
            if status is CampaignStatus.DRAFT
            else created_at + timedelta(minutes=rng.uniform(1, 120))
        )
        rows.append(
            {
                "id": campaign_id,
                "name": f"{angle} {product} #{campaign_id}",
                "content": f"{angle}: {product}! Join us, campaign {campaign_id}. #{seed}",
                "platforms": [p for p in DEFAULT_CAMPAIGN_PLATFORMS if p in chosen],
                "status": status.value,
                "created_at": created_at,
                "processed_at": processed_at,
            }
        )
    return rows


async def seed_campaigns(
    db: Database,
    *,
    campaigns: int = 5_000,
    seed: int = 42,
    reset: bool = False,
    batch: int = 2_000,
    progress: Callable[[str], None] = lambda message: None,
) -> SeedReport:
    """Fill the campaign schema (ids 1..N); AlreadySeeded if campaigns exist and not reset.

    With `reset` the campaign tables are dropped and created again first.
    """
    if campaigns < 1:
        raise ValueError(f"campaigns: expected >= 1, got {campaigns}")
    if batch < 1:
        raise ValueError(f"batch: expected >= 1, got {batch}")
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        if reset:
            await conn.run_sync(CampaignBase.metadata.drop_all)
        await conn.run_sync(CampaignBase.metadata.create_all)
    async with db.session() as session:
        existing = await session.scalar(select(func.count()).select_from(Campaign))
    if existing:
        raise AlreadySeeded(f"the campaign database already has {existing} campaigns; use --reset")
    rows = campaign_rows(campaigns, seed, datetime.now(UTC))
    progress(f"  inserting {len(rows):>6,} campaigns")
    async with db.session() as session, session.begin():
        for start in range(0, len(rows), batch):
            await session.execute(insert(Campaign), rows[start : start + batch])
        if db.engine.dialect.name == "postgresql":  # explicit ids do not advance the sequence
            await session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('campaigns', 'id'), "
                    "(SELECT MAX(id) FROM campaigns))"
                )
            )
    return SeedReport({"campaigns": len(rows)}, time.perf_counter() - started)
