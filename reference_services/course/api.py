"""The course service's operations: request models that its handlers parse with, and the
answers its OpenAPI document at GET /openapi.json lists (see `runtime.openapi`)."""

from __future__ import annotations

from reference_services.ai_model import MAX_PROMPT_CHARS
from reference_services.course.models import ENROLLMENT_STATUSES
from runtime.http import MAX_ID
from runtime.openapi import Operation, Response
from runtime.schema import Array, Body, Choice, Field, Integer, JsonSchema, Number, Param, Text

__all__ = [
    "CONTENT",
    "COURSE",
    "DATASET",
    "ENROLL",
    "GENERATE",
    "INDEX",
    "MAX_PROMPTS",
    "MEDIA",
    "OPERATIONS",
    "PROGRESS",
    "STREAM",
    "UPDATE_PROGRESS",
]

MAX_PROMPTS = 32
_ID = Integer(1, MAX_ID)
_HLS = "application/vnd.apple.mpegurl"
_DB_ERRORS = (404, 503)


def _id(name: str) -> Param:
    return Param(name, "path", _ID)


def _object(required: dict[str, JsonSchema]) -> JsonSchema:
    return {"type": "object", "required": sorted(required), "properties": required}


_INT: JsonSchema = {"type": "integer"}
_NUMBER: JsonSchema = {"type": "number"}
_STRING: JsonSchema = {"type": "string"}
_COURSE = _object({"id": _INT, "title": _STRING, "description": _STRING})
_ENROLLMENT = _object(
    {
        "id": _INT,
        "user_id": _INT,
        "course_id": _INT,
        "status": {"enum": list(ENROLLMENT_STATUSES)},
        "progress_percentage": _NUMBER,
    }
)

INDEX = Operation(
    "GET", "/", "The course catalogue page", {200: Response("HTML", None, "text/html")}
)
COURSE = Operation(
    "GET",
    "/courses/{course_id}",
    "One course",
    {200: Response("The course", _COURSE)},
    params=(_id("course_id"),),
    errors=_DB_ERRORS,
)
CONTENT = Operation(
    "GET",
    "/courses/{course_id}/content",
    "A course's lessons as one user sees them (cached)",
    {
        200: Response(
            "The personalized content",
            _object(
                {
                    "course": _COURSE,
                    "user_id": _INT,
                    "enrolled": {"type": "boolean"},
                    "progress_percentage": _NUMBER,
                    "lessons": {"type": "array"},
                }
            ),
        )
    },
    params=(_id("course_id"), Param("user_id", "query", _ID)),
    errors=_DB_ERRORS,
)
PROGRESS = Operation(
    "GET",
    "/users/{user_id}/progress",
    "A user's progress in every course (cached)",
    {200: Response("The progress", _object({"user_id": _INT, "enrollments": {"type": "array"}}))},
    params=(_id("user_id"),),
    errors=(503,),
)
ENROLL = Operation(
    "POST",
    "/enrollments",
    "Enroll a user in a course",
    {201: Response("The new enrollment", _ENROLLMENT)},
    body=Body("invalid enrollment", (Field("user_id", _ID), Field("course_id", _ID))),
    errors=(404, 409, 503),
)
UPDATE_PROGRESS = Operation(
    "PATCH",
    "/enrollments/{enrollment_id}/progress",
    "Set an enrollment's progress and status",
    {200: Response("The enrollment", _ENROLLMENT)},
    params=(_id("enrollment_id"),),
    body=Body(
        "invalid progress update",
        (
            Field("progress_percentage", Number(0, 100)),
            Field("status", Choice(ENROLLMENT_STATUSES), required=False, default="active"),
        ),
    ),
    errors=_DB_ERRORS,
)
STREAM = Operation(
    "GET",
    "/videos/{video_id}/stream",
    "The HLS master playlist for a bandwidth",
    {200: Response("The master playlist", None, _HLS)},
    params=(_id("video_id"), Param("bandwidth_mbps", "query", Number(minimum=0))),
    errors=_DB_ERRORS,
)
MEDIA = Operation(
    "GET",
    "/videos/{video_id}/{rendition}/playlist.m3u8",
    "The HLS media playlist of one rendition",
    {200: Response("The media playlist", None, _HLS)},
    params=(_id("video_id"), Param("rendition", "path", Text(1, 64))),
    errors=_DB_ERRORS,
)
GENERATE = Operation(
    "POST",
    "/ai/generate",
    "Recommend lessons for each prompt (batched inference)",
    {200: Response("One result a prompt", _object({"results": {"type": "array"}}))},
    body=Body(
        "invalid prompts",
        (
            Field(
                "prompts",
                Array(Text(1, MAX_PROMPT_CHARS), 1, MAX_PROMPTS),
                expected=f"expected 1..{MAX_PROMPTS} non-empty strings of "
                f"<= {MAX_PROMPT_CHARS} chars",
            ),
        ),
    ),
)
DATASET = Operation(
    "GET",
    "/dataset",
    "How many users, courses, videos and enrollments the database holds",
    {
        200: Response(
            "Counts",
            _object({"users": _INT, "courses": _INT, "videos": _INT, "enrollments": _INT}),
        )
    },
    errors=(503,),
)
OPERATIONS = (
    INDEX,
    COURSE,
    CONTENT,
    PROGRESS,
    ENROLL,
    UPDATE_PROGRESS,
    STREAM,
    MEDIA,
    GENERATE,
    DATASET,
)
"""Every route of the course service but /metrics, /live/* and /static/*."""
