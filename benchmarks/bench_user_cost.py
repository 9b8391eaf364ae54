"""The load generator's CPU per request at 50 to 20,000 users, at the same offered rate.

    python -m benchmarks.bench_user_cost [--users 50 1000 10000 20000] [--rate 1000]
                                         [--seconds 15] [--rounds 1] [--json OUT]

Each measurement is one Locust process set up as `loadtests.process` sets it up (heap
settled, poll-based keep-alive check, smooth spawning, users frozen, every request into a
RunRecorder) with N FastHttpUsers whose think time is drawn from 0.5x..1.5x of N / rate
seconds, so every size offers the same ~`rate` req/s to the hello endpoint of
`benchmarks.http_targets` (plain aiohttp on uvloop, its own process). Users are started at
`rate` users/s (the ramp offers the same rate too); after the ramp and SETTLE_S, the Locust
process's CPU seconds (user + system) and requests are counted for `seconds` (the steady
state), and from the ramp's start to that point (the whole run, ramp included), then greenlet
switches, loop iterations and context switches for COUNT_S more (a greenlet trace function
is on for that part only: it costs CPU of its own).

Three variants side by side, each adding one change: `before` (Locust's defaults: every
user its own connection, the runner walks every user greenlet on each spawn batch),
`counted` (`loadtests.spawning.count_users_by_class`) and `shared` (that, and
`loadtests.connections`: the users of a process share one pool of keep-alive connections,
as many as are in flight). The ramp's CPU per user started is reported as well.
Takes about rounds x 3 x sum(N / rate + seconds + 8) seconds; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runtime.ports import free_port, wait_listening

VARIANTS = ("before", "counted", "shared")
USERS = (50, 1_000, 10_000, 20_000)
SETTLE_S = 3.0
COUNT_S = 2.0
CHILD_LIMIT_S = 90.0
"""A child gets the ramp, the measurement and this many seconds more, or counts as unfinished."""
TARGET_RATIO = 1.5
"""CPU per request at the most users against the fewest: at most this."""


def _child(variant: str, port: int, users: int, rate: float, seconds: float) -> None:
    """One measurement in this (Locust) process; prints its figures as JSON."""
    import gc
    import logging

    import gevent
    import greenlet  # type: ignore[import-untyped]
    import psutil
    from locust import FastHttpUser, between, task
    from locust.env import Environment

    from collector.gc_tuning import settle_heap
    from loadtests.connections import share_connections
    from loadtests.keepalive import patch_connection_check
    from loadtests.request_events import RequestRecorder
    from loadtests.spawning import SmoothDispatcher, count_users_by_class, freeze_started_users
    from loadtests.stats import RunRecorder

    logging.basicConfig(level=logging.ERROR)
    think_s = users / rate

    class Hello(FastHttpUser):
        wait_time = between(0.5 * think_s, 1.5 * think_s)

        @task
        def hello(self) -> None:
            self.client.get("/hello")

    settle_heap()
    patch_connection_check()
    env = Environment(
        user_classes=[Hello], host=f"http://127.0.0.1:{port}", dispatcher_class=SmoothDispatcher
    )
    if variant == "shared":
        share_connections([Hello])
    env.events.spawning_complete.add_listener(freeze_started_users)
    holder = RequestRecorder(RunRecorder(started_at_s=time.time()))
    env.events.request.add_listener(holder.on_request)
    runner = env.create_local_runner()
    if variant != "before":
        count_users_by_class(runner)
    ramp_cpu = ramp_started = time.process_time()
    runner.start(users, spawn_rate=rate)
    while runner.user_count < users:
        gevent.sleep(0.05)
    ramp_cpu = time.process_time() - ramp_cpu
    gevent.sleep(SETTLE_S)
    me = psutil.Process()
    failures = env.stats.total.num_failures
    first, started, cpu = holder.total, time.perf_counter(), time.process_time()
    gevent.sleep(seconds)
    requests, wall_s = holder.total - first, time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    run_cpu_s, run_requests = cpu_s + (cpu - ramp_started), holder.total
    switches = [0]

    def count(event: str, args: Any) -> None:
        switches[0] += 1

    hub_loop = gevent.get_hub().loop
    counted_from, iterations, ctx = holder.total, hub_loop.iteration, me.num_ctx_switches()
    gcs = sum(s["collections"] for s in gc.get_stats())
    greenlet.settrace(count)
    gevent.sleep(COUNT_S)
    greenlet.settrace(None)
    counted = max(1, holder.total - counted_from)
    ctx_after = me.num_ctx_switches()
    result = {
        "users": users,
        "requests": requests,
        "seconds": wall_s,
        "cpu_s": cpu_s,
        "failures": env.stats.total.num_failures - failures,
        "ramp_cpu_s": ramp_cpu,
        "run_cpu_s": run_cpu_s,
        "run_requests": run_requests,
        "connections": len(me.net_connections(kind="tcp")),
        "per_request": {
            "greenlet_switches": switches[0] / counted,
            "loop_iterations": (hub_loop.iteration - iterations) / counted,
            "voluntary_ctx_switches": (ctx_after.voluntary - ctx.voluntary) / counted,
            "involuntary_ctx_switches": (ctx_after.involuntary - ctx.involuntary) / counted,
            "gc_collections": (sum(s["collections"] for s in gc.get_stats()) - gcs) / counted,
        },
    }
    runner.quit()
    print(json.dumps(result), flush=True)


def _measure(
    variant: str, port: int, users: int, rate: float, seconds: float
) -> dict[str, Any] | None:
    """One child's figures, or None when it did not finish within its time limit (the
    `before` variant's ramp grows with the square of the users: 20,000 may not)."""
    command = [sys.executable, "-m", "benchmarks.bench_user_cost", "--child", variant]
    command += ["--port", str(port), "--users", str(users), "--rate", str(rate)]
    command += ["--seconds", str(seconds)]
    env = {**os.environ, "GEVENT_RESOLVER": "block"}  # as loadtests.runner sets it for 127.0.0.1
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        out, _ = process.communicate(timeout=CHILD_LIMIT_S + users / rate + seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    if process.returncode != 0:
        raise RuntimeError(f"the {variant} Locust process exited with {process.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(
    users: tuple[int, ...] = USERS,
    *,
    rate: float = 1_000.0,
    seconds: float = 15.0,
    rounds: int = 1,
) -> dict[str, Any]:
    """Median generator CPU microseconds per request for each variant and user
    count, rounds interleaved; JSON-safe. `ratio` is the most users' cost over the fewest's."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.http_targets", "--variant", "plain"]
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {
        v: {n: [] for n in users} for v in VARIANTS
    }
    try:
        wait_listening(port)
        for n in range(rounds):
            for count in users:
                for variant in VARIANTS:
                    result = _measure(variant, port, count, rate, seconds)
                    if result is None:
                        print(
                            f"  round {n + 1}/{rounds} {variant:<8} {count:>6} users: did not"
                            f" finish within {CHILD_LIMIT_S + count / rate + seconds:g} s",
                            flush=True,
                        )
                        continue
                    samples[variant][count].append(result)
                    us = result["cpu_s"] * 1e6 / max(1, result["requests"])
                    print(
                        f"  round {n + 1}/{rounds} {variant:<8} {count:>6} users"
                        f" {result['requests'] / result['seconds']:7,.0f} req/s"
                        f" {us:6.0f} us CPU/request, ramp"
                        f" {result['ramp_cpu_s'] * 1e6 / count:5.0f} us CPU/user,"
                        f" {result['connections']:>6} connections,"
                        f" {result['failures']} failures",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return _summarize(samples, users, rate, seconds, rounds)


def _summarize(
    samples: dict[str, dict[int, list[dict[str, Any]]]],
    users: tuple[int, ...],
    rate: float,
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    table: dict[str, dict[str, dict[str, Any] | None]] = {}
    for variant, by_users in samples.items():
        table[variant] = {
            str(count): _medians(runs) if runs else None for count, runs in by_users.items()
        }
    low, high = str(min(users)), str(max(users))

    def ratio(variant: str, key: str) -> float | None:
        top, base = table[variant][high], table[variant][low]
        return None if top is None or base is None else top[key] / base[key]

    steady = {v: ratio(v, "cpu_us_per_request") for v in VARIANTS}
    whole = {v: ratio(v, "run_cpu_us_per_request") for v in VARIANTS}
    last = [steady[VARIANTS[-1]], whole[VARIANTS[-1]]]
    met = all(r is not None and r <= TARGET_RATIO for r in last)
    return {
        "command": f"python -m benchmarks.bench_user_cost --users {' '.join(map(str, users))}"
        f" --rate {rate:g} --seconds {seconds:g} --rounds {rounds}",
        "rate": rate,
        "users": list(users),
        "table": table,
        "ratio": steady,
        "run_ratio": whole,
        "met": met,
    }


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, bool | None]]:
    """`make bench` rows (measure, figure, baseline, target, met?) of a `run()` result."""
    table, low = r["table"], str(min(r["users"]))

    def cell(variant: str, users: str) -> str:
        row, base = table[variant][users], table[variant][low]
        if row is None or base is None:
            return f"did not finish within {CHILD_LIMIT_S:g} s after the ramp"
        steady = row["cpu_us_per_request"] / base["cpu_us_per_request"]
        whole = row["run_cpu_us_per_request"] / base["run_cpu_us_per_request"]
        return (
            f"{row['cpu_us_per_request']:.0f} us ({steady:.2f}x) / "
            f"{row['run_cpu_us_per_request']:.0f} us ({whole:.2f}x), ramp"
            f" {row['ramp_cpu_us_per_user']:.0f} us per user; "
            f"{row['connections']:,.0f} connections, {row['failures']:,} failures"
        )

    out: list[tuple[str, str, str, str, bool | None]] = []
    for users in map(str, r["users"]):
        shared, base = table["shared"][users], table["shared"][low]
        met = None
        if shared is not None and base is not None:
            met = (
                max(
                    shared["cpu_us_per_request"] / base["cpu_us_per_request"],
                    shared["run_cpu_us_per_request"] / base["run_cpu_us_per_request"],
                )
                <= TARGET_RATIO
            )
        out.append(
            (
                f"generator CPU per request after the ramp / over the whole run (ramp included),"
                f" {int(users):,} users thinking {int(users) / r['rate']:g} s (0.5-1.5x),"
                f" ~{r['rate']:,.0f} req/s offered ({r['command']})",
                cell("shared", users),
                f"before: {cell('before', users)}. Users counted, connections per user: "
                f"{cell('counted', users)}",
                f"both <= {TARGET_RATIO}x the {int(low):,}-user cost",
                met,
            )
        )
    return out


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of one variant at one user count."""
    return {
        "cpu_us_per_request": statistics.median(
            r["cpu_s"] * 1e6 / max(1, r["requests"]) for r in runs
        ),
        "run_cpu_us_per_request": statistics.median(
            r["run_cpu_s"] * 1e6 / max(1, r["run_requests"]) for r in runs
        ),
        "ramp_cpu_us_per_user": statistics.median(r["ramp_cpu_s"] * 1e6 / r["users"] for r in runs),
        "req_per_s": statistics.median(r["requests"] / r["seconds"] for r in runs),
        "failures": sum(r["failures"] for r in runs),
        "connections": statistics.median(r["connections"] for r in runs),
        "per_request": {
            key: statistics.median(r["per_request"][key] for r in runs)
            for key in runs[0]["per_request"]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=list(USERS))
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.port, args.users[0], args.rate, args.seconds)
        return
    result = run(tuple(args.users), rate=args.rate, seconds=args.seconds, rounds=args.rounds)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
