"""The fake social platforms' operations: request models that the handlers of
`reference_services.social` parse with, and the answers of its GET /openapi.json.

    ops = SocialOperations.for_platforms(["twitter", "x"])
    values = await ops.create_post.parse(request)

The `platform` path parameter is documented as the app's platform names; any other name
is answered 404 by the handlers, not 400, so a client learns the known names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtime.openapi import Operation, Response
from runtime.schema import AnyOf, Body, Converted, Field, Integer, JsonSchema, Number, Param, Text

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_CONTENT_CHARS",
    "MAX_IDEMPOTENCY_KEY_CHARS",
    "SocialOperations",
]

MAX_CONTENT_CHARS = 5000
MAX_IDEMPOTENCY_KEY_CHARS = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"
_SECONDS = AnyOf(
    (Number(minimum=0), Text(1, 64)), "expected seconds as a number or a duration like '50ms'"
)
_FRACTION = AnyOf(
    (Number(0, 1), Text(1, 64)), "expected a fraction in [0, 1] or a percentage like '1%'"
)
_POST = Body(
    "invalid post",
    (
        Field(
            "content",
            Text(1, MAX_CONTENT_CHARS),
            expected=f"expected a string of 1 to {MAX_CONTENT_CHARS} characters",
        ),
        Field("campaign_id", Integer(-(2**63), 2**63 - 1), expected="expected an integer"),
    ),
)
_BEHAVIOUR_FIELDS = (
    Field("name", Text(1, 64), required=False),
    Field("latency_median_s", _SECONDS, required=False),
    Field("latency_p99_s", _SECONDS, required=False),
    Field("error_rate", _FRACTION, required=False),
    Field("timeout_rate", _FRACTION, required=False),
    Field("hang_s", _SECONDS, required=False),
)
_BEHAVIOUR_BODY = Body("invalid behaviour", _BEHAVIOUR_FIELDS, extra_fields=False)
_BEHAVIOUR: JsonSchema = {
    "type": "object",
    "required": [f.name for f in _BEHAVIOUR_FIELDS],
    "properties": {
        "name": {"type": "string"},
        **{f.name: {"type": "number"} for f in _BEHAVIOUR_FIELDS if f.name != "name"},
    },
}
_POSTED: JsonSchema = {
    "type": "object",
    "required": ["id", "platform", "idempotency_key"],
    "properties": {"id": {"type": "string"}, "platform": {"type": "string"}},
}
_KEY = Param(
    IDEMPOTENCY_HEADER,
    "header",
    Text(1, MAX_IDEMPOTENCY_KEY_CHARS),
    description="Posts with a key seen before answer 200 with the stored post",
)


def _same(raw: str) -> str:
    return raw


@dataclass(frozen=True, slots=True)
class SocialOperations:
    """The social app's operations, its platform names in the `platform` parameter."""

    stats: Operation
    create_post: Operation
    get_post: Operation
    get_behaviour: Operation
    set_behaviour: Operation

    @classmethod
    def for_platforms(cls, names: Iterable[str]) -> SocialOperations:
        platform = Param(
            "platform",
            "path",
            Converted({"type": "string", "enum": sorted(names)}, _same, "a platform name"),
        )
        behaviour = "/platforms/{platform}/behaviour"
        return cls(
            stats=Operation(
                "GET",
                "/platforms/stats",
                "Counts per platform",
                {200: Response("Counts by platform name", {"type": "object"})},
            ),
            create_post=Operation(
                "POST",
                "/platforms/{platform}/posts",
                "Post after a simulated latency; 503 on a simulated error",
                {201: Response("Stored", _POSTED), 200: Response("Seen key", _POSTED)},
                params=(platform, _KEY),
                body=_POST,
                errors=(404, 503),
            ),
            get_post=Operation(
                "GET",
                "/platforms/{platform}/posts/{post_id}",
                "A stored post",
                {200: Response("The post", {"type": "object", "required": ["id", "content"]})},
                params=(platform, Param("post_id", "path", Text(1, 200))),
                errors=(404,),
            ),
            get_behaviour=Operation(
                "GET",
                behaviour,
                "How the platform answers",
                {200: Response("The behaviour", _BEHAVIOUR)},
                params=(platform,),
                errors=(404,),
            ),
            set_behaviour=Operation(
                "POST",
                behaviour,
                "Change how the platform answers (durations as seconds or '50ms', rates as "
                "fractions or '1%')",
                {200: Response("The new behaviour", _BEHAVIOUR)},
                params=(platform,),
                body=_BEHAVIOUR_BODY,
                errors=(404,),
            ),
        )

    def all(self) -> tuple[Operation, ...]:
        return (
            self.stats,
            self.create_post,
            self.get_post,
            self.get_behaviour,
            self.set_behaviour,
        )
