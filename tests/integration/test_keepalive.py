"""Locust reuses its keep-alive connections even when their descriptors are >= 1024.

The child process holds 1,100 idle sockets so that every new connection's descriptor is
beyond select()'s limit, then sends 20 requests through one FastHttpSession to a local
HTTP/1.1 server and reports how many connections that took. Runs in a child: importing
locust patches the standard library with gevent.
"""

from __future__ import annotations

import pytest

from tests.integration.loadtest_helpers import json_from_script

SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, socket, sys
from gevent.pywsgi import WSGIServer
from geventhttpclient import connectionpool
from locust import User
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from loadtests.keepalive import patch_connection_check

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

server = WSGIServer(("127.0.0.1", 0), app, log=None)
server.start()
idle = [socket.socket() for _ in range(1100)]
patched = patch_connection_check() if sys.argv[1] == "patched" else False
created = []
original = connectionpool.ConnectionPool._create_socket
def counting(self, *args, **kwargs):
    sock = original(self, *args, **kwargs)
    created.append(sock.fileno())
    return sock
connectionpool.ConnectionPool._create_socket = counting

class Nobody(User):
    pass

session = FastHttpSession(
    f"http://127.0.0.1:{server.server_port}", Environment(user_classes=[Nobody]).events.request, None
)
statuses = [session.get("/").status_code for _ in range(20)]
print(json.dumps({"patched": patched, "connections": len(created), "lowest_fd": min(created),
                  "statuses": sorted(set(statuses))}))
"""


def run(variant: str) -> dict[str, object]:
    report: dict[str, object] = json_from_script(SCRIPT, variant, timeout_s=60)
    return report


def test_twenty_requests_share_one_connection_beyond_descriptor_1023() -> None:
    report = run("patched")
    assert report["patched"] is True
    assert report["statuses"] == [200]
    assert report["lowest_fd"] >= 1024  # type: ignore[operator]
    assert report["connections"] == 1


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="geventhttpclient reconnects for every request once descriptors reach 1024 "
    "(its connection check uses select()); loadtests/keepalive.py patches that",
)
def test_without_the_patch_geventhttpclient_reuses_its_connection_beyond_descriptor_1023() -> None:
    """Documents the upstream behaviour the patch exists for. If a geventhttpclient release
    fixes it, this XPASSes, which fails the suite (strict): the patch can then go."""
    report = run("plain")
    assert report["connections"] == 1, f"{report['connections']} connections for 20 requests"
