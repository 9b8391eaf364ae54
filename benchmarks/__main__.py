"""`make bench`: run every benchmark and append a dated table to docs/benchmarks.md.

    python -m benchmarks [--quick] [--no-http] [--output docs/benchmarks.md]

Each section states the machine, the Python, the command and the targets of the issue it
measures; medians and ratios come from runs made side by side in the same invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks import bench_http, bench_recording, bench_scrape, bench_sketch


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and rounds")
    parser.add_argument("--no-http", action="store_true", help="skip the wrk comparison")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    samples = 200_000 if args.quick else 1_000_000
    print(f"[1/4] sketch accuracy and observe cost ({samples:,} samples per distribution)")
    sketch = bench_sketch.run(samples=samples)
    print("[2/4] recording path per request")
    recording = bench_recording.run(calls=100_000 if args.quick else 200_000, repeats=9)
    print("[3/4] /metrics scrape, 20 routes x 10 label sets")
    scrape = bench_scrape.run(scrapes=20 if args.quick else 50)
    http = None
    if not args.no_http:
        print(
            "[4/4] hello endpoint under wrk: plain, empty middleware, prometheus_client, loadwatch"
        )
        http = bench_http.run(
            rounds=2 if args.quick else 5, seconds=3 if args.quick else 6, connections=64
        )

    lines = [
        f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, revision {_git_revision()}\n",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- command: `{' '.join(['python -m benchmarks', *sys.argv[1:]])}` (`make bench`)\n",
        "| measure | loadwatch | baseline | target | |",
        "|---|---|---|---|---|",
    ]
    worst = max(
        err
        for dist in sketch["accuracy"].values()
        for err in dist.values()  # type: ignore[attr-defined]
    )
    lines.append(
        f"| sketch max relative error, p50/p95/p99/p99.9, 4 distributions x {samples:,} | "
        f"{worst:.3%} | numpy exact | <= 1.0 % | {_mark(worst <= 0.01)} |"
    )
    observe = float(sketch["observe_us"])  # type: ignore[arg-type]
    lines.append(
        f"| `WindowedSketch.observe` median | {observe:.3f} us | | <= 0.4 us "
        f"| {_mark(observe <= 0.4)} |"
    )
    full = float(recording["loadwatch_full_path_us"])  # type: ignore[arg-type]
    lines.append(
        f"| full recording path per request (histogram + counter + sketch + in-flight), median | "
        f"{full:.3f} us | {float(recording['prometheus_client_full_path_us']):.3f} us "  # type: ignore[arg-type]
        f"(prometheus_client) | <= 0.5 us | {_mark(full <= 0.5)} |"
    )
    text_ms = scrape["loadwatch_text_ms"]["median"]  # type: ignore[index]
    om_ms = scrape["loadwatch_openmetrics_ms"]["median"]  # type: ignore[index]
    base_ms = scrape["prometheus_client_ms"]["median"]  # type: ignore[index]
    lines.append(
        f"| /metrics, 20 routes x 10 label sets: event loop blocked per scrape, median "
        f"(text / OpenMetrics) | {text_ms:.2f} / {om_ms:.2f} ms | {base_ms:.2f} ms "
        f"(generate_latest) | <= 5 ms | {_mark(max(text_ms, om_ms) <= 5)} |"
    )
    if http is not None:
        rps = http["req_per_s"]  # type: ignore[index]
        ratio = http["ratio_to_plain"]  # type: ignore[index]
        lines.append(
            f"| hello endpoint, instrumented / plain throughput ({http['command']}) | "
            f"{ratio['loadwatch']:.3f} ({rps['loadwatch']:,.0f} req/s) | "
            f"plain {rps['plain']:,.0f} req/s, "
            f"empty middleware {ratio['empty']:.3f}, prometheus_client middleware "
            f"{ratio['prometheus']:.3f} | >= 0.92 | {_mark(ratio['loadwatch'] >= 0.92)} |"
        )
    lines.append("")
    lines.append("Sketch relative error by distribution and percentile:\n")
    lines.append("| distribution | p50 | p95 | p99 | p99.9 |")
    lines.append("|---|---|---|---|---|")
    for dist, errors in sketch["accuracy"].items():  # type: ignore[attr-defined]
        lines.append(
            f"| {dist} | "
            + " | ".join(f"{errors[q]:.3%}" for q in ("p50", "p95", "p99", "p99.9"))
            + " |"
        )
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not args.output.exists():
        args.output.write_text(
            "# Benchmarks\n\nAppended by `make bench`; newest last. Absolute times on a shared "
            "2-core machine are noisy: compare the ratios and side-by-side medians.\n"
        )
    with args.output.open("a") as handle:
        handle.write(text)
    print(text)
    print(f"appended to {args.output}")


if __name__ == "__main__":
    main()
