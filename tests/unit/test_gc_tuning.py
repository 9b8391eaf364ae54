import gc
from collections.abc import Iterator

import pytest

from collector.gc_tuning import settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_freezes_the_survivors_and_raises_only_the_young_threshold() -> None:
    _, gen1, gen2 = gc.get_threshold()
    survivor = [object() for _ in range(10)]
    frozen = settle_heap(12_345)
    assert frozen == gc.get_freeze_count() > len(survivor)
    assert gc.get_threshold() == (12_345, gen1, gen2)
    assert gc.isenabled()


def test_settle_heap_rejects_a_threshold_below_one() -> None:
    with pytest.raises(ValueError, match="gen0_threshold: expected >= 1, got 0"):
        settle_heap(0)
