"""`make bench`: run every benchmark and append a dated table to docs/benchmarks.md.

    python -m benchmarks [--quick] [--only NAME ...] [--output docs/benchmarks.md]

Sections: collector (sketch, recording path, scrape, wrk side by side), services (course
L1 throughput and p95 at fixed rates, progress on SQLite and PostgreSQL, batched
inference, parallel publish), loadtests (Locust with and without loadwatch's
recording) and the stream hub (10,000 websocket subscribers). Each row states the target
it checks; medians and ratios come from runs made side by side in the same invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, bool | None]
"""(measure, loadwatch figure, baseline figure, target, met?)."""


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


def _sketch(quick: bool) -> list[Row]:
    from benchmarks import bench_sketch

    samples = 200_000 if quick else 1_000_000
    result: dict[str, Any] = bench_sketch.run(samples=samples)
    worst = max(err for dist in result["accuracy"].values() for err in dist.values())
    observe = float(result["observe_us"])
    cells = "; ".join(
        f"{dist} " + "/".join(f"{errors[q]:.2%}" for q in ("p50", "p95", "p99", "p99.9"))
        for dist, errors in result["accuracy"].items()
    )
    return [
        (
            f"sketch max relative error at p50/p95/p99/p99.9, {samples:,} samples each ({cells})",
            f"{worst:.3%}",
            "numpy exact (inverted_cdf)",
            "<= 1.0 %",
            worst <= 0.01,
        ),
        (
            "`WindowedSketch.observe`, median per call",
            f"{observe:.3f} us",
            "",
            "<= 0.4 us",
            observe <= 0.4,
        ),
    ]


def _recording(quick: bool) -> list[Row]:
    from benchmarks import bench_recording

    r: dict[str, Any] = bench_recording.run(calls=100_000 if quick else 200_000, repeats=9)
    full = float(r["loadwatch_full_path_us"])
    return [
        (
            "recording path per request (histogram + counter + sketch + in-flight), median",
            f"{full:.3f} us",
            f"{r['prometheus_client_full_path_us']:.3f} us (prometheus_client)",
            "<= 0.5 us",
            full <= 0.5,
        ),
    ]


def _scrape(quick: bool) -> list[Row]:
    from benchmarks import bench_scrape

    r: dict[str, Any] = bench_scrape.run(scrapes=20 if quick else 50)
    text, om = r["loadwatch_text_ms"]["median"], r["loadwatch_openmetrics_ms"]["median"]
    proto = r["loadwatch_protobuf_ms"]["median"]
    same = r["loadwatch_protobuf_same_families_ms"]["median"]
    text_changed = r["loadwatch_text_changed_ms"]["median"]
    proto_changed = r["loadwatch_protobuf_changed_ms"]["median"]
    base = r["prometheus_client_ms"]["median"]
    rows: list[Row] = [
        (
            "/metrics for 20 routes x 10 label sets: event loop blocked per scrape, median "
            "(text / OpenMetrics)",
            f"{text:.2f} / {om:.2f} ms",
            f"{base:.2f} ms (generate_latest)",
            "<= 5 ms",
            max(text, om) <= 5,
        ),
        (
            "the same families in protobuf (what text carries), median, same run interleaved",
            f"{same:.2f} ms",
            f"text {text:.2f} ms",
            "<= text",
            same <= text,
        ),
        (
            "the protobuf scrape Prometheus gets with native histograms on (plus the native "
            f"family, {r['protobuf_body_bytes']:,} bytes; text {r['body_bytes']:,} bytes), median",
            f"{proto:.2f} ms ({proto / text:.2f}x)",
            f"text {text:.2f} ms",
            "<= text",
            proto <= text,
        ),
        (
            "the same two scrapes when every series recorded new requests since the previous "
            f"scrape ({bench_scrape.TOUCH} each, folded apart: next row): no series is cached",
            f"{proto_changed:.2f} ms ({proto_changed / text_changed:.2f}x)",
            f"text {text_changed:.2f} ms",
            "<= text",
            proto_changed <= text_changed,
        ),
        (
            f"the fold before each of those scrapes ({bench_scrape.TOUCH} requests into each of "
            "the 200 series: cumulative buckets, status counts, sketch bins, native buckets), "
            "median",
            f"{r['fold_changed_ms']['median']:.2f} ms",
            "",
            "",
            None,
        ),
    ]
    q: dict[str, Any] = bench_scrape.quantile_errors(requests=20_000)
    measure = (
        "Prometheus p95 vs exact p95, lognormal latencies (p95 ~40 ms), "
        "histogram_quantile over the native histogram (schema 6)"
    )
    if not q or q["native_error"] is None:
        rows.append((measure, "not measured (prometheus not installed)", "", "<= 2 %", None))
        return rows
    classic = "-" if q["classic_error"] is None else f"{q['classic_error']:.2%}"
    rows.append(
        (
            f"{measure}, {q['requests']:,} requests, exact {q['exact_p95_ms']:.2f} ms",
            f"{q['native_error']:.2%} ({q['native_p95_ms']:.2f} ms)",
            f"classic buckets {classic} ({q['classic_p95_ms'] or 0:.2f} ms)",
            "<= 2 %",
            q["native_error"] <= 0.02,
        )
    )
    return rows


def _http(quick: bool) -> list[Row]:
    from benchmarks import bench_http

    r: dict[str, Any] = bench_http.run(
        rounds=2 if quick else 5, seconds=3 if quick else 6, connections=64
    )
    rps, ratio, cpu = r["req_per_s"], r["ratio_to_plain"], r["cpu_ratio_to_plain"]
    cpu_us = r["server_cpu_us_per_request"]
    return [
        (
            f"hello endpoint, instrumented / plain throughput ({r['command']})",
            f"{ratio['loadwatch']:.3f} ({rps['loadwatch']:,.0f} req/s)",
            f"plain {rps['plain']:,.0f} req/s; empty middleware {ratio['empty']:.3f}; "
            f"prometheus_client middleware {ratio['prometheus']:.3f}",
            ">= 0.92",
            ratio["loadwatch"] >= 0.92,
        ),
        (
            "hello endpoint, plain / instrumented server CPU per request (the same runs; "
            "CPU-bound, so this is the throughput ratio without neighbour noise)",
            f"{cpu['loadwatch']:.3f} ({cpu_us['loadwatch']:.1f} us/request)",
            f"plain {cpu_us['plain']:.1f} us; empty middleware {cpu['empty']:.3f}; "
            f"prometheus_client middleware {cpu['prometheus']:.3f}",
            ">= 0.92",
            cpu["loadwatch"] >= 0.92,
        ),
    ]


def _services(quick: bool) -> list[Row]:
    from benchmarks import bench_services

    r: dict[str, Any] = bench_services.run(seconds=5 if quick else 10)
    sqlite = r["sqlite"]
    rows: list[Row] = [
        (
            "course content, L1 hit, one process (wrk -t1 -c64 over 1,000 keys)",
            f"{sqlite['content_l1_wrk_req_per_s']:,.0f} req/s",
            "",
            ">= 10,000 req/s",
            sqlite["content_l1_wrk_req_per_s"] >= 10_000,
        ),
        (
            "course content, L1 hit, p95 at 1,000 req/s offered (open model)",
            f"{sqlite['content_l1_at_1000_rps']['p95_ms']:.2f} ms",
            "",
            "< 20 ms",
            sqlite["content_l1_at_1000_rps"]["p95_ms"] < 20,
        ),
        (
            "progress query, 10,000 users, cache bypassed, p95 at 500 req/s: SQLite",
            f"{sqlite['progress_at_500_rps']['p95_ms']:.2f} ms",
            "",
            "< 50 ms",
            sqlite["progress_at_500_rps"]["p95_ms"] < 50,
        ),
        (
            "seed 10,000 users (+ courses, lessons, 30,000 enrollments): SQLite",
            f"{sqlite['seed_s']:.2f} s",
            "",
            "< 10 s",
            sqlite["seed_s"] < 10,
        ),
    ]
    pg = r["postgresql"]
    if isinstance(pg, dict):
        rows.append(
            (
                "progress query, 10,000 users, cache bypassed, p95 at 500 req/s: PostgreSQL",
                f"{pg['progress_at_500_rps']['p95_ms']:.2f} ms",
                "",
                "< 50 ms",
                pg["progress_at_500_rps"]["p95_ms"] < 50,
            )
        )
    else:
        rows.append(("progress query on PostgreSQL", str(pg), "", "< 50 ms", None))
    return rows


def _inference(quick: bool) -> list[Row]:
    from benchmarks import bench_inference

    r: dict[str, Any] = bench_inference.run(callers=32, requests=1000 if quick else 2000)
    inline = r["inline"]
    return [
        (
            "batched inference at 32 concurrent callers, batched / unbatched throughput (inline)",
            f"{inline['ratio']:.1f}x ({inline['batched']['prompts_per_s']:,.0f} prompts/s)",
            f"unbatched {inline['unbatched']['prompts_per_s']:,.0f} prompts/s",
            ">= 5x",
            inline["ratio"] >= 5,
        ),
    ]


def _publish(quick: bool) -> list[Row]:
    bench = importlib.import_module("benchmarks.bench_publish")
    r: dict[str, Any] = bench.run()
    p95 = float(r["latency_ms"]["p95"])
    return [
        (
            f"publish to 5 platforms, 50 ms simulated latency each, p95 ({r['command']})",
            f"{p95:.1f} ms",
            f"serial would be ~{r['serial_estimate_ms']:.0f} ms",
            "< 120 ms",
            p95 < 120,
        ),
    ]


def _locust(quick: bool) -> list[Row]:
    bench = importlib.import_module("benchmarks.bench_locust")
    r: dict[str, Any] = bench.run(seconds=5 if quick else 10)
    rps, cpu = r["req_per_s"], r["cpu_us_per_request"]
    return [
        (
            f"one Locust process with loadwatch's per-request recording ({r['command']})",
            f"{rps['loadwatch']:,.0f} req/s ({r['ratio']:.3f}x; CPU {r['cpu_ratio']:.3f}x)",
            f"plain Locust {rps['plain']:,.0f} req/s ({cpu['plain']:.0f} us CPU/request)",
            ">= 9,000 req/s and >= 0.9x",
            rps["loadwatch"] >= 9000 and r["ratio"] >= 0.9,
        ),
    ]


def _user_cost(quick: bool) -> list[Row]:
    from benchmarks import bench_user_cost

    return bench_user_cost.rows(bench_user_cost.run(seconds=8 if quick else 15))


def _sla_scenario(quick: bool) -> list[Row]:
    from benchmarks import bench_sla_scenario

    r: dict[str, Any] = bench_sla_scenario.run(
        users=2_000 if quick else 10_000, seconds=30 if quick else 60
    )
    ok = r["p95_ms"] is not None and r["p95_ms"] < 200 and r["error_rate"] < 0.01
    verdict = "passed" if r["passed"] else ("INVALID" if r["invalid"] else "failed")
    cpu = r["cpu_ms_per_request"]
    return [
        (
            f"the SLA scenario, {r['users']:,} concurrent users, 9.5 s think time, load "
            f"generator on the same 2 cores ({r['command']})",
            f"p95 {r['p95_ms']:.1f} ms, errors {r['error_rate']:.2%}, {r['rps']:,.0f} req/s, "
            f"gate {verdict}" + (f" ({r['invalid']})" if r["invalid"] else ""),
            "",
            "p95 < 200 ms, errors < 1 %",
            ok and not r["invalid"],
        ),
        (
            "the same run's CPU per request: generator (start-up and ramp included) / course"
            " service / Prometheus; share of the machine's cores the three used over the run",
            f"{cpu['generator']:.2f} / {cpu['service']:.2f} / {cpu['prometheus']:.3f} ms;"
            f" {r['core_share']:.0%} of {r['cores']} cores",
            "",
            f"< {bench_sla_scenario.TARGET_CORE_SHARE:.0%} of the cores",
            r["core_share"] < bench_sla_scenario.TARGET_CORE_SHARE,
        ),
        _agreement_row(r),
    ]


def _livehub(quick: bool) -> list[Row]:
    from benchmarks import bench_livehub, livehub_rows

    n = 2_000 if quick else 10_000
    steady_s = 10 if quick else 20
    old: dict[str, Any] = bench_livehub.run(
        subscribers=n, steady_s=steady_s, fanout=bench_livehub.TRANSPORT, stall=False
    )
    r: dict[str, Any] = bench_livehub.run(subscribers=n, steady_s=steady_s)
    b: dict[str, Any] = bench_livehub.run_baseline(
        subscribers=n, steady_s=steady_s, message_bytes=r["message_bytes"]
    )
    return livehub_rows.rows(n, old, r, b)


def _agreement_row(r: dict[str, Any]) -> Row:
    """Client p95 against the server's Prometheus native-histogram p95 of the same run."""
    measure = "client p95 vs server (Prometheus native histogram) p95, same SLA scenario run"
    if r.get("compared_from_s"):
        measure += f", from {r['compared_from_s']:g} s (after the ramp-up)"
    target = "within 2 % plus the client's network time (its p50 minus the server's)"
    server = r.get("server_p95_ms")
    if server is None:
        return (measure, "not measured (no native histogram from prometheus)", "", target, None)
    network = r.get("network_ms")
    shown = f", network {network:.1f} ms" if network is not None else ""
    return (
        measure,
        f"client {r['client_p95_ms']:.1f} ms",
        f"server {server:.1f} ms{shown}",
        target,
        bool(r["p95_agrees"]),
    )


def _receiver(quick: bool) -> list[Row]:
    from benchmarks import bench_receiver

    r: dict[str, Any] = bench_receiver.run(events=5_000 if quick else 20_000)
    batched, single = r["batched"], r["single"]
    return [
        (
            f"alert receiver on PostgreSQL, notifications of {batched['batch']} alerts, stored "
            f"alert events/s ({r['command']})",
            f"{batched['events_per_s']:,.0f} events/s (p95 {batched['p95_ms']:.0f} ms a post)",
            f"one alert a notification: {single['events_per_s']:,.0f} events/s",
            ">= 1,000 events/s",
            batched["events_per_s"] >= 1000,
        ),
    ]


SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "sketch": _sketch,
    "recording": _recording,
    "scrape": _scrape,
    "http": _http,
    "services": _services,
    "inference": _inference,
    "publish": _publish,
    "locust": _locust,
    "sla_scenario": _sla_scenario,
    "user_cost": _user_cost,
    "receiver": _receiver,
    "livehub": _livehub,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and rounds")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run these only")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    rows: list[Row] = []
    chosen = args.only or list(SECTIONS)
    for n, name in enumerate(chosen, 1):
        print(f"[{n}/{len(chosen)}] {name}", flush=True)
        try:
            rows.extend(SECTIONS[name](args.quick))
        except Exception as exc:  # report and continue: one broken bench must not hide the rest
            traceback.print_exc()
            rows.append((name, f"error: {exc.__class__.__name__}: {exc}", "", "", None))

    lines = [
        f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, revision {_git_revision()}\n",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- command: `python -m benchmarks {' '.join(sys.argv[1:])}`".rstrip()
        + " (`make bench`)\n",
        "| measure | loadwatch | baseline | target | |",
        "|---|---|---|---|---|",
    ]
    for measure, figure, baseline, target, met in rows:
        mark = "" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {measure} | {figure} | {baseline} | {target} | {mark} |")
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not args.output.exists():
        args.output.write_text(
            "# Benchmarks\n\nAppended by `make bench`; newest last. Each run states the machine, "
            "the Python and the command. Absolute times on a shared 2-core machine are noisy: "
            "compare the ratios and the side-by-side medians.\n"
        )
    with args.output.open("a") as handle:
        handle.write(text)
    print(text)
    print(f"appended to {args.output}")


if __name__ == "__main__":
    main()
