"""One pool of keep-alive connections for all the users of a Locust process.

    share_connections(user_classes)    # before the runner starts any user

Locust gives every FastHttpUser its own connection pool, so 10,000 users hold 10,000
sockets, each idle for the think time between two requests. `share_connections` gives
every FastHttpUser class that has no `client_pool` of its own one process-wide
`HTTPClientPool` instead. Each user keeps its own session (cookies, headers, auth); only
the TCP connections are shared. The pool opens a connection only when none is idle and
hands back the most recently used one first (LIFO), so it holds as many connections as
requests were ever in flight at once, and its bound (POOL_LIMIT) is far above any user
count: no user ever waits for a connection (a class's `concurrency`, Locust's cap on one
user's own requests in flight, no longer applies). The trade-off: the service sees a few dozen
busy connections instead of one idle connection per user, so a run no longer tests how
it holds 10,000 idle sockets (a locustfile's User sets `connection_per_user = True` for
that; see docs/loadtests.md).

Imports locust (gevent-patched): Locust processes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from geventhttpclient.client import HTTPClientPool
from locust import FastHttpUser

__all__ = ["OPT_OUT_ATTR", "POOL_LIMIT", "share_connections", "shared_pool"]

OPT_OUT_ATTR = "connection_per_user"
"""A User class attribute: True keeps Locust's own pool for each user of that class."""
POOL_LIMIT = 1_000_000
"""Most connections the shared pool opens to one host (requests in flight at once)."""


def shared_pool(user_class: type[FastHttpUser], limit: int = POOL_LIMIT) -> HTTPClientPool:
    """A client pool built with `user_class`'s connection settings, as Locust builds each
    user's own (timeouts, TLS, proxy), holding at most `limit` connections per host."""
    return HTTPClientPool(
        concurrency=limit,
        network_timeout=user_class.network_timeout,
        connection_timeout=user_class.connection_timeout,
        insecure=user_class.insecure,
        ssl_context_factory=user_class.ssl_context_factory,
        proxy_host=user_class.proxy_host,
        proxy_port=user_class.proxy_port,
    )


def share_connections(user_classes: Iterable[type[Any]]) -> list[type[Any]]:
    """Give each FastHttpUser class without a `client_pool` (or OPT_OUT_ATTR) a shared one;
    classes with the same connection settings share one pool. Returns the classes changed.
    Call it once per process, before users start: it sets a class attribute."""
    pools: dict[tuple[Any, ...], HTTPClientPool] = {}
    changed = []
    for user_class in user_classes:
        if not issubclass(user_class, FastHttpUser) or user_class.client_pool is not None:
            continue
        if getattr(user_class, OPT_OUT_ATTR, False):
            continue
        key = (
            user_class.network_timeout,
            user_class.connection_timeout,
            user_class.insecure,
            user_class.ssl_context_factory,
            user_class.proxy_host,
            user_class.proxy_port,
        )
        if key not in pools:
            pools[key] = shared_pool(user_class)
        user_class.client_pool = pools[key]
        changed.append(user_class)
    return changed
