"""Request models: one declaration both validates a route's input and describes it as
JSON Schema (2020-12, the dialect of OpenAPI 3.1), so the two cannot drift.

    ENROLL = Body("invalid enrollment", [Field("user_id", Integer(1, MAX_ID))])
    values = ENROLL.validate(parsed_json)      # BadRequest naming every bad field
    ENROLL.schema()                            # {"type": "object", "properties": ...}

Kinds (`Integer`, `Number`, `Text`, `Choice`, `Array`, `AnyOf`, `Converted`) check a JSON
value (`check`) or a text from a path, query or header (`from_text`), and say what they
expect in the words of a 400 (`expected`). Pure: no I/O; validation is O(size of input).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from runtime.errors import BadRequest

__all__ = [
    "AnyOf",
    "Array",
    "Body",
    "Choice",
    "Converted",
    "Field",
    "Integer",
    "JsonSchema",
    "Kind",
    "Number",
    "Param",
    "Text",
]

JsonSchema = dict[str, Any]
Location = Literal["path", "query", "header"]
_NO_DEFAULT: Any = object()


class Kind(Protocol):
    """What a value may be: its JSON Schema, a check of JSON values and a text parser."""

    def schema(self) -> JsonSchema: ...

    def check(self, value: object) -> bool: ...

    def from_text(self, raw: str) -> object:
        """The value a path, query or header text stands for; ValueError when invalid."""
        ...

    def expected(self) -> str: ...


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _search(pattern: str, value: str) -> bool:
    """ECMA-262 `pattern` (unanchored; `$` is the very end, as without the m flag) in value."""
    python = (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )
    return re.search(python, value) is not None


@dataclass(frozen=True, slots=True)
class Integer:
    """A whole number in [minimum, maximum]."""

    minimum: int
    maximum: int

    def schema(self) -> JsonSchema:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}

    def check(self, value: object) -> bool:
        """An int in range, or a float with no fraction (JSON Schema calls 1.0 an integer)."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return _is_int(value) and self.minimum <= value <= self.maximum  # type: ignore[operator]

    def from_text(self, raw: str) -> object:
        value = int(raw)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"expected {self.minimum}..{self.maximum}, got {value}")
        return value

    def expected(self) -> str:
        return f"expected an integer between {self.minimum} and {self.maximum}"


@dataclass(frozen=True, slots=True)
class Number:
    """A finite number in [minimum, maximum] (either bound may be None)."""

    minimum: float | None = None
    maximum: float | None = None

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def check(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        number = float(value)
        return (
            math.isfinite(number)
            and (self.minimum is None or number >= self.minimum)
            and (self.maximum is None or number <= self.maximum)
        )

    def from_text(self, raw: str) -> object:
        value = float(raw)
        if not self.check(value):
            raise ValueError(self.expected())
        return value

    def expected(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"expected a number between {self.minimum:g} and {self.maximum:g}"
        if self.minimum is not None:
            return f"expected a number >= {self.minimum:g}"
        return "expected a finite number"


@dataclass(frozen=True, slots=True)
class Text:
    """A string of min_length..max_length characters, matching `pattern` when given;
    `not_blank` refuses strings of only whitespace."""

    min_length: int = 1
    max_length: int = 200
    pattern: str | None = None
    not_blank: bool = False

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
        }
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        elif self.not_blank:
            schema["pattern"] = r"\S"
        return schema

    def check(self, value: object) -> bool:
        return (
            isinstance(value, str)
            and self.min_length <= len(value) <= self.max_length
            and (self.pattern is None or _search(self.pattern, value))
            and (not self.not_blank or bool(value.strip()))
        )

    def from_text(self, raw: str) -> object:
        if not self.check(raw):
            raise ValueError(self.expected())
        return raw

    def expected(self) -> str:
        shape = f"a string of {self.min_length} to {self.max_length} characters"
        if self.not_blank:
            shape = f"a non-empty string of at most {self.max_length} characters"
        return f"expected {shape}" + (f" matching {self.pattern}" if self.pattern else "")


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    def schema(self) -> JsonSchema:
        return {"type": "string", "enum": list(self.values)}

    def check(self, value: object) -> bool:
        return isinstance(value, str) and value in self.values

    def from_text(self, raw: str) -> object:
        if raw not in self.values:
            raise ValueError(self.expected())
        return raw

    def expected(self) -> str:
        return f"expected one of {', '.join(self.values)}"


@dataclass(frozen=True, slots=True)
class Array:
    """A list of min_items..max_items values of `items`, distinct when `unique`."""

    items: Kind
    min_items: int = 0
    max_items: int = 100
    unique: bool = False
    description: str | None = None

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {
            "type": "array",
            "items": self.items.schema(),
            "minItems": self.min_items,
            "maxItems": self.max_items,
        }
        if self.unique:
            schema["uniqueItems"] = True
        return schema

    def check(self, value: object) -> bool:
        if not isinstance(value, list) or not self.min_items <= len(value) <= self.max_items:
            return False
        if self.unique and len({repr(v) for v in value}) != len(value):
            return False
        return all(self.items.check(item) for item in value)

    def from_text(self, raw: str) -> object:
        raise ValueError("an array is not a text parameter")

    def expected(self) -> str:
        if self.description is not None:
            return self.description
        distinct = "distinct " if self.unique else ""
        return f"expected {self.min_items} to {self.max_items} {distinct}values"


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A value of any of `kinds` (like seconds as 0.05 or '50ms')."""

    kinds: tuple[Kind, ...]
    description: str

    def schema(self) -> JsonSchema:
        return {"anyOf": [kind.schema() for kind in self.kinds]}

    def check(self, value: object) -> bool:
        return any(kind.check(value) for kind in self.kinds)

    def from_text(self, raw: str) -> object:
        raise ValueError("a choice of kinds is not a text parameter")

    def expected(self) -> str:
        return self.description


@dataclass(frozen=True, slots=True)
class Converted:
    """A text that `convert` turns into a value, raising BadRequest (or ValueError) with
    its own message; `json_schema` documents what it accepts."""

    json_schema: JsonSchema
    convert: Callable[[str], object]
    description: str

    def schema(self) -> JsonSchema:
        return dict(self.json_schema)

    def check(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            self.convert(value)
        except (BadRequest, ValueError):
            return False
        return True

    def from_text(self, raw: str) -> object:
        return self.convert(raw)

    def expected(self) -> str:
        return self.description


@dataclass(frozen=True, slots=True)
class Param:
    """A path, query or header parameter; absent and not required gives `default`."""

    name: str
    location: Location
    kind: Kind
    required: bool = True
    default: Any = None
    description: str = ""

    def openapi(self) -> JsonSchema:
        """The OpenAPI Parameter Object."""
        parameter: JsonSchema = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "schema": self.kind.schema(),
        }
        if self.description:
            parameter["description"] = self.description
        return parameter

    def parse(self, raw: str | None) -> object:
        """The value of the text `raw` (None: absent), or BadRequest naming the parameter."""
        if raw is None:
            if self.required:
                raise BadRequest(f"{self.name} is required", fields={self.name: "required"})
            return self.default
        try:
            return self.kind.from_text(raw)
        except ValueError as exc:
            if isinstance(self.kind, Integer) and "got" not in str(exc):
                reason = f"expected an integer, got {raw[:50]!r}"
            elif isinstance(self.kind, Integer):
                reason = str(exc)
            else:
                reason = f"{self.kind.expected()}, got {raw[:50]!r}"
            raise BadRequest(
                f"{self.name}: {reason}", fields={self.name: self.kind.expected()}
            ) from None


@dataclass(frozen=True, slots=True)
class Field:
    """One property of a JSON body; absent and not required gives `default`."""

    name: str
    kind: Kind
    required: bool = True
    default: Any = _NO_DEFAULT
    expected: str | None = None

    def message(self) -> str:
        return self.expected or self.kind.expected()


@dataclass(frozen=True, slots=True)
class Body:
    """A JSON object body: its fields, the 400's message, and whether other keys pass."""

    message: str
    fields: Sequence[Field] = field(default_factory=tuple)
    extra_fields: bool = True

    def schema(self) -> JsonSchema:
        """The object's JSON Schema."""
        schema: JsonSchema = {
            "type": "object",
            "properties": {f.name: f.kind.schema() for f in self.fields},
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if not self.extra_fields:
            schema["additionalProperties"] = False
        return schema

    def validate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields' values (defaults filled in; absent optional fields without a
        default left out), or BadRequest with every bad field and what it expects."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for spec in self.fields:
            if spec.name not in body:
                if spec.required:
                    errors[spec.name] = spec.message()
                elif spec.default is not _NO_DEFAULT:
                    values[spec.name] = spec.default
                continue
            value = body[spec.name]
            if spec.kind.check(value):
                values[spec.name] = int(value) if isinstance(spec.kind, Integer) else value
            else:
                errors[spec.name] = spec.message()
        if not self.extra_fields:
            known = sorted(f.name for f in self.fields)
            for name in body:
                if name not in known:
                    errors[name] = f"unknown field; expected one of {known}"
        if errors:
            raise BadRequest(self.message, fields=errors)
        return values
