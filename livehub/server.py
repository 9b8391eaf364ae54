"""The stream hub's I/O edge: polls the targets, serves /ws, the live page and /healthz.

    run_hub(["http://127.0.0.1:8101"], sla=sla, port=8105)  # blocks until SIGINT/SIGTERM
    async with serve_hub(targets, sla, HubSettings(port=0)) as running:  # tests, the demo
        running.port, running.hub.latest_payload

Once a second (at 0.25 s past the wall-clock second, after the services close theirs) it
fetches every target's /live/snapshot and, with a receiver, its firing alerts
concurrently (httpx, `poll_timeout_s` each), feeds `HubState`, encodes the tick once,
frames it once and writes the same bytes to every open subscriber: write(2) from two
threads to sockets with nothing queued (`DirectWriter`), the transport for the others.
No await per subscriber; `Fanout` drops whoever has more than
`max_buffered_bytes` queued. Compression is off, keepalive pings are off (a dead peer's
queue grows until it is dropped), and each subscriber's kernel send buffer is capped at
`send_buffer_bytes` so a reader that stops is noticed within seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import resource
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import httpx
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import State

from collector.gc_tuning import settle_heap
from collector.sla import SLA
from livehub.alerts import receiver_alerts_url
from livehub.direct import DirectWriter
from livehub.fanout import DEFAULT_MAX_BUFFERED_BYTES, Fanout
from livehub.message import TargetState, encode, text_frame
from livehub.state import HubState, snapshot_url

__all__ = [
    "DEFAULT_PORT",
    "Hub",
    "HubSettings",
    "RunningHub",
    "raise_open_files_limit",
    "run_hub",
    "serve_hub",
]

log = logging.getLogger("loadwatch.livehub")
DEFAULT_PORT = 8105
WS_PATH = "/ws"
_PAGE_FILES = {"/": ("index.html", "text/html"), "/live.js": ("live.js", "text/javascript")}


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Where the hub listens and how it treats targets and subscribers (seconds, bytes).

    `send_buffer_bytes`: SO_SNDBUF of each subscriber socket (None: the kernel's, which lets
    a stalled reader queue for minutes before the hub's own bound is reached).
    `direct_writes`: write the frame with write(2) to each subscriber socket with nothing
    queued, from `fanout_threads` threads (`livehub.direct`); False: through each asyncio
    transport, on the loop's thread (the earlier fan-out, kept for the benchmark).
    `receiver`: base URL of loadwatch's alert receiver, polled with the targets for its
    firing alerts, with `receiver_token` as the bearer token (None: no alerts in the message).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    poll_timeout_s: float = 0.5
    phase_s: float = 0.25
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES
    send_buffer_bytes: int | None = 8 * 1024
    backlog: int = 4096
    receiver: str | None = None
    receiver_token: str | None = field(default=None, repr=False)
    direct_writes: bool = True
    fanout_threads: int = 2


class Hub:
    """The running hub's state and its one tick; `serve_hub` wires it to the network."""

    def __init__(
        self,
        targets: Sequence[str],
        sla: SLA,
        settings: HubSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.state = HubState(targets, sla, receiver=settings.receiver)
        self.fanout: Fanout[ServerConnection] = Fanout(settings.max_buffered_bytes)
        self.subscribers: set[ServerConnection] = set()
        self._fds: dict[ServerConnection, int] = {}
        self.writer = DirectWriter(settings.fanout_threads) if settings.direct_writes else None
        self.latest_payload: bytes | None = None
        self.latest_frame: bytes | None = None
        self.last_fanout_s = 0.0
        self.last_fanout_cpu_s = 0.0
        self.clock = clock
        self._urls = {target: snapshot_url(target) for target in targets}
        self._alerts_url = (
            None if settings.receiver is None else receiver_alerts_url(settings.receiver)
        )
        self._pages = {
            path: (resources.files("livehub").joinpath("page", name).read_bytes(), kind)
            for path, (name, kind) in _PAGE_FILES.items()
        }

    async def poll(self, client: httpx.AsyncClient) -> None:
        """Fetch every target's snapshot and the receiver's alerts concurrently; record the
        answers. Each request is bounded by `poll_timeout_s`, so the tick never waits longer."""
        polls = [self._poll_target(client, target) for target in self._urls]
        if self._alerts_url is not None:
            polls.append(self._poll_receiver(client, self._alerts_url))
        await asyncio.gather(*polls)

    async def _poll_target(self, client: httpx.AsyncClient, target: str) -> None:
        body = await self._fetch(client, self._urls[target], lambda r: self.state.fail(target, r))
        if body is not None:
            self.state.observe(target, body, self.clock())

    async def _poll_receiver(self, client: httpx.AsyncClient, url: str) -> None:
        token = self.settings.receiver_token
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        body = await self._fetch(client, url, self.state.fail_alerts, headers)
        if body is not None:
            self.state.observe_alerts(body, self.clock())

    async def _fetch(
        self,
        client: httpx.AsyncClient,
        url: str,
        fail: Callable[[str], None],
        headers: dict[str, str] | None = None,
    ) -> bytes | None:
        """The body of a 200 answer to GET `url`, or None after calling `fail(reason)`."""
        try:
            response = await client.get(url, headers=headers)
        except httpx.TimeoutException:
            fail(f"no answer within {self.settings.poll_timeout_s:g} s")
            return None
        except httpx.HTTPError as exc:
            fail(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            return None
        if response.status_code != 200:
            fail(f"HTTP {response.status_code}")
            return None
        return response.content

    def publish(self) -> bytes:
        """Build this second's message, send it to every subscriber; returns the payload."""
        payload = encode(self.state.tick(self.clock()))
        self.latest_payload, self.latest_frame = payload, text_frame(payload)
        started, started_cpu = time.perf_counter(), time.process_time()
        self.broadcast(self.latest_frame)
        self.last_fanout_s = time.perf_counter() - started
        self.last_fanout_cpu_s = time.process_time() - started_cpu
        return payload

    def broadcast(self, frame: bytes) -> None:
        """Write `frame` to every open subscriber under its bound; abort the others.

        Sockets with nothing queued get it by write(2) (`DirectWriter`), what they do not
        take goes to their transport; the others get it through their transport, after
        what is queued there."""
        buffered = {
            conn: conn.transport.get_write_buffer_size()
            for conn in self.subscribers
            if conn.protocol.state is State.OPEN and not conn.transport.is_closing()
        }
        plan = self.fanout.plan(buffered)
        for conn in plan.drop:
            self._forget(conn)
            conn.transport.abort()
        if self.writer is None:
            for conn in plan.send:
                conn.transport.write(frame)
            return
        direct: list[ServerConnection] = []
        fds: list[int] = []
        for conn in plan.send:
            fd = self._fds.get(conn)
            if fd is not None and buffered[conn] == 0:
                direct.append(conn)
                fds.append(fd)
            else:
                conn.transport.write(frame)
        for index, outcome in self.writer.write(fds, frame):
            conn = direct[index]
            if isinstance(outcome, OSError):
                self._forget(conn)
                conn.transport.abort()
            else:
                conn.transport.write(frame[outcome:])

    def _forget(self, conn: ServerConnection) -> None:
        self.subscribers.discard(conn)
        self._fds.pop(conn, None)

    async def subscriber(self, conn: ServerConnection) -> None:
        """A /ws connection: gets the latest message at once, then every tick until it goes."""
        sock = conn.transport.get_extra_info("socket")
        if sock is not None and self.settings.send_buffer_bytes is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.send_buffer_bytes)
        if self.latest_frame is not None:
            conn.transport.write(self.latest_frame)
        if sock is not None:
            self._fds[conn] = sock.fileno()
        self.subscribers.add(conn)
        try:
            await conn.wait_closed()
        finally:
            self._forget(conn)

    def route(self, conn: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP for the page and /healthz; None lets /ws continue to the handshake."""
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            return None
        if path in self._pages:
            body, kind = self._pages[path]
            return _response(200, "OK", body, f"{kind}; charset=utf-8")
        if path == "/healthz":
            return _response(200, "OK", json.dumps(self.health()).encode(), "application/json")
        body = json.dumps({"error": f"no such path {path!r}; try /, /ws or /healthz"}).encode()
        return _response(404, "Not Found", body, "application/json")

    def health(self) -> dict[str, object]:
        """What /healthz answers: targets up, subscribers, frames sent, subscribers dropped,
        and how long the last fan-out to every subscriber took (ms of wall-clock time: the
        hub's side of the delivery lag; and ms of the process's CPU time)."""
        views = self.state.target_views()
        return {
            "status": "ok",
            "targets": len(views),
            "targets_up": sum(1 for view in views if view.state is TargetState.UP),
            "subscribers": len(self.subscribers),
            "sent_total": self.fanout.sent_total,
            "dropped_total": self.fanout.dropped_total,
            "last_fanout_ms": round(self.last_fanout_s * 1000.0, 3),
            "last_fanout_cpu_ms": round(self.last_fanout_cpu_s * 1000.0, 3),
        }

    async def run_ticks(self) -> None:
        """Poll and publish once a second, at `phase_s` past each wall-clock second, forever."""
        timeout = httpx.Timeout(self.settings.poll_timeout_s)
        limits = httpx.Limits(max_connections=(len(self._urls) + 1) * 2)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
            while True:
                now = self.clock()
                await asyncio.sleep(max(0.0, math.floor(now) + 1 + self.settings.phase_s - now))
                try:
                    await self.poll(client)
                    self.publish()
                except Exception:  # one bad second must not end the stream: log, go on
                    log.exception("stream hub: tick failed; skipping this second")


def _response(status: int, reason: str, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(status, reason, headers, body)


@dataclass(frozen=True, slots=True)
class RunningHub:
    """A started hub: its bound port and its `Hub` (state, latest message, subscribers)."""

    hub: Hub
    server: Server
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.hub.settings.host}:{self.port}/"


@contextlib.asynccontextmanager
async def serve_hub(
    targets: Sequence[str],
    sla: SLA,
    settings: HubSettings | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[RunningHub]:
    """Start the hub (port 0: any free port) and its tick loop; stop both on exit."""
    chosen = settings if settings is not None else HubSettings()
    hub = Hub(targets, sla, chosen, clock=clock)
    async with serve(
        hub.subscriber,
        chosen.host,
        chosen.port,
        process_request=hub.route,
        compression=None,
        ping_interval=None,
        max_size=4096,
        max_queue=4,
        backlog=chosen.backlog,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        ticks = asyncio.get_running_loop().create_task(hub.run_ticks())
        try:
            yield RunningHub(hub, server, port)
        finally:
            ticks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticks
            server.close(close_connections=False)
            for conn in list(hub.subscribers):
                conn.transport.abort()
            if hub.writer is not None:
                hub.writer.close()


def run_hub(
    targets: Sequence[str],
    *,
    sla: SLA,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    receiver: str | None = None,
    receiver_token: str | None = None,
    settings: HubSettings | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Serve the hub until SIGINT/SIGTERM (uvloop when installed); returns exit code 0.

    `receiver` (and its bearer `receiver_token`): the alert receiver whose firing alerts
    the message carries. `settings`, when given, replaces those four. `on_ready(url)` is
    called with the live page's URL once the port is bound (the default prints it). Raises
    the soft open-files limit to the hard one: a subscriber is a socket.
    """
    if settings is None:
        settings = HubSettings(
            host=host, port=port, receiver=receiver, receiver_token=receiver_token
        )
    raise_open_files_limit()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with serve_hub(targets, sla, settings) as running:
            settle_heap()
            (on_ready or _print_ready)(running.url)
            await stop.wait()

    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    return 0


def raise_open_files_limit() -> int:
    """Set RLIMIT_NOFILE's soft limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return max(soft, wanted)


def _print_ready(url: str) -> None:
    ws_url = "ws" + url.removeprefix("http").rstrip("/") + WS_PATH
    print(f"stream hub: live page {url} (websocket {ws_url})", flush=True)
