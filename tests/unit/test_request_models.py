"""Request models (runtime/schema.py): what they accept is exactly what the JSON Schema
they publish accepts, and their 400s name each bad field as the handlers always did."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver import api as receiver_api
from reference_services.campaign import api as campaign_api
from reference_services.course import api as course_api
from reference_services.social_api import SocialOperations
from runtime.errors import BadRequest
from runtime.http import MAX_ID
from runtime.openapi import Operation, openapi_document
from runtime.schema import Body, Choice, Field, Integer, Number, Param, Text

OPERATIONS: list[Operation] = [
    *course_api.OPERATIONS,
    *campaign_api.OPERATIONS,
    *SocialOperations.for_platforms(["twitter"]).all(),
    *receiver_api.OPERATIONS,
]
BODIES = {f"{op.method} {op.path}": op.body for op in OPERATIONS if op.body is not None}
# ECMA-262 (the schema's regex dialect) and Python disagree on whether \x1c-\x1f and
# \ufeff are whitespace; leave them out so "blank" means the same to both.
TEXT = st.text(st.characters(exclude_characters="\x1c\x1d\x1e\x1f\ufeff"), max_size=8)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.sampled_from(["twitter", "active", "draft", "50ms", "1%", "a\n", "  "]),
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def accepts(body: Body, value: dict[str, Any]) -> bool:
    try:
        body.validate(value)
    except BadRequest:
        return False
    return True


@pytest.mark.parametrize("route", sorted(BODIES))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_body_model_accepts_exactly_what_its_published_schema_accepts(
    route: str, data: st.DataObject
) -> None:
    body = BODIES[route]
    names = [f.name for f in body.fields] + ["other"]
    value = data.draw(st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=len(names)))
    reference = jsonschema_rs.validator_for(body.schema())
    assert accepts(body, value) == reference.is_valid(value), (route, value)


def test_an_id_names_the_field_and_the_range_as_path_int_did() -> None:
    ident = Param("course_id", "path", Integer(1, MAX_ID))
    assert ident.parse("7") == 7
    with pytest.raises(BadRequest) as word:
        ident.parse("seven")
    assert word.value.message == "course_id: expected an integer, got 'seven'"
    assert word.value.fields == {"course_id": f"expected an integer between 1 and {MAX_ID}"}
    with pytest.raises(BadRequest) as big:
        ident.parse(str(2**31))
    assert big.value.message == f"course_id: expected 1..{MAX_ID}, got {2**31}"
    with pytest.raises(BadRequest) as absent:
        Param("user_id", "query", Integer(1, 9)).parse(None)
    assert absent.value.fields == {"user_id": "required"}
    assert Param("limit", "query", Integer(1, 9), required=False, default=5).parse(None) == 5


def test_a_body_error_names_every_bad_field_and_fills_defaults() -> None:
    body = Body(
        "invalid thing",
        (
            Field("n", Integer(1, 3)),
            Field("p", Number(0, 100)),
            Field("s", Choice(("a", "b")), required=False, default="a"),
        ),
    )
    assert body.validate({"n": 2, "p": 50.5}) == {"n": 2, "p": 50.5, "s": "a"}
    assert body.validate({"n": 2.0, "p": 0}) == {"n": 2, "p": 0, "s": "a"}
    with pytest.raises(BadRequest) as caught:
        body.validate({"n": True, "p": float("inf"), "s": "c"})
    assert caught.value.message == "invalid thing"
    assert caught.value.fields == {
        "n": "expected an integer between 1 and 3",
        "p": "expected a number between 0 and 100",
        "s": "expected one of a, b",
    }


def test_a_closed_body_names_unknown_fields() -> None:
    body = Body("invalid", (Field("a", Text(), required=False),), extra_fields=False)
    with pytest.raises(BadRequest) as caught:
        body.validate({"colour": "red"})
    assert caught.value.fields == {"colour": "unknown field; expected one of ['a']"}


def test_a_dollar_anchor_ends_the_text_as_in_json_schema_not_before_a_newline() -> None:
    name = Text(1, 64, pattern=r"^[a-z]{1,64}$")
    assert name.check("twitter")
    assert not name.check("twitter\n")


def test_the_document_lists_inputs_and_every_status_with_the_error_shape() -> None:
    document = openapi_document("course", "1", course_api.OPERATIONS)
    enroll = document["paths"]["/enrollments"]["post"]
    assert sorted(enroll["responses"]) == ["201", "400", "404", "409", "413", "503"]
    assert enroll["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    body = enroll["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["user_id", "course_id"]
    assert body["properties"]["user_id"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    content = document["paths"]["/courses/{course_id}/content"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in content["parameters"]] == [
        ("course_id", "path", True),
        ("user_id", "query", True),
    ]
