"""Locust's throughput, plain vs with loadwatch's per-request recording, side by side.

    python -m benchmarks.bench_locust [--seconds 10] [--rounds 3] [--users 50] [--json OUT]

One Locust process (FastHttpUser, constant wait 0, `users` users) drives the hello endpoint
of `benchmarks.http_targets` (plain aiohttp on uvloop, its own process) on 127.0.0.1. The
"loadwatch" variant adds `loadtests.process.RequestRecorder` (every request into a
RunRecorder) to Locust's request event; rounds interleave the variants so that drift on the
machine hits both alike. Reports the median req/s of each variant and the ratio (targets:
>= 9,000 req/s and >= 0.9x), and the Locust process's CPU time per request, which other load
on the machine disturbs less than req/s does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runtime.ports import free_port, wait_listening

VARIANTS = ("plain", "loadwatch")
TARGET_RPS = 9_000.0
TARGET_RATIO = 0.9
WARM_UP_S = 2.0


def _child(variant: str, port: int, seconds: float, users: int) -> None:
    """One measurement in this (Locust) process; prints {"requests", "seconds"} as JSON."""
    import logging

    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    from loadtests.request_events import RequestRecorder
    from loadtests.stats import RunRecorder

    logging.basicConfig(level=logging.ERROR)

    class Hello(FastHttpUser):
        wait_time = constant(0)

        @task
        def hello(self) -> None:
            self.client.get("/hello")

    env = Environment(user_classes=[Hello], host=f"http://127.0.0.1:{port}")
    if variant == "loadwatch":
        recorder = RequestRecorder(RunRecorder(started_at_s=time.time()))
        env.events.request.add_listener(recorder.on_request)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(WARM_UP_S)
    first, started, cpu = env.stats.total.num_requests, time.perf_counter(), time.process_time()
    gevent.sleep(seconds)
    last, ended = env.stats.total.num_requests, time.perf_counter()
    cpu = time.process_time() - cpu
    runner.quit()
    result = {"requests": last - first, "seconds": ended - started, "cpu_s": cpu}
    print(json.dumps(result), flush=True)


def _measure(variant: str, port: int, seconds: float, users: int) -> tuple[float, float]:
    """(req/s, CPU microseconds of the Locust process per request)."""
    command = [sys.executable, "-m", "benchmarks.bench_locust", "--child", variant]
    command += ["--port", str(port), "--seconds", str(seconds), "--users", str(users)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out, _ = process.communicate(timeout=seconds + WARM_UP_S + 60)
    if process.returncode != 0:
        raise RuntimeError(f"the {variant} Locust process exited with {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    requests = max(1, int(result["requests"]))
    return requests / float(result["seconds"]), float(result["cpu_s"]) * 1e6 / requests


def run(seconds: float = 10, *, rounds: int = 3, users: int = 50) -> dict[str, object]:
    """Median req/s of plain Locust and of Locust + loadwatch recording, and their ratio.

    Takes about rounds x 2 x (seconds + 4) seconds; sends traffic to 127.0.0.1 only.
    """
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.http_targets", "--variant", "plain"]
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        wait_listening(port)
        for n in range(rounds):
            for variant in VARIANTS:
                rps, per_request_us = _measure(variant, port, seconds, users)
                results[variant].append(rps)
                cpu_us[variant].append(per_request_us)
                print(
                    f"  round {n + 1}/{rounds} {variant:<10} {rps:10,.0f} req/s"
                    f"  {per_request_us:6.1f} us CPU/request",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    medians = {v: statistics.median(r) for v, r in results.items()}
    cpu = {v: statistics.median(c) for v, c in cpu_us.items()}
    ratio = medians["loadwatch"] / medians["plain"]
    return {
        "command": f"1 Locust process, FastHttpUser x {users}, wait 0, {seconds:g} s,"
        f" {rounds} interleaved rounds",
        "req_per_s": medians,
        "ratio": ratio,
        "cpu_us_per_request": cpu,
        "cpu_ratio": cpu["plain"] / cpu["loadwatch"],
        "met": medians["loadwatch"] >= TARGET_RPS and ratio >= TARGET_RATIO,
        "runs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.port, args.seconds, args.users)
        return
    result = run(args.seconds, rounds=args.rounds, users=args.users)
    rps = result["req_per_s"]
    assert isinstance(rps, dict)
    cpu = result["cpu_us_per_request"]
    assert isinstance(cpu, dict)
    print(f"plain Locust           {rps['plain']:10,.0f} req/s  {cpu['plain']:6.1f} us CPU/request")
    print(
        f"Locust + loadwatch     {rps['loadwatch']:10,.0f} req/s  {cpu['loadwatch']:6.1f} us"
        f" CPU/request  ratio {result['ratio']:.3f} (by CPU {result['cpu_ratio']:.3f})"
    )
    print(f"targets >= {TARGET_RPS:,.0f} req/s and >= {TARGET_RATIO}x: ", end="")
    print("met" if result["met"] else "missed")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
