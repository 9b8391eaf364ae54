"""Personalized course content and cache keys (pure)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["content_key", "invalidation_patterns", "personalize", "progress_key"]


def content_key(course_id: int, user_id: int) -> str:
    """The guide's cache key for a user's view of a course."""
    return f"course:{course_id}:user:{user_id}"


def progress_key(user_id: int) -> str:
    """Cache key of a user's progress summary."""
    return f"progress:{user_id}:active"


def invalidation_patterns(user_id: int) -> list[str]:
    """Every cached entry that depends on one user's enrollments (the guide's patterns)."""
    return [f"user:{user_id}:*", f"course:*:user:{user_id}", f"progress:{user_id}:*"]


def personalize(
    course: Any,
    lessons: Sequence[Any],
    enrollment: Any | None,
    user_id: int,
) -> bytes:
    """The content document for `user_id`: lessons marked done up to their progress."""
    progress = float(enrollment.progress_percentage) if enrollment is not None else 0.0
    done = math.floor(len(lessons) * progress / 100.0)
    items = [
        {"id": lesson.id, "position": lesson.position, "title": lesson.title, "done": i < done}
        for i, lesson in enumerate(lessons)
    ]
    next_lesson = items[done] if done < len(items) else None
    document = {
        "course": {"id": course.id, "title": course.title, "description": course.description},
        "user_id": user_id,
        "enrolled": enrollment is not None,
        "status": enrollment.status if enrollment is not None else None,
        "progress_percentage": progress,
        "next_lesson": next_lesson,
        "lessons": items,
    }
    return json.dumps(document, separators=(",", ":")).encode()
