"""Ports on 127.0.0.1 for benchmark servers: pick a free one, wait until one listens."""

from __future__ import annotations

import socket
import time

from loadwatch.stack import free_port

__all__ = ["free_port", "listening", "wait_listening"]


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port right now."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(port: int, timeout_s: float = 15.0) -> None:
    """Poll until 127.0.0.1:port accepts connections; RuntimeError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not listening(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start within {timeout_s} s")
        time.sleep(0.05)
