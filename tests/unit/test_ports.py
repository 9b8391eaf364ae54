"""`runtime.ports`: a free port is bindable, and listening tells a server from none."""

from __future__ import annotations

import socket

import pytest

from runtime.ports import free_port, listening, wait_listening


def test_a_free_port_can_be_bound_and_then_listens() -> None:
    port = free_port()
    assert not listening(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert listening(port)
        wait_listening(port, timeout_s=0.0)


def test_waiting_for_a_port_nobody_listens_on_fails_naming_it() -> None:
    port = free_port()
    with pytest.raises(RuntimeError, match=f"server on port {port} did not start within 0.1 s"):
        wait_listening(port, timeout_s=0.1)
