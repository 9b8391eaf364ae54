"""The course service under load: L1-hit throughput, and p95 at a fixed offered rate.

    python -m benchmarks.bench_services [--seconds 10] [--json OUT]

Seeds 10,000 users and 200 courses (SQLite in a temp dir, and PostgreSQL when reachable
at LOADWATCH_BENCH_DATABASE_URL), starts `loadwatch serve course` as a child process on
127.0.0.1 (one process, uvloop) and measures:
- content, L1 hit: wrk -t1 -c64 throughput over 1,000 warmed keys;
- content, L1 hit: open-model p95 at 1,000 req/s offered;
- progress query with the cache bypassed (`Cache-Control: no-cache`): p95 at 500 req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.course_service import course_service
from benchmarks.openloop import open_loop
from reference_services.seed import seed_course
from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine
from runtime.ports import listening

POSTGRES_URL = os.environ.get(
    "LOADWATCH_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
USERS = 10_000
COURSES = 200
_LUA_KEYS = 1000


async def _seed(url: str) -> float:
    db = Database(make_engine(ServiceSettings.build("course", database_url=url)))
    try:
        report = await seed_course(db, users=USERS, courses=COURSES, reset=True)
    finally:
        await db.close()
    return report.elapsed_s


def _keys(n: int) -> list[tuple[int, int]]:
    rng = random.Random(3)
    return [(rng.randrange(1, COURSES + 1), rng.randrange(1, USERS + 1)) for _ in range(n)]


def _wrk_lua(base: str, keys: list[tuple[int, int]], folder: Path) -> Path:
    paths = ", ".join(f'"/courses/{c}/content?user_id={u}"' for c, u in keys)
    script = folder / "content.lua"
    script.write_text(
        f"local paths = {{{paths}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n"
    )
    return script


def _wrk(base: str, script: Path, seconds: float) -> float:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench_services: wrk is not installed (apt-get install wrk)")
    out = subprocess.run(
        [wrk, "-t1", "-c64", f"-d{seconds:g}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


async def _warm(base: str, keys: list[tuple[int, int]]) -> None:
    await open_loop(
        lambda i: (
            f"{base}/courses/{keys[i % len(keys)][0]}/content?user_id={keys[i % len(keys)][1]}"
        ),
        rate=2000,
        duration_s=len(keys) / 2000,
    )


def _progress_url(base: str) -> Callable[[int], str]:
    rng = random.Random(9)
    return lambda i: f"{base}/users/{rng.randrange(1, USERS + 1)}/progress"


def _measure(database_url: str, seconds: float, with_content: bool) -> dict[str, object]:
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as logs, course_service(database_url, Path(logs)) as base:
        if with_content:
            keys = _keys(_LUA_KEYS)
            asyncio.run(_warm(base, keys))
            with tempfile.TemporaryDirectory() as folder:
                script = _wrk_lua(base, keys, Path(folder))
                _wrk(base, script, 2)
                result["content_l1_wrk_req_per_s"] = _wrk(base, script, seconds)
            print(
                f"  content L1 hit, wrk: {result['content_l1_wrk_req_per_s']:,.0f} req/s",
                flush=True,
            )
            content = asyncio.run(
                open_loop(
                    lambda i: (
                        f"{base}/courses/{keys[i % _LUA_KEYS][0]}/content"
                        f"?user_id={keys[i % _LUA_KEYS][1]}"
                    ),
                    rate=1000,
                    duration_s=seconds,
                )
            )
            result["content_l1_at_1000_rps"] = content.summary()
            print(f"  content L1 hit at 1,000 req/s: {content.summary()}", flush=True)
        progress = asyncio.run(
            open_loop(
                _progress_url(base),
                rate=500,
                duration_s=seconds,
                headers={"Cache-Control": "no-cache"},
            )
        )
        result["progress_at_500_rps"] = progress.summary()
        print(f"  progress (no cache) at 500 req/s: {progress.summary()}", flush=True)
    return result


def run(seconds: float = 10.0) -> dict[str, object]:
    """Figures for SQLite, and PostgreSQL when reachable; JSON-safe."""
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'course.sqlite3'}"
        seed_s = asyncio.run(_seed(sqlite_url))
        print(f"  seeded {USERS:,} users on SQLite in {seed_s:.1f} s", flush=True)
        results["sqlite"] = {"seed_s": round(seed_s, 2), **_measure(sqlite_url, seconds, True)}
    if listening(5432):
        seed_s = asyncio.run(_seed(POSTGRES_URL))
        print(f"  seeded {USERS:,} users on PostgreSQL in {seed_s:.1f} s", flush=True)
        results["postgresql"] = {
            "seed_s": round(seed_s, 2),
            **_measure(POSTGRES_URL, seconds, False),
        }
    else:
        results["postgresql"] = "skipped: PostgreSQL not reachable on 127.0.0.1:5432"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.seconds)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
