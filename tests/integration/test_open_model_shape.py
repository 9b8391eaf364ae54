"""An open-model loop that follows --stages starts on the shape's schedule from the run's
start: a process that joins late skips what was due before it instead of bursting.

Runs in a child process: importing locust patches the standard library with gevent.
"""

from __future__ import annotations

import itertools

import pytest

from tests.integration.loadtest_helpers import json_from_script

SCRIPT = """
import json, sys, time
import gevent
from loadtests.openmodel import OpenLoop, OpenLoopConfig
from loadtests.stages import parse_stages

class Sink:
    def missed(self, now_s, count): pass
    def in_flight(self, busy): pass

class Recording(OpenLoop):
    def start_one(self, intended_s):
        self.starts.append(intended_s)

class Scenario:
    weight = 1

late_s, wanted = float(sys.argv[1]), int(sys.argv[2])
shape = parse_stages("1s:100,10s:100")  # 50 requests in the first second, then 100 a second
config = OpenLoopConfig(100.0, 10, Sink(), shape, time.time() - late_s)
loop = Recording(object(), [Scenario], config)
loop.starts = []
began = time.perf_counter()
driver = gevent.spawn(loop.run)
deadline = time.monotonic() + 30
while len(loop.starts) < wanted and time.monotonic() < deadline:
    gevent.sleep(0.01)
driver.kill()
print(json.dumps([start - began for start in loop.starts[:wanted]]))
"""


def starts(late_s: float, wanted: int) -> list[float]:
    """When the loop meant to start its first `wanted` requests, in seconds after it was
    spawned (the intended times: they depend on the schedule, not on how fast it ran)."""
    offsets: list[float] = json_from_script(SCRIPT, str(late_s), str(wanted), timeout_s=60)
    return offsets


def test_a_late_process_joins_the_shape_where_it_is_without_a_burst() -> None:
    """1.5 s late, the 100 requests due before are skipped, not started at once."""
    offsets = starts(1.5, 5)
    assert offsets[0] >= -0.011  # the first start is due about now, not up to 1.5 s ago
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert gaps == pytest.approx([0.01] * 4)  # at the shape's 100 req/s


def test_a_process_on_time_ramps_from_zero() -> None:
    """0 -> 100 req/s over the first second: request i is due at sqrt(i / 50) s (the very
    first, due at 0, may be past when the loop begins and is then skipped)."""
    offsets = starts(0.0, 5)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    due = [(i / 50) ** 0.5 for i in range(7)]
    expected = [[due[i + 1] - due[i] for i in range(first, first + 4)] for first in (0, 1)]
    assert gaps == pytest.approx(expected[0]) or gaps == pytest.approx(expected[1])
