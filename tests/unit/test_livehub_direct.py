"""livehub.direct: one frame to many non-blocking sockets from several threads; the short
writes (a full buffer, a closed peer) are reported by index, everything else arrives whole."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from livehub.direct import DirectWriter


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made = [socket.socketpair() for _ in range(40)]
    for hub_side, _ in made:
        hub_side.setblocking(False)
    yield made
    for a, b in made:
        a.close()
        b.close()


def read_all(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_every_socket_gets_the_whole_frame_once(
    threads: int, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    writer = DirectWriter(threads, chunk=3)
    frame = b"\x81\x05hello"
    try:
        assert writer.write([a.fileno() for a, _ in pairs], frame) == []
    finally:
        writer.close()
    assert [read_all(b) for _, b in pairs] == [frame] * len(pairs)


def test_a_full_socket_and_a_closed_peer_are_reported_by_index(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    full, _ = pairs[5]
    full.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    while True:
        try:
            full.send(b"x" * 4096)
        except BlockingIOError:
            break
    pairs[30][1].close()
    writer = DirectWriter(2, chunk=3)
    frame = b"y" * 100
    try:
        short = dict(writer.write([a.fileno() for a, _ in pairs], frame))
    finally:
        writer.close()
    assert sorted(short) == [5, 30]
    assert short[5] == 0
    assert isinstance(short[30], BrokenPipeError | ConnectionResetError)
    assert read_all(pairs[6][1]) == frame


def test_threads_and_chunks_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threads: expected >= 1"):
        DirectWriter(0)
    with pytest.raises(ValueError, match="chunk: expected >= 1"):
        DirectWriter(2, chunk=0)
