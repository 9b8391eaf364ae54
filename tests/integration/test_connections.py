"""Users sharing one pool of keep-alive connections (`loadtests.connections`).

100 users (25 started a second), each with its own cookie, send 10 requests each (every
fifth one answered 500) through the shared pool to a local gevent WSGI server. Every request and failure is
counted exactly, each user still sees only its own cookie, and the pool opens fewer
connections than there are users (Locust's default opens one per user). Runs in a child
process: importing locust patches the standard library with gevent.
"""

from __future__ import annotations

from tests.integration.loadtest_helpers import json_from_script

SCRIPT = """
import json, sys, time
import gevent
from gevent.pywsgi import WSGIServer
from geventhttpclient import connectionpool
from locust import FastHttpUser, constant, task
from locust.env import Environment
from locust.exception import StopUser
from loadtests.connections import share_connections

USERS, REQUESTS = 100, 10
served = {"n": 0}

def app(environ, start_response):
    served["n"] += 1
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/login":
        start_response("200 OK", [("Set-Cookie", f"who={query}; Path=/"), ("Content-Length", "2")])
        return [b"ok"]
    if path == "/fail":
        start_response("500 Internal Server Error", [("Content-Length", "4")])
        return [b"fail"]
    cookie = environ.get("HTTP_COOKIE", "").encode()
    start_response("200 OK", [("Content-Length", str(len(cookie)))])
    return [cookie]

server = WSGIServer(("127.0.0.1", 0), app, log=None)
server.start()
created = []
original = connectionpool.ConnectionPool._create_socket
def counting(self, *args, **kwargs):
    created.append(1)
    return original(self, *args, **kwargs)
connectionpool.ConnectionPool._create_socket = counting

class Learner(FastHttpUser):
    wait_time = constant(0.01)
    mixed_up = 0
    ids = iter(range(USERS))

    def on_start(self):
        self.me = next(Learner.ids)
        self.sent = 0
        self.client.get(f"/login?{self.me}", name="/login")

    @task
    def read(self):
        if self.sent == REQUESTS:
            raise StopUser()
        self.sent += 1
        if self.sent % 5 == 0:
            self.client.get("/fail", name="/fail")
            return
        body = self.client.get("/whoami", name="/whoami").text
        if body != f"who={self.me}":
            Learner.mixed_up += 1

env = Environment(user_classes=[Learner], host=f"http://127.0.0.1:{server.server_port}")
shared = share_connections([Learner]) if sys.argv[1] == "shared" else []
runner = env.create_local_runner()
runner.start(USERS, spawn_rate=25)  # 25 users a second: a few dozen in flight
expected = USERS * (1 + REQUESTS)
deadline = time.monotonic() + 60
while env.stats.total.num_requests < expected and time.monotonic() < deadline:
    gevent.sleep(0.05)
runner.quit()
print(json.dumps({
    "shared": [c.__name__ for c in shared],
    "requests": env.stats.total.num_requests,
    "failures": env.stats.total.num_failures,
    "served": served["n"],
    "mixed_up": Learner.mixed_up,
    "connections": len(created),
}))
"""


def run(variant: str) -> dict[str, object]:
    report: dict[str, object] = json_from_script(SCRIPT, variant, timeout_s=120)
    return report


def test_a_shared_pool_counts_every_request_and_failure_and_keeps_each_users_cookies() -> None:
    report = run("shared")
    assert report["shared"] == ["Learner"]
    assert report["requests"] == 100 * 11
    assert report["served"] == 100 * 11
    assert report["failures"] == 100 * 2
    assert report["mixed_up"] == 0
    assert 1 <= report["connections"] < 100  # type: ignore[operator]


def test_without_sharing_every_user_opens_its_own_connection() -> None:
    report = run("per_user")
    assert report["requests"] == 100 * 11
    assert report["failures"] == 100 * 2
    assert report["connections"] == 100
