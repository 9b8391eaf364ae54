"""Operations: each route's request model (`runtime.schema`) and its answers, used both to
parse requests and to publish the service's OpenAPI 3.1 document at GET /openapi.json.

    GET_COURSE = Operation("GET", "/courses/{course_id}", "One course", params=(ID,),
                           responses={200: Response("The course", COURSE)}, errors=(404,))
    values = await GET_COURSE.parse(request)      # {"course_id": 7}, or BadRequest
    add_openapi_route(app, "course", [GET_COURSE, ...])

Error statuses are documented with the one error shape every handler answers
(`{"error": str, "fields": {str: str}}`). Parsing is O(size of the request); the document
is built once, when the route is added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from collector import conventions as names
from runtime.errors import BadRequest
from runtime.http import json_body
from runtime.schema import Body, JsonSchema, Param

__all__ = [
    "ERROR_SCHEMA",
    "HEALTH_OPERATIONS",
    "OPENAPI_PATH",
    "Operation",
    "Response",
    "add_openapi_route",
    "openapi_document",
]

OPENAPI_PATH = "/openapi.json"
ERROR_SCHEMA: JsonSchema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
"""The body of every 4xx and 5xx the services answer themselves."""
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_REASONS = {
    400: "The request is malformed; `fields` names each bad input and what it expects",
    401: "A valid bearer token is required",
    404: "The resource does not exist",
    409: "The request conflicts with the resource's state",
    413: "The body is larger than the service accepts",
    429: "Rate limited; retry after the Retry-After header's seconds",
    502: "Every downstream platform failed",
    503: "A dependency is unreachable; retry after the Retry-After header's seconds",
}


@dataclass(frozen=True, slots=True)
class Response:
    """A success answer: its description, body schema (None: any) and media type."""

    description: str
    schema: JsonSchema | None = None
    media_type: str = "application/json"

    def openapi(self) -> JsonSchema:
        content: JsonSchema = {"schema": self.schema} if self.schema is not None else {}
        return {"description": self.description, "content": {self.media_type: content}}


@dataclass(frozen=True, slots=True)
class Operation:
    """One route: its inputs (params, JSON body), success answers and error statuses.

    A 400 is documented whenever there is an input, a 413 whenever there is a body.
    `bearer`: the route needs `Authorization: Bearer <token>` (401 otherwise).
    `body_schema`: a JSON body that the handler parses itself with a richer parser than
    `Body` (like Alertmanager's payload); documented here, not parsed by `parse`.
    """

    method: str
    path: str
    summary: str
    responses: Mapping[int, Response]
    params: tuple[Param, ...] = ()
    body: Body | None = None
    errors: tuple[int, ...] = ()
    bearer: bool = False
    body_schema: JsonSchema | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        has_body = self.body is not None or self.body_schema is not None
        if self.params or has_body:
            statuses.add(400)
        if has_body:
            statuses.add(413)
        if self.bearer:
            statuses.add(401)
        return sorted(statuses)

    def openapi(self) -> JsonSchema:
        """The OpenAPI Operation Object."""
        responses: JsonSchema = {str(s): r.openapi() for s, r in sorted(self.responses.items())}
        for status in self.error_statuses():
            responses[str(status)] = {
                "description": _REASONS.get(status, "An error"),
                "content": {"application/json": {"schema": _ERROR_REF}},
            }
        operation: JsonSchema = {
            "operationId": f"{self.method.lower()} {self.path}",
            "summary": self.summary,
            "responses": responses,
        }
        if self.params:
            operation["parameters"] = [p.openapi() for p in self.params]
        body = self.body.schema() if self.body is not None else self.body_schema
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        if self.bearer:
            operation["security"] = [{"bearer": []}]
        if self.tags:
            operation["tags"] = list(self.tags)
        return operation

    async def parse(self, request: web.Request) -> dict[str, Any]:
        """Every parameter's and body field's value by name, or BadRequest (413 for a body
        too large). Path parameters are checked first; the query, headers and body are
        then checked together, so one 400 names every bad input."""
        values: dict[str, Any] = {}
        for param in self.params:
            if param.location == "path":
                values[param.name] = param.parse(request.match_info.get(param.name))
        fields: dict[str, str] = {}
        message = ""
        for param in self.params:
            source = request.query if param.location == "query" else request.headers
            if param.location == "path":
                continue
            try:
                values[param.name] = param.parse(source.get(param.name))
            except BadRequest as exc:
                fields.update(exc.fields)
                message = message or exc.message
        if self.body is not None:
            try:
                values.update(self.body.validate(await json_body(request)))
            except BadRequest as exc:
                message = self.body.message if fields else exc.message
                fields.update(exc.fields)
        if fields:
            raise BadRequest(message, fields=fields)
        return values


HEALTH_OPERATIONS = (
    Operation(
        "GET",
        names.HEALTHZ_PATH,
        "The process is alive",
        {200: Response("Alive", {"type": "object", "required": ["status"]})},
        tags=("health",),
    ),
    Operation(
        "GET",
        names.READYZ_PATH,
        "The service is ready (its database answers)",
        {200: Response("Ready", {"type": "object", "required": ["status"]})},
        errors=(503,),
        tags=("health",),
    ),
    Operation(
        "GET",
        OPENAPI_PATH,
        "This document",
        {200: Response("The OpenAPI 3.1 document", {"type": "object", "required": ["openapi"]})},
        tags=("health",),
    ),
)
"""/healthz, /readyz (see `runtime.http.add_health_routes`) and /openapi.json itself."""


def openapi_document(title: str, version: str, operations: Iterable[Operation]) -> JsonSchema:
    """The OpenAPI 3.1 document of `operations` (JSON Schema 2020-12). Pure."""
    paths: dict[str, dict[str, JsonSchema]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = operation.openapi()
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def add_openapi_route(
    app: web.Application, title: str, operations: Iterable[Operation], version: str = "1"
) -> None:
    """Serve the document of `operations` plus HEALTH_OPERATIONS at GET /openapi.json."""
    document = openapi_document(title, version, [*operations, *HEALTH_OPERATIONS])
    body = json.dumps(document, sort_keys=True).encode()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app.router.add_get(OPENAPI_PATH, openapi)
