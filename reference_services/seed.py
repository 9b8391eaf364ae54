"""Deterministic bulk seeding of the reference services' databases.

`seed_course(db, users=10_000, courses=200)` inserts users, courses with lessons, videos
with their pre-generated renditions, and about three enrollments per user, in batches
of `batch` rows per INSERT. 10,000 users take a few seconds on SQLite.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_services.course.models import (
    Course,
    CourseBase,
    CourseEnrollment,
    Lesson,
    User,
    Video,
    VideoRendition,
)
from reference_services.video import RENDITIONS
from runtime.database import Database

__all__ = ["AlreadySeeded", "SeedReport", "seed_course"]

_TOPICS = (
    "Python",
    "Statistics",
    "Deep Learning",
    "SQL",
    "Prompt Design",
    "Data Viz",
    "MLOps",
    "Linear Algebra",
    "Reinforcement Learning",
    "Computer Vision",
    "NLP",
    "Causal Inference",
)
_LEVELS = ("Foundations of", "Practical", "Advanced", "Applied", "Hands-on")


class AlreadySeeded(RuntimeError):
    """The database already holds rows; pass reset=True to start over."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    """Rows inserted per table and the time it took (seconds)."""

    rows: dict[str, int]
    elapsed_s: float


async def _bulk(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], batch: int
) -> None:
    for start in range(0, len(rows), batch):
        await session.execute(insert(table), list(rows[start : start + batch]))


async def seed_course(
    db: Database,
    *,
    users: int = 10_000,
    courses: int = 200,
    lessons_per_course: int = 10,
    enrollments_per_user: int = 3,
    seed: int = 42,
    reset: bool = False,
    batch: int = 2_000,
    progress: Callable[[str], None] = lambda message: None,
) -> SeedReport:
    """Fill the course schema; ids are 1..N so load tests can draw them from ranges."""
    if users < 1 or courses < 1:
        raise ValueError(f"users and courses: expected >= 1, got {users} and {courses}")
    started = time.perf_counter()
    rng = random.Random(seed)
    async with db.engine.begin() as conn:
        if reset:
            await conn.run_sync(CourseBase.metadata.drop_all)
        await conn.run_sync(CourseBase.metadata.create_all)
    async with db.session() as session:
        existing = await session.scalar(select(func.count()).select_from(User))
        if existing:
            raise AlreadySeeded(f"the course database already has {existing} users; use --reset")
    now = datetime.now(UTC)
    rows: dict[str, list[dict[str, Any]]] = {
        "users": [
            {"id": i, "name": f"User {i}", "email": f"user{i}@example.test", "created_at": now}
            for i in range(1, users + 1)
        ],
        "courses": [
            {
                "id": c,
                "title": f"{rng.choice(_LEVELS)} {rng.choice(_TOPICS)} #{c}",
                "description": f"Course {c}: {lessons_per_course} lessons.",
                "created_at": now,
            }
            for c in range(1, courses + 1)
        ],
    }
    rows["lessons"] = [
        {
            "id": (c - 1) * lessons_per_course + p,
            "course_id": c,
            "position": p,
            "title": f"Lesson {p} of course {c}",
            "body": "",
        }
        for c in range(1, courses + 1)
        for p in range(1, lessons_per_course + 1)
    ]
    rows["videos"] = [
        {
            "id": v,
            "course_id": (v - 1) // 2 + 1,
            "title": f"Video {v}",
            "duration_s": 60.0 + (v % 50) * 12.5,
        }
        for v in range(1, courses * 2 + 1)
    ]
    rows["video_renditions"] = [
        {
            "video_id": v,
            "name": r.name,
            "width": r.width,
            "height": r.height,
            "bandwidth_bps": r.bandwidth_bps,
            "codecs": r.codecs,
        }
        for v in range(1, courses * 2 + 1)
        for r in RENDITIONS
    ]
    enrollments = []
    for user_id in range(1, users + 1):
        for course_id in rng.sample(range(1, courses + 1), min(enrollments_per_user, courses)):
            status = "active" if rng.random() < 0.85 else rng.choice(("completed", "dropped"))
            enrollments.append(
                {
                    "user_id": user_id,
                    "course_id": course_id,
                    "status": status,
                    "progress_percentage": round(rng.random() * 100, 1)
                    if rng.random() < 0.8
                    else 0.0,
                    "updated_at": now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30)),
                }
            )
    rows["course_enrollments"] = enrollments
    tables = {
        "users": User,
        "courses": Course,
        "lessons": Lesson,
        "videos": Video,
        "video_renditions": VideoRendition,
        "course_enrollments": CourseEnrollment,
    }
    async with db.session() as session, session.begin():
        for name, table in tables.items():
            progress(f"  inserting {len(rows[name]):>6,} {name}")
            await _bulk(session, table, rows[name], batch)
    return SeedReport({name: len(r) for name, r in rows.items()}, time.perf_counter() - started)
