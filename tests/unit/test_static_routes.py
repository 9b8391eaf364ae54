"""The HTTP caching helpers of /static/ and the API, without a server."""

from __future__ import annotations

import pytest

from reference_services.static_routes import api_cache_control, etag_matches


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x",W/"abc" ', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_if_none_match_uses_weak_comparison_over_a_list(header: str | None, expected: bool) -> None:
    assert etag_matches(header, '"abc"') is expected


def test_api_cache_control_matches_the_cdn_ttl() -> None:
    assert api_cache_control() == "public, max-age=300"
    assert api_cache_control(60) == "public, max-age=60"
    with pytest.raises(ValueError, match="max_age_s: expected a whole number of seconds >= 0"):
        api_cache_control(-1)
