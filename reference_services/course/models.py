"""Course platform tables (SQLAlchemy 2 ORM), with the performance guide's index."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ENROLLMENT_STATUSES",
    "Course",
    "CourseBase",
    "CourseEnrollment",
    "Lesson",
    "User",
    "Video",
    "VideoRendition",
]

ENROLLMENT_STATUSES = ("active", "completed", "dropped")


def _now() -> datetime:
    return datetime.now(UTC)


class CourseBase(DeclarativeBase):
    """Metadata of the course service's schema."""


class User(CourseBase):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Course(CourseBase):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Lesson(CourseBase):
    __tablename__ = "lessons"
    __table_args__ = (Index("idx_lessons_course_position", "course_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")


class CourseEnrollment(CourseBase):
    __tablename__ = "course_enrollments"
    __table_args__ = (
        # The guide: CREATE INDEX idx_course_enrollments_user_course ON (user_id, course_id).
        Index("idx_course_enrollments_user_course", "user_id", "course_id", unique=True),
        CheckConstraint(
            "progress_percentage >= 0 AND progress_percentage <= 100", name="ck_progress_range"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    progress_percentage: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Video(CourseBase):
    __tablename__ = "videos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    duration_s: Mapped[float] = mapped_column(Float)


class VideoRendition(CourseBase):
    """A pre-generated encoding of a video; nothing is transcoded on the request path."""

    __tablename__ = "video_renditions"
    __table_args__ = (Index("idx_video_renditions_video", "video_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bandwidth_bps: Mapped[int] = mapped_column(Integer)
    codecs: Mapped[str] = mapped_column(String(100))
