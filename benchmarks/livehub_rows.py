"""The stream hub benchmark's rows for docs/benchmarks.md: the new fan-out's figures beside
the earlier fan-out's and websockets' `broadcast()`, each row with its target (pure)."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_livehub import (
    TARGET_CPU_PERCENT,
    TARGET_KIB_PER_SUBSCRIBER,
    TARGET_LAG_P99_MS,
)

__all__ = ["rows"]

Row = tuple[str, str, str, str, bool | None]


def rows(n: int, old: dict[str, Any], r: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    """`n` subscribers; `old`: the earlier fan-out's run, `r`: the hub's, `b`: the baseline's
    (`bench_livehub.run` / `run_baseline` results)."""
    lag, stalled = r["lag_ms"], r["stalled"]
    loads = r["load_average_1m"]
    where = (
        f"{n:,} websocket subscribers at 1 Hz, {r['message_bytes']:,}-byte messages, clients "
        f"in {r['client_processes']} processes, "
        f"1-min load average {loads['min']:.1f}-{loads['max']:.1f} ({r['command']})"
    )
    # The stalled reader must not delay the others: a rise in their lag p99 (the percentile
    # the lag target is stated in) over the windows before and after the stall counts; a
    # fall does not. The p50 is shown beside it: at 60-80 ms it moves +-15 % between two
    # 20 s windows on this machine by itself.
    change = stalled["p99_change"]
    return [
        (
            f"stream hub delivery lag p50 / p99 (kernel arrival at the subscriber's socket), "
            f"{where}",
            f"{lag['p50']:.0f} / {lag['p99']:.0f} ms",
            f"read by the client processes: {r['read_lag_ms']['p50']:.0f} / "
            f"{r['read_lag_ms']['p99']:.0f} ms; "
            f"websockets broadcast(): {b['lag_ms']['p50']:.0f} / {b['lag_ms']['p99']:.0f} ms "
            f"(load {b['load_average_1m']['min']:.1f}-{b['load_average_1m']['max']:.1f}); "
            f"hub fan-out {r['hub_fanout_ms']['median']:.0f} ms wall, "
            f"{r['hub_fanout_cpu_ms']['median']:.0f} ms CPU; the earlier transport.write "
            f"fan-out right before: {old['lag_ms']['p50']:.0f} / {old['lag_ms']['p99']:.0f} ms, "
            f"fan-out {old['hub_fanout_ms']['median']:.0f} ms wall, "
            f"{old['hub_fanout_cpu_ms']['median']:.0f} ms CPU (load "
            f"{old['load_average_1m']['min']:.1f}-{old['load_average_1m']['max']:.1f})",
            "p99 < 250 ms",
            lag["p99"] < TARGET_LAG_P99_MS,
        ),
        (
            "stream hub CPU, % of one core, same run",
            f"{r['hub_cpu_percent']:.1f} %",
            f"earlier fan-out: {old['hub_cpu_percent']:.1f} %; "
            f"websockets broadcast(): {b['cpu_percent']:.1f} %",
            "< 25 %",
            r["hub_cpu_percent"] < TARGET_CPU_PERCENT,
        ),
        (
            "stream hub RSS per subscriber, same run",
            f"{r['kib_per_subscriber']:.1f} KiB",
            f"{r['hub_rss_bytes'] / 2**20:.0f} MiB in all; websockets broadcast(): "
            f"{b['kib_per_subscriber']:.1f} KiB",
            "< 30 KiB",
            r["kib_per_subscriber"] < TARGET_KIB_PER_SUBSCRIBER,
        ),
        (
            "every subscriber got every message (fewest receivers of one message)",
            f"{r['fewest_receivers_per_message']:,}",
            "",
            f"{n:,}",
            r["fewest_receivers_per_message"] == n,
        ),
        (
            "a subscriber that stops reading: dropped after; lag p50 / p99 of the others meanwhile",
            f"{stalled['dropped_after_s']:.0f} s; {stalled['lag_ms']['p50']:.0f} / "
            f"{stalled['lag_ms']['p99']:.0f} ms ({stalled['p50_change']:+.0%} / "
            f"{stalled['p99_change']:+.0%})",
            f"before and after it: {stalled['around_lag_ms']['p50']:.0f} / "
            f"{stalled['around_lag_ms']['p99']:.0f} ms; fan-out CPU meanwhile "
            f"{stalled['hub_fanout_cpu_ms']['median']:.0f} ms "
            f"(steady {r['hub_fanout_cpu_ms']['median']:.0f} ms)",
            "dropped; others' lag p99 not over 10 % higher",
            stalled["hub_dropped_total"] == 1 and change <= 0.10,
        ),
    ]
