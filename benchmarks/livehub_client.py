"""The stream hub benchmark's client process: many websocket subscriptions, lags per message.

    python -m benchmarks.livehub_client PORT COUNT [--stall]

Opens COUNT subscriptions to the hub's /ws on 127.0.0.1:PORT, 256 at a time, prints
`{"ready": COUNT}`, records every message's lags until its stdin closes (or a hard
deadline), then prints `{"arrivals": {...}, "reads": {...}}`: per message `timestamp_s`,
the lag of each subscription in seconds (see `benchmarks.bench_livehub`). `--stall`:
each subscription has a 4 KiB receive buffer and stops reading after the handshake.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import struct
import sys
import time
from collections import defaultdict

__all__ = ["SO_TIMESTAMPNS", "Lags", "raise_nofile"]

_HARD_DEADLINE_S = 600.0
_TS_KEY = b'{"timestamp_s":'


def raise_nofile() -> None:
    """Raise the soft open-files limit to the hard one (a subscription is a socket)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Linux: have the kernel stamp each received segment (struct timespec, CLOCK_REALTIME)."""
_ANCILLARY = socket.CMSG_SPACE(16)

Lags = dict[float, list[float]]
"""Seconds of lag per message, keyed by the message's `timestamp_s`."""


class _Subscriber:
    """One websocket subscription on a raw non-blocking socket read with recvmsg: the
    handshake, then unmasked server frames parsed by hand. For each message it records
    the kernel's receive time (SO_TIMESTAMPNS: when the bytes reached this socket) and
    the time this process read them, each minus the message's `timestamp_s`."""

    def __init__(self, sock: socket.socket, arrivals: Lags, reads: Lags, stall: bool) -> None:
        self.sock = sock
        self.arrivals = arrivals
        self.reads = reads
        self.stall = stall
        self.buffer = b""
        self.upgraded = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 16, _ANCILLARY)
        except BlockingIOError:
            return
        except OSError as exc:
            data, ancillary = b"", []
            if not self.opened.done():
                self.opened.set_exception(exc)
        now = time.time()
        if not data:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            if not self.opened.done():
                self.opened.set_exception(ConnectionError("closed during the handshake"))
            return
        arrived = now
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                arrived = seconds + nanoseconds / 1e9
        self.feed(data, now, arrived)

    def feed(self, data: bytes, now: float, arrived: float) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if b" 101 " not in buffer[:end]:
                self.opened.set_exception(RuntimeError(buffer[:end].decode(errors="replace")))
                return
            self.upgraded = True
            buffer = buffer[end + 4 :]
            if not self.opened.done():
                self.opened.set_result(None)
            if self.stall:
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
        while len(buffer) >= 2:
            length, header = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, header = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, header = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < header + length:
                break
            if buffer[0] & 0x0F == 1 and buffer.startswith(_TS_KEY, header):
                start = header + len(_TS_KEY)
                stamp = float(buffer[start : buffer.index(b",", start)])
                self.arrivals[stamp].append(arrived - stamp)
                self.reads[stamp].append(now - stamp)
            buffer = buffer[header + length :]
        self.buffer = buffer


async def _clients(port: int, count: int, stall: bool, concurrency: int = 256) -> None:
    loop = asyncio.get_running_loop()
    arrivals: Lags = defaultdict(list)
    reads: Lags = defaultdict(list)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    gate = asyncio.Semaphore(concurrency)
    sockets: list[socket.socket] = []

    async def open_one() -> None:
        async with gate:
            sock = socket.socket()
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if stall:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", port))
            await loop.sock_sendall(sock, request)
            subscriber = _Subscriber(sock, arrivals, reads, stall)
            loop.add_reader(sock.fileno(), subscriber.on_readable)
            await subscriber.opened

    await asyncio.gather(*(open_one() for _ in range(count)))
    print(json.dumps({"ready": count}), flush=True)
    stdin_closed: asyncio.Future[None] = loop.create_future()

    def on_stdin() -> None:
        if not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await asyncio.wait_for(stdin_closed, _HARD_DEADLINE_S)
    for sock in sockets:
        loop.remove_reader(sock.fileno())
        sock.close()
    print(json.dumps({"arrivals": _rounded(arrivals), "reads": _rounded(reads)}), flush=True)


def _rounded(lags: Lags) -> dict[str, list[float]]:
    return {f"{stamp:.6f}": [round(v, 5) for v in values] for stamp, values in lags.items()}


def _client_main(port: int, count: int, stall: bool) -> None:
    raise_nofile()
    import uvloop

    uvloop.run(_clients(port, count, stall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--stall", action="store_true")
    args = parser.parse_args()
    _client_main(args.port, args.count, args.stall)


if __name__ == "__main__":
    main()
