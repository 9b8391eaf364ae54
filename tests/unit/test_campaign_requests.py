"""Parsing of the campaign service's query parameters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reference_services.campaign.api import LIST, parse_created_after
from runtime.http import BadRequest


@pytest.mark.parametrize(
    "raw",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T12:00:00 00:00",  # '+' sent unencoded arrives as a space
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00",
        "2024-05-01 12:00:00",
        "2024-05-01 12:00",
    ],
)
def test_created_after_accepts_iso_8601_and_reads_it_as_utc(raw: str) -> None:
    assert parse_created_after(raw) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_created_after_may_be_left_out() -> None:
    created_after = next(p for p in LIST.params if p.name == "created_after")
    assert created_after.parse(None) is None


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01", ""])
def test_created_after_that_is_no_time_is_a_field_error(raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_created_after(raw)
    assert set(caught.value.fields) == {"created_after"}
