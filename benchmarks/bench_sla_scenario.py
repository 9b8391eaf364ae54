"""The SLA scenario itself: 10,000 concurrent users against the course service.

    python -m benchmarks.bench_sla_scenario [--users 10000] [--seconds 60] [--json OUT]

Seeds SQLite (10,000 users, 200 courses), starts `loadwatch serve course` on 127.0.0.1
and runs `loadwatch loadtest course --users 10000 --spawn-rate 1000 --think-time 10s`
(about 1,000 req/s once all users are in) on this same machine, load generator included.
Reports the run's rps, p95, error rate and the gate's verdict (windows after a 15 s
ramp-up are judged too).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from loadwatch.stack import free_port


def run(users: int = 10_000, seconds: float = 60.0) -> dict[str, object]:
    """Figures of one closed-model run; JSON-safe."""
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite+aiosqlite:///{Path(folder) / 'course.sqlite3'}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "loadwatch",
                "seed",
                "--database-url",
                database,
                "--campaigns",
                "10",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        port = free_port()
        service = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadwatch",
                "serve",
                "course",
                "--port",
                str(port),
                "--database-url",
                database,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the course service did not start")
                time.sleep(0.2)
            out = Path(folder) / "run.json"
            spawn_rate = max(1, users // 10)
            command = [
                "loadtest",
                "course",
                "--host",
                f"http://127.0.0.1:{port}",
                "--users",
                str(users),
                "--spawn-rate",
                str(spawn_rate),
                "--think-time",
                "10s",
                "--duration",
                f"{seconds:g}s",
                "--window",
                "10s",
                "--ramp-up",
                "15s",
                "--json",
                str(out),
            ]
            print(f"  loadwatch {' '.join(command)}", flush=True)
            result = subprocess.run(
                [sys.executable, "-m", "loadwatch", *command],
                capture_output=True,
                text=True,
                timeout=seconds + 180,
            )
            print(result.stdout[-2500:], flush=True)
            summary = json.loads(out.read_text())
        finally:
            service.terminate()
            service.wait(timeout=30)
    return {
        "command": "loadwatch " + " ".join(command[:2] + command[4:-2]),
        "exit_code": result.returncode,
        "users": users,
        "rps": summary["rps"],
        "requests": summary["requests"],
        "error_rate": summary["error_rate"],
        "p95_ms": summary["latency_ms"]["p95"],
        "p99_ms": summary["latency_ms"]["p99"],
        "passed": summary["passed"],
        "thresholds": [
            {k: t[k] for k in ("name", "observed", "ok")} for t in summary["thresholds"]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.users, args.seconds)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
