"""TCP ports on 127.0.0.1: pick a free one, ask or wait whether one listens.

Standard library only. `free_port()` is racy by nature (another process may take the port
before the caller binds it): use it for child processes that take a port number; a server
in this process binds port 0 instead.
"""

from __future__ import annotations

import socket
import time

__all__ = ["free_port", "listening", "wait_listening"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port right now."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(port: int, timeout_s: float = 15.0) -> None:
    """Poll every 50 ms until 127.0.0.1:port accepts connections; RuntimeError after
    `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not listening(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start within {timeout_s} s")
        time.sleep(0.05)
