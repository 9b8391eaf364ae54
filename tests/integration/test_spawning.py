"""SmoothDispatcher keeps Locust's users-per-second but starts them in small batches.

Runs in a child process: importing locust patches the standard library with gevent.
"""

from __future__ import annotations

from tests.integration.loadtest_helpers import json_from_script

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
    totals: dict[str, list[int]] = json_from_script(SCRIPT, str(users), str(rate), timeout_s=60)
    return totals


def test_a_ramp_of_1000_users_per_second_starts_10_at_a_time_instead_of_1000() -> None:
    totals = dispatched(users=2000, rate=1000)
    assert totals["locust"] == [1000, 2000]
    assert totals["smooth"] == list(range(10, 2001, 10))


def test_below_100_users_per_second_users_start_one_at_a_time() -> None:
    totals = dispatched(users=6, rate=5)
    assert totals["locust"] == [5, 6]
    assert totals["smooth"] == [1, 2, 3, 4, 5, 6]


COUNT_SCRIPT = """
import json
import time
import gevent
from locust import User, constant, task
from locust.env import Environment
from locust.exception import StopUser
from loadtests import spawning

class Reader(User):
    weight = 3
    wait_time = constant(0.01)

    @task
    def read(self):
        pass

class Quitter(User):
    weight = 1
    wait_time = constant(0.01)

    @task
    def quit(self):
        raise StopUser()

def walked(runner):
    return dict(spawning._walking_count.fget(runner))

def settle(runner):
    # the ramp has ended, every Quitter has quit, and gevent has run the ended greenlets'
    # links (which take them out of the group): nothing is left in flight to count
    runner.spawning_greenlet.join(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        walked(runner).get("Quitter", 0) or any(g.dead for g in list(runner.user_greenlets))
    ):
        gevent.sleep(0.01)

env = Environment(user_classes=[Reader, Quitter])
runner = env.create_local_runner()
spawning.count_users_by_class(runner)
steps = {}
runner.start(40, spawn_rate=1000)
settle(runner)
steps["after the ramp"] = (runner.user_classes_count, walked(runner))
runner.start(12, spawn_rate=1000)
settle(runner)
steps["after ramping down"] = (runner.user_classes_count, walked(runner))
runner.stop()
steps["stopped"] = (runner.user_classes_count, walked(runner))
print(json.dumps(steps))
"""


def test_counted_users_by_class_match_locusts_walk_as_users_start_quit_and_stop() -> None:
    steps = json_from_script(COUNT_SCRIPT, timeout_s=60)
    for step, (counted, walked) in steps.items():
        assert counted == walked, step
    assert steps["after the ramp"][0] == {"Reader": 30, "Quitter": 0}
    assert steps["after ramping down"][0]["Reader"] == 9
    assert steps["stopped"][0] == {"Reader": 0, "Quitter": 0}
