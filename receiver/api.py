"""The receiver's operations: request models its handlers parse with, and the answers of
its GET /openapi.json (see `runtime.openapi`).

POST /alerts is parsed by `receiver.payload.parse_payload`, which names the failing field
path; PAYLOAD_SCHEMA documents the same rules as JSON Schema (a test feeds documents
generated from it to `parse_payload`, so the two stay in step).
"""

from __future__ import annotations

from receiver.payload import MAX_KEY_CHARS, PAYLOAD_VERSION, AlertStatus
from runtime.openapi import Operation, Response
from runtime.schema import Choice, Integer, JsonSchema, Param, Text

__all__ = ["HISTORY", "LIST", "OPERATIONS", "PAYLOAD_SCHEMA", "POST"]

_STRING: JsonSchema = {"type": "string"}
_STATUS: JsonSchema = {"enum": [s.value for s in AlertStatus]}
_TIME: JsonSchema = {"type": "string", "format": "date-time"}
_LABELS: JsonSchema = {
    "type": "object",
    "propertyNames": {"maxLength": MAX_KEY_CHARS},
    "additionalProperties": _STRING,
}
_ALERT: JsonSchema = {
    "type": "object",
    "required": [
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    ],
    "properties": {
        "status": _STATUS,
        "labels": _LABELS,
        "annotations": _LABELS,
        "startsAt": _TIME,
        "endsAt": _TIME,
        "generatorURL": _STRING,
        "fingerprint": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
    },
}
PAYLOAD_SCHEMA: JsonSchema = {
    "type": "object",
    "required": [
        "version",
        "groupKey",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    ],
    "properties": {
        "version": {"const": PAYLOAD_VERSION},
        "groupKey": _STRING,
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "status": _STATUS,
        "receiver": _STRING,
        "groupLabels": _LABELS,
        "commonLabels": _LABELS,
        "commonAnnotations": _LABELS,
        "externalURL": _STRING,
        "alerts": {"type": "array", "items": _ALERT},
    },
}
"""Alertmanager's webhook payload, version 4, as `parse_payload` accepts it."""
_EVENTS: JsonSchema = {"type": "array", "items": {"type": "object"}}

POST = Operation(
    "POST",
    "/alerts",
    "An Alertmanager webhook notification; 200 only after the commit",
    {
        200: Response(
            "Stored",
            {
                "type": "object",
                "required": ["stored", "duplicates"],
                "properties": {"stored": {"type": "integer"}, "duplicates": {"type": "integer"}},
            },
        )
    },
    body_schema=PAYLOAD_SCHEMA,
    bearer=True,
    errors=(503,),
)
LIST = Operation(
    "GET",
    "/alerts",
    "The latest event of each alert",
    {200: Response("Events", {"type": "object", "required": ["alerts"]})},
    params=(
        Param("status", "query", Choice(tuple(s.value for s in AlertStatus)), required=False),
        Param("service", "query", Text(1, 200), required=False),
        Param("limit", "query", Integer(1, 10_000), required=False, default=1000),
    ),
    bearer=True,
    errors=(503,),
)
HISTORY = Operation(
    "GET",
    "/alerts/{fingerprint}/history",
    "Every event of one alert, oldest first",
    {
        200: Response(
            "Events",
            {"type": "object", "required": ["fingerprint", "events"], "properties": {}},
        )
    },
    params=(Param("fingerprint", "path", Text(1, MAX_KEY_CHARS)),),
    bearer=True,
    errors=(404, 503),
)
OPERATIONS = (POST, LIST, HISTORY)
"""Every route of the receiver but /metrics and /live/*."""
