"""The stream hub with 10,000 websocket subscribers at 1 Hz, clients in separate processes.

    python -m benchmarks.bench_livehub [--subscribers 10000] [--client-processes 2]
        [--steady-s 15] [--old] [--baseline] [--json OUT]

On 127.0.0.1 it starts one target (examples/hello_service.py) and the hub (as `loadwatch
serve stream` runs it, uvloop, direct writes from two threads) as child processes, then
`--client-processes` client processes (`benchmarks.livehub_client`) that open the
subscriptions between them. A client is a raw non-blocking socket per subscription read
with recvmsg (HTTP upgrade, then frame parsing only). For every message it records two
lags, each minus the message's `timestamp_s` (the hub's clock just before it builds the
tick, after the poll, so polling is not counted; building, encoding and the fan-out to
everyone before are; same machine, same clock): **arrival**, the kernel's receive
timestamp of the bytes on the subscriber's socket (SO_TIMESTAMPNS), the delivery lag
proper, which the clients' own scheduling on the shared cores does not change; and
**read**, when the client process got to read them, which adds the benchmark clients' own
CPU queueing (a browser on another machine has none).

Phases: connect all; `steady_s` seconds of steady state (lag p50/p99, hub CPU from
/proc via psutil over that window, hub RSS growth per subscriber); then one more client
process opens a subscription with a 4 KiB receive buffer and stops reading: the phase
lasts until the hub reports it dropped plus 3 s, and the lag of the other subscribers over
it is compared with the windows on both sides of it (the steady state before, and a control
window as long as the stall after it, with no stalled reader), so that drift in the
machine's load is not read as the stalled reader's doing. Every child stops by itself
(stdin closes, or a hard deadline); file descriptor limits are raised in every process.

`--old` then measures the earlier fan-out (`transport.write` per subscriber on the loop's
thread) with the same clients and steady window; `--baseline` (and `make bench`) the
issue's baseline, websockets' own `broadcast()` once a second with compression off and a
message of the hub's size; so that all are measured under the same machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.sync.client import connect

from benchmarks.livehub_client import Lags, raise_nofile
from runtime.ports import free_port, wait_listening

__all__ = ["run"]

TARGET_LAG_P99_MS = 250.0
TARGET_CPU_PERCENT = 25.0
TARGET_KIB_PER_SUBSCRIBER = 30.0
DIRECT = "direct"
"""The hub's fan-out: write(2) to idle sockets from two threads (`livehub.direct`)."""
TRANSPORT = "transport"
"""The earlier fan-out: `transport.write` per subscriber on the loop's thread."""
_FANOUTS = {DIRECT, TRANSPORT}
_SELF = [sys.executable, "-m", "benchmarks.bench_livehub"]


def _hub_main(port: int, target: str, fanout: str) -> None:
    """The hub as `loadwatch serve stream` runs it (uvloop), with the chosen fan-out."""
    from collector.sla import resolve_sla
    from livehub.server import HubSettings, run_hub

    settings = HubSettings(port=port, direct_writes=fanout == DIRECT)
    run_hub([target], sla=resolve_sla(), settings=settings, on_ready=lambda url: None)


# ---------------------------------------------------------------- baseline server


async def _broadcast_server(port: int, message_bytes: int) -> None:
    """The issue's baseline: websockets' own `broadcast()` once a second, compression off."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    connections: set[ServerConnection] = set()

    async def handler(conn: ServerConnection) -> None:
        connections.add(conn)
        try:
            await conn.wait_closed()
        finally:
            connections.discard(conn)

    async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096):
        while True:
            now = time.time()
            await asyncio.sleep(int(now) + 1.25 - now)
            head = f'{{"timestamp_s":{time.time():.6f},"type":"tick",'
            pad = "x" * (message_bytes - len(head) - 9)
            broadcast(connections, f'{head}"pad":"{pad}"}}')


def _broadcast_main(port: int, message_bytes: int) -> None:
    raise_nofile()
    import uvloop

    uvloop.run(_broadcast_server(port, message_bytes))


# ---------------------------------------------------------------- orchestrator


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _spawn_client(port: int, count: int, stall: bool) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "benchmarks.livehub_client", str(port), str(count)]
    return subprocess.Popen(
        argv + (["--stall"] if stall else []),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _ready(proc: subprocess.Popen[str], timeout_s: float) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else "(no answer within the deadline)"
    if not line.startswith('{"ready"'):
        raise RuntimeError(f"client did not connect: {line!r} (exit {proc.poll()})")


def _collect(proc: subprocess.Popen[str]) -> tuple[Lags, Lags]:
    """A client's (arrival, read) lags once its stdin closes."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(timeout=60)
    data = json.loads(out.strip().splitlines()[-1])
    return tuple(  # type: ignore[return-value]
        {float(stamp): values for stamp, values in data[kind].items()}
        for kind in ("arrivals", "reads")
    )


def _gather(clients: list[subprocess.Popen[str]]) -> tuple[Lags, Lags]:
    """Every client's arrival and read lags, merged per message."""
    arrivals: Lags = defaultdict(list)
    reads: Lags = defaultdict(list)
    for proc in clients:
        arrived, read = _collect(proc)
        for stamp, values in arrived.items():
            arrivals[stamp].extend(values)
        for stamp, values in read.items():
            reads[stamp].extend(values)
    return arrivals, reads


def _health(client: httpx.Client, port: int) -> dict[str, Any]:
    result: dict[str, Any] = client.get(f"http://127.0.0.1:{port}/healthz").json()
    return result


def _window(lags: dict[float, list[float]], start: float, end: float) -> tuple[list[float], int]:
    """Lags (ms) of messages stamped in [start, end), and the fewest receivers of one."""
    chosen = [values for stamp, values in lags.items() if start <= stamp < end]
    flat = [v * 1000.0 for values in chosen for v in values]
    return flat, min((len(values) for values in chosen), default=0)


def run(
    subscribers: int = 10_000,
    client_processes: int = 2,
    steady_s: float = 15.0,
    fanout: str = DIRECT,
    stall: bool = True,
) -> dict[str, Any]:
    """Run the benchmark against the hub with `fanout` (DIRECT or TRANSPORT); returns the
    figures (see the module docstring). `stall`: also run the stalled-reader phase."""
    if fanout not in _FANOUTS:
        raise ValueError(f"fanout: expected one of {sorted(_FANOUTS)}, got {fanout!r}")
    raise_nofile()
    target_port, hub_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children: list[subprocess.Popen[Any]] = []
    command = (
        f"python -m benchmarks.bench_livehub --subscribers {subscribers} "
        f"--client-processes {client_processes} --steady-s {steady_s:g}"
    )
    stall_result: dict[str, Any] | None = None
    try:
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "examples.hello_service", "--port", str(target_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_listening(target_port)
        hub = subprocess.Popen(
            [*_SELF, "--hub", str(hub_port), f"http://127.0.0.1:{target_port}", fanout],
            stdout=subprocess.DEVNULL,
            env=env,
        )
        children.append(hub)
        wait_listening(hub_port)
        hub_ps = psutil.Process(hub.pid)
        http = httpx.Client(timeout=5.0, trust_env=False)
        time.sleep(2.0)
        rss_before = hub_ps.memory_info().rss
        share = [subscribers // client_processes] * client_processes
        share[0] += subscribers - sum(share)
        clients = [_spawn_client(hub_port, n, stall=False) for n in share]
        children.extend(clients)
        connect_start = time.monotonic()
        for proc in clients:
            _ready(proc, 120.0)
        connect_s = time.monotonic() - connect_start
        if _health(http, hub_port)["subscribers"] != subscribers:
            raise RuntimeError(f"hub has {_health(http, hub_port)} subscribers")
        time.sleep(3.0)
        rss_after = hub_ps.memory_info().rss
        cpu_start, steady_start = hub_ps.cpu_times(), time.time()
        fanout_ms: list[float] = []
        fanout_cpu_ms: list[float] = []
        loads: list[float] = []
        while time.time() < steady_start + steady_s:
            health = _health(http, hub_port)
            fanout_ms.append(health["last_fanout_ms"])
            fanout_cpu_ms.append(health["last_fanout_cpu_ms"])
            loads.append(os.getloadavg()[0])
            time.sleep(1.0)
        cpu_end, steady_end = hub_ps.cpu_times(), time.time()
        cpu_percent = (
            (cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system)
            / (steady_end - steady_start)
            * 100.0
        )
        if stall:
            stall_result = _stall_phase(hub_port, http, children)
            # As long again with no stalled reader: the others' lag during the stall is set
            # against the windows on both sides of it, so drift in the machine's load over
            # the run is not read as the stalled reader's doing.
            control_start = time.time()
            time.sleep(stall_result["end"] - stall_result["start"])
            stall_result["control"] = (control_start, time.time())
        with connect(f"ws://127.0.0.1:{hub_port}/ws", compression=None) as ws:
            message_bytes = len(ws.recv(timeout=5))
        lags, reads = _gather(clients)
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.terminate()
        for proc in children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    steady, steady_min = _window(lags, steady_start, steady_end)
    read, _ = _window(reads, steady_start, steady_end)
    p50, p99 = _percentile(steady, 50), _percentile(steady, 99)
    result: dict[str, Any] = {
        "command": command,
        "fanout": fanout,
        "subscribers": subscribers,
        "client_processes": client_processes,
        "message_bytes": message_bytes,
        "connect_s": connect_s,
        "steady_s": steady_end - steady_start,
        "lag_ms": {"p50": p50, "p99": p99, "max": max(steady)},
        "read_lag_ms": {"p50": _percentile(read, 50), "p99": _percentile(read, 99)},
        "fewest_receivers_per_message": steady_min,
        "hub_fanout_ms": {"median": _percentile(fanout_ms, 50), "max": max(fanout_ms)},
        "hub_fanout_cpu_ms": {"median": _percentile(fanout_cpu_ms, 50)},
        "load_average_1m": {"min": min(loads), "max": max(loads)},
        "hub_cpu_percent": cpu_percent,
        "hub_rss_bytes": rss_after,
        "kib_per_subscriber": (rss_after - rss_before) / subscribers / 1024,
    }
    if stall_result is not None:
        during, during_min = _window(lags, stall_result["start"], stall_result["end"])
        stall_p50, stall_p99 = _percentile(during, 50), _percentile(during, 99)
        control, _ = _window(lags, *stall_result["control"])
        around = steady + control
        around_p50, around_p99 = _percentile(around, 50), _percentile(around, 99)
        result["stalled"] = {
            "dropped_after_s": stall_result["dropped_after_s"],
            "lag_ms": {"p50": stall_p50, "p99": stall_p99},
            "hub_fanout_ms": {"median": _percentile(stall_result["fanout_ms"], 50)},
            "hub_fanout_cpu_ms": {"median": _percentile(stall_result["fanout_cpu_ms"], 50)},
            "fewest_receivers_per_message": during_min,
            "around_lag_ms": {"p50": around_p50, "p99": around_p99},
            "p99_change": stall_p99 / around_p99 - 1.0,
            "p50_change": stall_p50 / around_p50 - 1.0,
            "hub_dropped_total": stall_result["dropped_total"],
        }
    return result


def _stall_phase(
    hub_port: int, http: httpx.Client, children: list[subprocess.Popen[Any]]
) -> dict[str, Any]:
    """One more subscriber that stops reading, until the hub drops it, plus 3 s."""
    stalled = _spawn_client(hub_port, 1, stall=True)
    children.append(stalled)
    _ready(stalled, 30.0)
    start = time.time()
    deadline = time.monotonic() + 120.0
    fanout_ms: list[float] = []
    fanout_cpu_ms: list[float] = []
    while (health := _health(http, hub_port))["dropped_total"] < 1:
        if time.monotonic() > deadline:
            break  # reported as hub_dropped_total 0
        fanout_ms.append(health["last_fanout_ms"])
        fanout_cpu_ms.append(health["last_fanout_cpu_ms"])
        time.sleep(1.0)
    dropped_after_s = time.time() - start
    time.sleep(3.0)
    end = time.time()
    _collect(stalled)
    return {
        "start": start,
        "end": end,
        "dropped_after_s": dropped_after_s,
        "fanout_ms": fanout_ms or [float("nan")],
        "fanout_cpu_ms": fanout_cpu_ms or [float("nan")],
        "dropped_total": _health(http, hub_port)["dropped_total"],
    }


def run_baseline(
    subscribers: int = 10_000,
    client_processes: int = 2,
    steady_s: float = 15.0,
    message_bytes: int = 3000,
) -> dict[str, Any]:
    """The same clients and steady window against websockets' `broadcast()` (baseline)."""
    raise_nofile()
    port = free_port()
    children: list[subprocess.Popen[Any]] = []
    try:
        argv = [sys.executable, "-m", "benchmarks.bench_livehub", "--broadcast-server"]
        server = subprocess.Popen([*argv, str(port), str(message_bytes)])
        children.append(server)
        wait_listening(port)
        server_ps = psutil.Process(server.pid)
        time.sleep(2.0)
        rss_before = server_ps.memory_info().rss
        share = [subscribers // client_processes] * client_processes
        share[0] += subscribers - sum(share)
        clients = [_spawn_client(port, n, stall=False) for n in share]
        children.extend(clients)
        for proc in clients:
            _ready(proc, 120.0)
        time.sleep(3.0)
        rss_after = server_ps.memory_info().rss
        cpu_start, start = server_ps.cpu_times(), time.time()
        loads: list[float] = []
        while time.time() < start + steady_s:
            loads.append(os.getloadavg()[0])
            time.sleep(1.0)
        cpu_end, end = server_ps.cpu_times(), time.time()
        lags, reads = _gather(clients)
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.terminate()
        for proc in children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    steady, fewest = _window(lags, start, end)
    read, _ = _window(reads, start, end)
    return {
        "lag_ms": {"p50": _percentile(steady, 50), "p99": _percentile(steady, 99)},
        "read_lag_ms": {"p50": _percentile(read, 50), "p99": _percentile(read, 99)},
        "fewest_receivers_per_message": fewest,
        "cpu_percent": (
            (cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system)
            / (end - start)
            * 100.0
        ),
        "rss_bytes": rss_after,
        "kib_per_subscriber": (rss_after - rss_before) / subscribers / 1024,
        "load_average_1m": {"min": min(loads), "max": max(loads)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--steady-s", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--broadcast-server", nargs=2, type=int, metavar=("PORT", "BYTES"))
    parser.add_argument("--hub", nargs=3, metavar=("PORT", "TARGET", "FANOUT"))
    parser.add_argument(
        "--old", action="store_true", help="also measure the earlier transport.write fan-out"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="also measure websockets' broadcast()"
    )
    args = parser.parse_args()
    if args.broadcast_server:
        _broadcast_main(*args.broadcast_server)
        return
    if args.hub:
        _hub_main(int(args.hub[0]), args.hub[1], args.hub[2])
        return
    result = run(args.subscribers, args.client_processes, args.steady_s)
    if args.old:
        result["old_transport_fanout"] = run(
            args.subscribers, args.client_processes, args.steady_s, TRANSPORT, stall=False
        )
    if args.baseline:
        result["baseline_broadcast"] = run_baseline(
            args.subscribers, args.client_processes, args.steady_s, result["message_bytes"]
        )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
