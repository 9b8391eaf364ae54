"""livehub.fanout: a subscriber over its buffer bound is dropped, the others get the frame."""

from __future__ import annotations

import pytest

from livehub.fanout import Fanout


def test_subscribers_within_the_bound_get_the_frame_and_the_others_are_dropped() -> None:
    fanout: Fanout[str] = Fanout(max_buffered_bytes=1000)
    plan = fanout.plan({"idle": 0, "at-bound": 1000, "behind": 1001, "stalled": 10**6})
    assert plan.send == ("idle", "at-bound")
    assert plan.drop == ("behind", "stalled")
    assert (fanout.sent_total, fanout.dropped_total) == (2, 2)


def test_a_slow_subscriber_is_dropped_on_the_tick_it_overflows_and_not_before() -> None:
    fanout: Fanout[int] = Fanout(max_buffered_bytes=3 * 100)
    queued, ticks = 0, 0
    while ticks < 10:  # subscriber 2 never reads: 100 bytes more each tick
        ticks += 1
        plan = fanout.plan({1: 0, 2: queued})
        if 2 in plan.drop:
            break
        queued += 100
    assert ticks == 5 and plan.send == (1,)
    assert fanout.sent_total == 4 + 5 and fanout.dropped_total == 1


def test_no_subscriber_is_a_valid_tick() -> None:
    plan = Fanout[int]().plan({})
    assert plan.send == () and plan.drop == ()


def test_a_negative_bound_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="max_buffered_bytes: expected >= 0 bytes, got -1"):
        Fanout(max_buffered_bytes=-1)
