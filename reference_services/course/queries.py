"""The course service's statements, each one round trip (no N+1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from reference_services.course.models import Course, CourseEnrollment, Lesson, Video, VideoRendition

__all__ = [
    "course_by_id",
    "enrollment_of",
    "lessons_of",
    "progress_of_user",
    "renditions_of",
]


def progress_of_user(user_id: int) -> Select[Any]:
    """The guide's query: a user's active enrollments with progress, with course titles."""
    return (
        select(
            CourseEnrollment.user_id,
            CourseEnrollment.course_id,
            CourseEnrollment.progress_percentage,
            Course.title.label("course_title"),
        )
        .join(Course, CourseEnrollment.course_id == Course.id)
        .where(
            CourseEnrollment.user_id == user_id,
            CourseEnrollment.status == "active",
            CourseEnrollment.progress_percentage > 0,
        )
        .order_by(CourseEnrollment.course_id)
    )


def course_by_id(course_id: int) -> Select[Any]:
    return select(Course.id, Course.title, Course.description).where(Course.id == course_id)


def lessons_of(course_id: int) -> Select[Any]:
    return (
        select(Lesson.id, Lesson.position, Lesson.title)
        .where(Lesson.course_id == course_id)
        .order_by(Lesson.position)
    )


def enrollment_of(user_id: int, course_id: int) -> Select[Any]:
    return select(
        CourseEnrollment.id, CourseEnrollment.status, CourseEnrollment.progress_percentage
    ).where(CourseEnrollment.user_id == user_id, CourseEnrollment.course_id == course_id)


def renditions_of(video_id: int) -> Select[Any]:
    """A video's duration with its pre-generated renditions (one row per rendition)."""
    return (
        select(
            Video.duration_s,
            VideoRendition.name,
            VideoRendition.width,
            VideoRendition.height,
            VideoRendition.bandwidth_bps,
            VideoRendition.codecs,
        )
        .join(VideoRendition, VideoRendition.video_id == Video.id)
        .where(Video.id == video_id)
        .order_by(VideoRendition.bandwidth_bps.desc())
    )
