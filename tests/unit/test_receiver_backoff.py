"""The retry schedule: exponential, capped, jittered by the draw given, then dead letter."""

from __future__ import annotations

import pytest

from receiver.backoff import BackoffPolicy, DeadLetter, Retry


def test_delays_double_until_the_cap_without_jitter() -> None:
    policy = BackoffPolicy(base_s=1.0, max_s=10.0, jitter=0.0, max_attempts=10)
    assert [policy.delay_s(n, 0.99) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_jitter_scales_each_delay_within_its_band() -> None:
    policy = BackoffPolicy(base_s=2.0, jitter=0.5)
    assert policy.delay_s(3, 0.0) == 8.0
    assert policy.delay_s(3, 0.5) == 6.0
    assert 4.0 < policy.delay_s(3, 0.999999) < 4.001


def test_the_last_attempt_becomes_a_dead_letter() -> None:
    policy = BackoffPolicy(max_attempts=3, jitter=0.0)
    assert policy.after_failure(1, 0.3) == Retry(1.0)
    assert policy.after_failure(2, 0.3) == Retry(2.0)
    assert policy.after_failure(3, 0.3) == DeadLetter(3)


def test_a_huge_attempt_count_stays_at_the_cap() -> None:
    policy = BackoffPolicy(base_s=1.0, factor=10.0, max_s=60.0, jitter=0.0, max_attempts=5000)
    assert policy.delay_s(4000, 0.0) == 60.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_s": 0.0}, "base_s"),
        ({"factor": 0.5}, "factor"),
        ({"base_s": 5.0, "max_s": 1.0}, "max_s"),
        ({"jitter": 1.5}, "jitter"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_a_bad_policy_names_its_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: expected"):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
