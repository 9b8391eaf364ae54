"""SmoothDispatcher keeps Locust's users-per-second but starts them in small batches.

Runs in a child process: importing locust patches the standard library with gevent.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import TIMEOUT_UNIT_S

SCRIPT = """
import json, sys
from locust import User
from locust.dispatch import UsersDispatcher
from locust.runners import WorkerNode
from loadtests.spawning import SmoothDispatcher

class Learner(User):
    pass

def totals(dispatcher_class, users, rate):
    dispatcher = dispatcher_class(worker_nodes=[WorkerNode("w")], user_classes=[Learner])
    dispatcher.new_dispatch(users, rate)
    return [sum(d["w"].values()) for d in dispatcher]

users, rate = int(sys.argv[1]), float(sys.argv[2])
print(json.dumps({
    "smooth": totals(SmoothDispatcher, users, rate),
    "locust": totals(UsersDispatcher, users, rate),
}))
"""


def dispatched(users: int, rate: float) -> dict[str, list[int]]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(users), str(rate)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60 * TIMEOUT_UNIT_S,
    )
    totals: dict[str, list[int]] = json.loads(result.stdout.strip().splitlines()[-1])
    return totals


def test_a_ramp_of_1000_users_per_second_starts_10_at_a_time_instead_of_1000() -> None:
    totals = dispatched(users=2000, rate=1000)
    assert totals["locust"] == [1000, 2000]
    assert totals["smooth"] == list(range(10, 2001, 10))


def test_below_100_users_per_second_users_start_one_at_a_time() -> None:
    totals = dispatched(users=6, rate=5)
    assert totals["locust"] == [5, 6]
    assert totals["smooth"] == [1, 2, 3, 4, 5, 6]
