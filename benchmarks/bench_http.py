"""Throughput of the hello endpoint, plain vs instrumented, measured by wrk side by side.

    python -m benchmarks.bench_http [--rounds 3] [--seconds 5] [--json OUT]

Each variant runs in its own server process; rounds interleave the variants so drift on
the machine hits all of them alike. Reports the median req/s per variant and its ratio to
plain, and the server's CPU time per request (user + system, from the OS): the server is
one CPU-bound event loop, so plain / variant CPU per request is the throughput ratio
without the noise of whatever else shares the two cores. Sends traffic only to 127.0.0.1
and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import psutil

from benchmarks.http_targets import VARIANTS
from runtime.ports import free_port, wait_listening

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS = re.compile(r"(\d+) requests in")


def _wrk(wrk: str, port: int, seconds: float, connections: int) -> tuple[float, int]:
    """(req/s, requests completed) of one wrk run."""
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/hello"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    match = _RPS.search(out)
    done = _REQUESTS.search(out)
    if match is None or done is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    return float(match.group(1)), int(done.group(1))


def run(rounds: int, seconds: float, connections: int) -> dict[str, object]:
    """Median req/s per variant over `rounds` interleaved wrk runs, and ratios to plain."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench_http: wrk is not installed (apt-get install wrk)")
    ports = {variant: free_port() for variant in VARIANTS}
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.http_targets", "--variant", v, "--port", str(p)],
            stdout=subprocess.DEVNULL,
        )
        for v, p in ports.items()
    ]
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        for port in ports.values():
            wait_listening(port)
        for port in ports.values():
            _wrk(wrk, port, 1, connections)  # warm-up
        processes = {v: psutil.Process(s.pid) for v, s in zip(VARIANTS, servers, strict=True)}
        for n in range(rounds):
            for variant, port in ports.items():
                before = _cpu_s(processes[variant])
                rps, done = _wrk(wrk, port, seconds, connections)
                per_request = (_cpu_s(processes[variant]) - before) / max(done, 1) * 1e6
                results[variant].append(rps)
                cpu_us[variant].append(per_request)
                print(
                    f"  round {n + 1}/{rounds} {variant:<10} {rps:10.0f} req/s "
                    f"{per_request:7.2f} us CPU/request",
                    flush=True,
                )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
    medians = {v: statistics.median(r) for v, r in results.items()}
    cpu = {v: statistics.median(c) for v, c in cpu_us.items()}
    return {
        "command": f"wrk -t1 -c{connections} -d{seconds:g}s, {rounds} interleaved rounds",
        "req_per_s": medians,
        "ratio_to_plain": {v: medians[v] / medians["plain"] for v in VARIANTS},
        "server_cpu_us_per_request": cpu,
        "cpu_ratio_to_plain": {v: cpu["plain"] / cpu[v] for v in VARIANTS},
        "runs": results,
    }


def _cpu_s(process: psutil.Process) -> float:
    """User + system CPU seconds the server process has used so far."""
    times = process.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.rounds, args.seconds, args.connections)
    for variant in VARIANTS:
        print(
            f"{variant:<10} {result['req_per_s'][variant]:10.0f} req/s"  # type: ignore[index]
            f"  ratio {result['ratio_to_plain'][variant]:.3f}"  # type: ignore[index]
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
