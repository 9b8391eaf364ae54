"""The campaign service's operations: request models that its handlers parse with, and the
answers its OpenAPI document at GET /openapi.json lists (see `runtime.openapi`)."""

from __future__ import annotations

import re
from datetime import datetime

from reference_services.campaign.models import (
    DEFAULT_CAMPAIGN_PLATFORMS,
    MAX_CONTENT_CHARS,
    MAX_PLATFORMS,
    CampaignStatus,
    utc,
)
from reference_services.campaign.publisher import IDEMPOTENCY_HEADER, MAX_KEY_CHARS, valid_key
from runtime.errors import BadRequest
from runtime.http import MAX_ID
from runtime.openapi import Operation, Response
from runtime.schema import (
    Array,
    Body,
    Choice,
    Converted,
    Field,
    Integer,
    JsonSchema,
    Param,
    Text,
)

__all__ = [
    "CREATE",
    "DATASET",
    "GET",
    "JOB",
    "LIST",
    "OPERATIONS",
    "PROCESS",
    "PUBLISH",
    "parse_created_after",
]

_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def parse_created_after(raw: str) -> datetime:
    """An ISO 8601 time (naive means UTC); else BadRequest.

    An offset whose '+' arrived unencoded (decoded as a space) is read as '+'. A time
    whose UTC equivalent leaves years 1..9999 (9999-12-31T23:59:59-14:00) is refused.
    """
    for text in (raw, _SPACED_OFFSET.sub(r"+\1", raw)):
        try:
            return utc(datetime.fromisoformat(text))
        except OverflowError:
            raise BadRequest(
                f"created_after: {raw[:50]!r} is outside years 1..9999 in UTC",
                fields={"created_after": "expected a time within years 1..9999 in UTC"},
            ) from None
        except ValueError:
            continue
    raise BadRequest(
        f"created_after: expected an ISO 8601 time, got {raw[:50]!r}",
        fields={"created_after": "expected an ISO 8601 time like 2024-05-01T12:00:00Z"},
    )


def _key(raw: str) -> str:
    if not valid_key(raw):
        raise ValueError("not a key")
    return raw


_ID = Integer(1, MAX_ID)
_STATUSES = tuple(CampaignStatus)
_PLATFORMS = Array(
    Text(1, 64, pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    1,
    MAX_PLATFORMS,
    unique=True,
    description=f"expected 1 to {MAX_PLATFORMS} distinct names of A-Z a-z 0-9 _ - (<= 64 chars)",
)
_INT: JsonSchema = {"type": "integer"}
_STRING: JsonSchema = {"type": "string"}
_TIME_OR_NULL: JsonSchema = {"type": ["string", "null"]}
_CAMPAIGN: JsonSchema = {
    "type": "object",
    "required": ["id", "name", "content", "platforms", "status", "created_at", "processed_at"],
    "properties": {
        "id": _INT,
        "name": _STRING,
        "content": _STRING,
        "platforms": {"type": "array", "items": _STRING},
        "status": {"enum": list(_STATUSES)},
        "created_at": _STRING,
        "processed_at": _TIME_OR_NULL,
    },
}
_RESULTS: JsonSchema = {
    "type": "object",
    "required": ["campaign_id", "results"],
    "properties": {
        "campaign_id": _INT,
        "results": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status", "attempts"],
                "properties": {"status": _STRING, "attempts": _INT},
            },
        },
    },
}


def _id(name: str) -> Param:
    return Param(name, "path", _ID)


CREATE = Operation(
    "POST",
    "/campaigns",
    "Create a campaign",
    {201: Response("The campaign", _CAMPAIGN)},
    body=Body(
        "invalid campaign",
        (
            Field("name", Text(1, 200, not_blank=True)),
            Field("content", Text(1, MAX_CONTENT_CHARS, not_blank=True)),
            Field(
                "platforms",
                _PLATFORMS,
                required=False,
                default=list(DEFAULT_CAMPAIGN_PLATFORMS),
            ),
            Field("status", Choice(_STATUSES), required=False, default=CampaignStatus.DRAFT.value),
        ),
    ),
    errors=(503,),
)
LIST = Operation(
    "GET",
    "/campaigns",
    "Campaigns oldest first, paged by created_after",
    {
        200: Response(
            "A page of campaigns",
            {
                "type": "object",
                "required": ["campaigns", "next_created_after"],
                "properties": {"campaigns": {"type": "array"}, "next_created_after": _TIME_OR_NULL},
            },
        )
    },
    params=(
        Param("status", "query", Choice(_STATUSES), required=False),
        Param(
            "created_after",
            "query",
            Converted(
                {"type": "string", "format": "date-time"},
                parse_created_after,
                "expected an ISO 8601 time like 2024-05-01T12:00:00Z",
            ),
            required=False,
        ),
        Param("limit", "query", Integer(1, 1000), required=False, default=100),
    ),
    errors=(503,),
)
GET = Operation(
    "GET",
    "/campaigns/{campaign_id}",
    "One campaign with its drafts",
    {200: Response("The campaign", _CAMPAIGN)},
    params=(_id("campaign_id"),),
    errors=(404, 503),
)
PROCESS = Operation(
    "POST",
    "/campaigns/{campaign_id}/process",
    "Process a campaign now, or defer it while rate limited",
    {
        200: Response("Processed", {"type": "object", "required": ["campaign_id", "status"]}),
        202: Response("Deferred", {"type": "object", "required": ["campaign_id", "job_id"]}),
    },
    params=(_id("campaign_id"),),
    errors=(404, 409, 503),
)
PUBLISH = Operation(
    "POST",
    "/campaigns/{campaign_id}/publish",
    "Post a processed campaign to its platforms, once per Idempotency-Key",
    {
        200: Response("Posted everywhere", _RESULTS),
        207: Response("Some platforms failed", _RESULTS),
        422: Response("Every platform refused the post (4xx): change the campaign", _RESULTS),
        502: Response("No platform posted, some failed in a way a retry may mend", _RESULTS),
    },
    params=(
        _id("campaign_id"),
        Param(
            IDEMPOTENCY_HEADER,
            "header",
            Converted(
                {"type": "string", "pattern": rf"^[!-~]{{1,{MAX_KEY_CHARS}}}$"},
                _key,
                f"expected a header of 1 to {MAX_KEY_CHARS} printable characters, no spaces",
            ),
        ),
    ),
    body=Body("invalid publish request", (Field("platforms", _PLATFORMS, required=False),)),
    errors=(404, 409, 429, 503),
)
JOB = Operation(
    "GET",
    "/jobs/{job_id}",
    "A deferred job",
    {200: Response("The job", {"type": "object", "required": ["campaign_id", "due_at"]})},
    params=(_id("job_id"),),
    errors=(404, 503),
)
DATASET = Operation(
    "GET",
    "/dataset",
    "How many campaigns the database holds",
    {200: Response("Counts", {"type": "object", "required": ["campaigns"]})},
    errors=(503,),
)
OPERATIONS = (CREATE, LIST, GET, PROCESS, PUBLISH, JOB, DATASET)
"""Every route of the campaign service but /metrics and /live/*."""
