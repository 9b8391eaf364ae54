"""SegmentIndex finds exactly what a brute-force fnmatch scan finds, for any keys and
patterns, including wildcards that span the `:` separator."""

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_services.cache import LRUCache
from reference_services.key_index import SegmentIndex

segments = st.sampled_from(["user", "course", "progress", "7", "17", "1", "", "a:b"])
keys = st.lists(segments, min_size=1, max_size=5).map(":".join)
pattern_segments = st.sampled_from(["user", "course", "7", "1", "*", "?", "1*", "*7", "[17]", ""])
patterns = st.lists(pattern_segments, min_size=1, max_size=5).map(":".join)


def brute_force(stored: set[str], wanted: list[str]) -> set[str]:
    return {k for k in stored if any(fnmatch.fnmatchcase(k, p) for p in wanted)}


@settings(max_examples=400, deadline=None)
@given(st.sets(keys, max_size=30), st.lists(patterns, min_size=1, max_size=3))
def test_matching_equals_a_full_fnmatch_scan(stored: set[str], wanted: list[str]) -> None:
    index = SegmentIndex()
    for key in stored:
        index.add(key)
    assert index.matching(wanted) == brute_force(stored, wanted)


@settings(max_examples=200, deadline=None)
@given(st.sets(keys, max_size=30), st.sets(keys, max_size=10), patterns)
def test_discarded_keys_are_never_found_again(
    stored: set[str], dropped: set[str], pattern: str
) -> None:
    index = SegmentIndex()
    for key in stored:
        index.add(key)
    for key in dropped:
        index.discard(key)
    left = stored - dropped
    assert len(index) == len(left)
    assert index.matching([pattern]) == brute_force(left, [pattern])


def test_a_pattern_with_an_unseen_literal_segment_matches_nothing() -> None:
    index = SegmentIndex()
    index.add("course:1:user:7")
    assert index.matching(["course:*:user:8"]) == set()
    assert index.matching(["course:*:user:7"]) == {"course:1:user:7"}


def test_lru_eviction_and_expiry_keep_the_index_in_step() -> None:
    cache = LRUCache(2)
    cache.set("user:1:a", b"x", 60, 0)
    cache.set("user:2:a", b"x", 5, 0)
    cache.set("user:3:a", b"x", 60, 0)  # evicts user:1:a
    assert cache.get("user:2:a", now_s=10) is None  # expired and dropped
    assert cache.delete_matching(["user:*"]) == 1
    assert len(cache) == 0
    cache.set("user:1:a", b"y", 60, 0)
    assert cache.delete_matching(["user:1:*"]) == 1
