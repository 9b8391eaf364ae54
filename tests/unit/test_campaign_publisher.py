"""The publisher's pure parts: derived keys, drafts, backoff, reply status, post metrics."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from collector import conventions as names
from reference_services.campaign.models import PostStatus
from reference_services.campaign.publisher import (
    MAX_KEY_CHARS,
    PLATFORM_MAX_CHARS,
    PostMetrics,
    PostResult,
    backoff_delays_s,
    derived_key,
    draft_for,
    publish_status,
    valid_key,
)

POSTED = PostResult(PostStatus.POSTED, "twitter-1", 1)
ALREADY = PostResult(PostStatus.ALREADY_POSTED, "facebook-7", 2)
FAILED = PostResult(PostStatus.FAILED, None, 3, "HTTP 503: outage")
REJECTED = PostResult(PostStatus.REJECTED, None, 1, "HTTP 404: unknown platform 'x'")


def test_the_downstream_key_names_campaign_platform_and_client_key() -> None:
    assert derived_key(42, "twitter", "launch-1") == "42:twitter:launch-1"
    assert derived_key(42, "tiktok", "launch-1") != derived_key(42, "twitter", "launch-1")


def test_the_longest_derived_key_still_fits_the_platforms_limit_of_200() -> None:
    longest = derived_key(2**62, "x" * 64, "k" * MAX_KEY_CHARS)
    assert len(longest) <= 200
    assert valid_key("k" * MAX_KEY_CHARS)


@pytest.mark.parametrize(
    ("key", "valid"),
    [("launch-1", True), ("a:b/c=d", True), ("", False), (None, False), ("has space", False)],
)
def test_client_keys_are_printable_without_spaces(key: str | None, valid: bool) -> None:
    assert valid_key(key) is valid
    assert not valid_key("k" * (MAX_KEY_CHARS + 1))


def test_a_draft_is_cut_to_the_platforms_limit_with_an_ellipsis() -> None:
    long = "word " * 100
    tweet = draft_for("twitter", long)
    assert len(tweet) == PLATFORM_MAX_CHARS["twitter"]
    assert tweet.endswith("…")
    assert draft_for("facebook", long) == long.strip()
    assert draft_for("twitter", "  two   spaces\n") == "two spaces"


@given(platform=st.sampled_from(["twitter", "tiktok", "linkedin", "other"]), text=st.text())
def test_a_draft_never_exceeds_the_platforms_limit(platform: str, text: str) -> None:
    assert len(draft_for(platform, text)) <= PLATFORM_MAX_CHARS.get(platform, 5000)


@given(
    attempts=st.integers(min_value=1, max_value=8),
    backoff_s=st.floats(min_value=0.001, max_value=5.0),
    seed=st.integers(),
)
def test_backoff_doubles_per_attempt_within_the_jitter(
    attempts: int, backoff_s: float, seed: int
) -> None:
    delays = backoff_delays_s(attempts, backoff_s, random.Random(seed))
    assert len(delays) == attempts - 1
    for n, delay in enumerate(delays):
        assert 0.5 * backoff_s * 2**n <= delay <= 1.5 * backoff_s * 2**n


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([POSTED, ALREADY], 200),
        ([ALREADY], 200),
        ([POSTED, FAILED], 207),
        ([FAILED, FAILED], 502),
        ([REJECTED], 422),
        ([REJECTED, REJECTED], 422),
        ([REJECTED, FAILED], 502),
        ([POSTED, REJECTED], 207),
    ],
)
def test_the_reply_status_says_whether_all_some_or_no_platforms_failed(
    results: list[PostResult], status: int
) -> None:
    assert publish_status(results) == status


def test_a_result_renders_as_the_documented_json() -> None:
    assert FAILED.to_dict() == {
        "status": "failed",
        "external_id": None,
        "attempts": 3,
        "error": "HTTP 503: outage",
    }
    assert ALREADY.to_dict()["status"] == "already_posted"


def test_post_durations_keep_a_bounded_set_of_platform_labels() -> None:
    registry = CollectorRegistry()
    metrics = PostMetrics(registry, service="campaign", buckets_s=(0.05, 0.2, 1.0))
    again = PostMetrics(registry, service="campaign-2", buckets_s=(0.05, 0.2, 1.0))
    for n in range(40):
        metrics.observe(f"platform{n}", 0.01)
    again.observe("twitter", 0.3)
    labels = {
        s.labels["platform"]
        for family in registry.collect()
        if family.name == names.SOCIAL_POST_DURATION
        for s in family.samples
        if s.name.endswith("_count") and s.labels["service"] == "campaign"
    }
    assert len(labels) == 33 and "<other>" in labels
    assert (
        registry.get_sample_value(
            names.SOCIAL_POST_DURATION + "_count", {"service": "campaign", "platform": "<other>"}
        )
        == 8
    )
    assert (
        registry.get_sample_value(
            names.SOCIAL_POST_DURATION + "_bucket",
            {"service": "campaign-2", "platform": "twitter", "le": "1.0"},
        )
        == 1
    )
