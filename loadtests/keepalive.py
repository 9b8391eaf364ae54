"""Keep Locust's connections alive past file descriptor 1023.

geventhttpclient (2.6.1) checks a pooled socket with `select.select` before reusing it.
select() refuses descriptors >= 1024 with ValueError, which the check reads as "dead": in
a process holding more than about 1,000 sockets every request then closes its connection
and opens a new one. With 10,000 users in one Locust process that is most requests, and
the connection set-up lands in the client's latency but in no server histogram.
`patch_connection_check()` replaces the check with poll(2), which has no such limit and,
with a zero timeout, never blocks.

Imports geventhttpclient: Locust processes only.
"""

from __future__ import annotations

import select
from typing import Any

from gevent import monkey
from geventhttpclient.connectionpool import ConnectionPool

__all__ = ["patch_connection_check", "socket_reusable"]

_poll: Any = monkey.get_original("select", "poll")  # gevent's select module has no poll
_READABLE_OR_BROKEN = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def socket_reusable(sock: Any) -> bool:
    """Whether an idle pooled socket can carry the next request: open, and with nothing
    to read (a readable idle socket has a FIN or stray bytes from the server)."""
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return False
        poller = _poll()
        poller.register(fd, _READABLE_OR_BROKEN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _is_socket_alive(self: ConnectionPool, sock: Any) -> bool:
    return socket_reusable(sock)


def patch_connection_check() -> bool:
    """Install the poll-based check; False when this geventhttpclient has no such check."""
    if not hasattr(ConnectionPool, "_is_socket_alive"):
        return False
    setattr(ConnectionPool, "_is_socket_alive", _is_socket_alive)  # noqa: B010
    return True
