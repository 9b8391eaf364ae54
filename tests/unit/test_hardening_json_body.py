"""The one JSON body reader: every way the parser or a database refuses a body is a 400
that says why, never an exception that escapes as a 500."""

from __future__ import annotations

import pytest

from runtime.http import MAX_JSON_DEPTH, BadRequest, parse_json_object


def refused(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_json_object(raw)
    return caught.value


def test_a_plain_object_is_returned_as_parsed() -> None:
    assert parse_json_object(b'{"name": "caf\\u00e9", "ids": [1, 2.5, null, true]}') == {
        "name": "café",
        "ids": [1, 2.5, None, True],
    }


def test_an_integer_beyond_the_conversion_limit_is_a_400_naming_the_limit() -> None:
    error = refused(b'{"user_id": ' + b"9" * 5000 + b"}")
    assert "more than 4300 digits" in error.message
    assert error.status == 400


def test_nesting_a_thousand_deep_is_a_400_not_a_recursion_error() -> None:
    error = refused(b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    assert f"deeper than {MAX_JSON_DEPTH} levels" in error.message


def test_nesting_just_beyond_the_limit_is_refused_and_at_the_limit_accepted() -> None:
    inner = MAX_JSON_DEPTH - 1  # the outer object is level 1
    at_limit = parse_json_object(b'{"a": ' + b"[" * inner + b"]" * inner + b"}")["a"]
    levels = 1
    while at_limit:
        at_limit, levels = at_limit[0], levels + 1
    assert levels == inner
    too_deep = b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"
    assert "deeper than" in refused(too_deep).message


def test_bytes_that_are_not_utf8_are_a_400_naming_the_offset() -> None:
    assert "byte 10 is invalid" in refused(b'{"name": "\xff"}').message


def test_a_lone_surrogate_is_refused_with_the_field_path() -> None:
    error = refused(b'{"name": "a\\ud800b"}')
    assert error.fields == {"name": "expected text without NUL or lone surrogates"}
    nested = refused(b'{"platforms": ["x", "\\udfff"]}')
    assert "platforms[1]" in nested.fields


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    assert parse_json_object(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_nul_is_refused_in_values_and_keys() -> None:
    assert "name" in refused(b'{"name": "a\\u0000b"}').fields
    assert refused(b'{"\\u0000": 1}').status == 400


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_constants_are_refused(constant: bytes) -> None:
    assert "is not a JSON value" in refused(b'{"progress_percentage": ' + constant + b"}").message


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1,}'])
def test_syntax_errors_are_400_with_the_parsers_reason(raw: bytes) -> None:
    error = refused(raw)
    assert error.message.startswith("the body is not valid JSON: ")
    assert " at char " in error.message


@pytest.mark.parametrize("raw", [b"[1]", b'"text"', b"null"])
def test_json_that_is_not_an_object_is_400(raw: bytes) -> None:
    assert refused(raw).fields == {"body": "expected an object"}
