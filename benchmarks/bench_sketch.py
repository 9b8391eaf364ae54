"""Accuracy and speed of collector.quantiles on 10^6-sample latency distributions.

Run: ``python -m benchmarks.bench_sketch [--samples 1000000] [--json OUT]``. Takes about 10 s.
Exits 1 if any relative error exceeds the sketch's accuracy (1 %).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from collector.quantiles import QuantileSketch, WindowedSketch

ACCURACY = 0.01
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p99.9": 0.999}
NOW_S = 1_700_000_000.25  # every accuracy sample lands in the same second


def distributions(n: int, seed: int) -> dict[str, np.ndarray]:
    """Latency-like samples in seconds, fixed seed."""
    rng = np.random.default_rng(seed)
    sigma = 1.0
    bimodal_fast = rng.random(n) < 0.8
    return {
        "lognormal": rng.lognormal(math.log(0.05) - sigma**2 / 2, sigma, n),  # mean 50 ms
        "pareto(1.1)": (rng.pareto(1.1, n) + 1.0) * 0.001,  # x_m = 1 ms, infinite variance
        "bimodal": np.where(
            bimodal_fast,
            rng.lognormal(math.log(0.02), 0.3, n),
            rng.lognormal(math.log(0.8), 0.3, n),
        ),
        "constant": np.full(n, 0.1),
    }


def relative_errors(values: np.ndarray, estimate: Callable[[float], float]) -> dict[str, float]:
    exact = np.quantile(values, list(QUANTILES.values()), method="inverted_cdf")
    return {
        name: abs(estimate(q) - float(x)) / float(x)
        for (name, q), x in zip(QUANTILES.items(), exact, strict=True)
    }


def measure_accuracy(samples: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Max relative error of QuantileSketch and WindowedSketch(60) per distribution."""
    results: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        print(f"  feeding {len(values):,} {name} samples ...", flush=True)
        sketch = QuantileSketch(ACCURACY)
        windowed = WindowedSketch(window_s=60, relative_accuracy=ACCURACY)
        add, observe = sketch.add, windowed.observe
        for value in values.tolist():
            add(value)
            observe(value, NOW_S)
        if windowed.window(NOW_S) != sketch or windowed.count(NOW_S) != len(values):
            raise AssertionError(f"{name}: windowed and plain sketches disagree")
        plain = relative_errors(values, sketch.quantile)
        window = relative_errors(values, functools.partial(windowed.quantile, now_s=NOW_S))
        results[name] = {key: max(plain[key], window[key]) for key in QUANTILES}
    return results


def median_us_per_call(
    make_run: Callable[[], Callable[[], None]], calls: int, repeats: int
) -> float:
    """Median over ``repeats`` of the mean time per call in microseconds (loop included)."""
    runs = []
    for _ in range(repeats):
        run = make_run()  # a fresh sketch each repeat
        start = time.perf_counter_ns()
        run()
        runs.append((time.perf_counter_ns() - start) / calls / 1000.0)
    return statistics.median(runs)


def measure_speed(values: list[float], repeats: int) -> dict[str, float]:
    """Per-call cost of the hot paths, fed realistic lognormal latencies."""
    times = [NOW_S + i / 2000 for i in range(len(values))]  # 2,000 calls per second

    def empty_loop() -> Callable[[], None]:
        def run() -> None:
            for _value in values:
                pass

        return run

    def observe_one_second() -> Callable[[], None]:
        observe = WindowedSketch(60, ACCURACY).observe

        def run() -> None:
            for value in values:
                observe(value, NOW_S)

        return run

    def observe_rolling() -> Callable[[], None]:
        observe = WindowedSketch(60, ACCURACY).observe

        def run() -> None:
            for value, now_s in zip(values, times, strict=True):
                observe(value, now_s)

        return run

    def add() -> Callable[[], None]:
        add = QuantileSketch(ACCURACY).add

        def run() -> None:
            for value in values:
                add(value)

        return run

    results: dict[str, float] = {}
    for key, make_run in [
        ("observe_us", observe_one_second),
        ("observe_rolling_us", observe_rolling),
        ("add_us", add),
        ("loop_us", empty_loop),
    ]:
        print(f"  timing {key} ({repeats} x {len(values):,} calls) ...", flush=True)
        results[key] = median_us_per_call(make_run, len(values), repeats)
    return results


def run(
    samples: int = 1_000_000, calls: int = 200_000, repeats: int = 7, seed: int = 20240601
) -> dict[str, object]:
    """Accuracy per distribution and per-call costs, as `make bench` records them."""
    data = distributions(samples, seed)
    accuracy = measure_accuracy(data)
    speed = measure_speed(data["lognormal"][:calls].tolist(), repeats)
    return {"accuracy": accuracy, **speed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples per distribution")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timing repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timing repeats (median taken)")
    parser.add_argument("--seed", type=int, default=20240601, help="numpy random seed")
    parser.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    print(f"Generating {args.samples:,} samples per distribution (seed {args.seed}) ...")
    samples = distributions(args.samples, args.seed)
    print("Accuracy (QuantileSketch and WindowedSketch(window_s=60), same second):")
    accuracy = measure_accuracy(samples)
    print("Speed:")
    timing_values = samples["lognormal"][: args.calls].tolist()
    speed = measure_speed(timing_values, args.repeats)

    print()
    print(f"{'max relative error':<20}" + "".join(f"{name:>10}" for name in QUANTILES))
    worst = 0.0
    for name, errors in accuracy.items():
        print(f"{name:<20}" + "".join(f"{errors[q] * 100:>9.4f}%" for q in QUANTILES))
        worst = max(worst, *errors.values())
    verdict = "PASS" if worst <= ACCURACY else "FAIL"
    print(f"worst {worst * 100:.4f} % (bound {ACCURACY * 100:.1f} %): {verdict}")
    print()
    print(f"WindowedSketch.observe, one second:   {speed['observe_us']:.3f} us/call")
    print(f"WindowedSketch.observe, 2,000 per s:  {speed['observe_rolling_us']:.3f} us/call")
    print(f"QuantileSketch.add:                   {speed['add_us']:.3f} us/call")
    print(f"(empty for-loop overhead, included above: {speed['loop_us']:.3f} us/iteration)")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"accuracy": accuracy, **speed}, out, indent=2, sort_keys=True)
            out.write("\n")
        print(f"wrote {args.json}")
    return 0 if worst <= ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())
