"""Dynamic batching vs one prompt per call for the int8 model, at 32 concurrent asyncio callers.

Run: ``python -m benchmarks.bench_inference [--callers 32] [--requests 2000] [--json OUT]
[--blas-threads 1]``. Takes 15-25 s. Exits 1 if batched throughput is below 5x unbatched in
either thread model.

Both paths go through the same ``DynamicBatcher`` (same queue, same thread model), so only
the batch size differs: unbatched is ``max_batch=1, max_wait_s=0`` (every call is
``model.generate([prompt])``), batched is ``max_batch=32, max_wait_s=0.005``. Each of
``callers`` tasks submits one prompt, awaits it, and submits the next, until ``requests``
prompts are done (closed loop); latency is per call, queueing included. Runs alternate
unbatched/batched and each figure is the median of ``REPEATS`` runs; it is done twice:
``process`` inline on the event loop, and in ``asyncio.to_thread``.

The measurement runs in a fresh interpreter whose BLAS thread count is fixed before numpy
loads (default 1, as a service should run; 0 keeps the library default), so the figures do
not depend on what the calling process imported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from reference_services.ai_model import QuantizedModel
from reference_services.batching import BatchStats, DynamicBatcher

REPEATS = 3
MAX_BATCH = 32
MAX_WAIT_S = 0.005
TARGET_RATIO = 5.0
WARMUP_REQUESTS = 128
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_WORDS = (
    "python", "numpy", "course", "lesson", "intro", "advanced", "data", "science", "web",
    "async", "testing", "sql", "statistics", "machine", "learning", "neural", "networks",
    "deploy", "docker", "cloud", "gradient", "descent", "regression", "how", "do", "i", "learn",
    "start", "beginner", "quickly", "practical", "projects", "for", "with", "and", "the",
)  # fmt: skip


def prompts(count: int = 256, seed: int = 7) -> list[str]:
    """Deterministic course-style prompts of 3 to 14 words."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(3, 14))) for _ in range(count)]


def model_cost_ms(model: QuantizedModel, texts: list[str], batch: int, calls: int) -> float:
    """Median milliseconds of ``model.generate`` on ``batch`` prompts (direct, no batcher)."""
    samples = []
    for call in range(calls):
        chunk = [texts[(call * batch + i) % len(texts)] for i in range(batch)]
        start = time.perf_counter()
        model.generate(chunk)
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


@dataclass(frozen=True)
class PathResult:
    """One path's medians: throughput (prompts/s), per-call latency (ms), mean batch size."""

    prompts_per_s: float
    p50_ms: float
    p95_ms: float
    mean_batch_size: float


@dataclass(frozen=True)
class Comparison:
    """Unbatched and batched in one thread model; ratio = median of per-repeat ratios."""

    unbatched: PathResult
    batched: PathResult
    ratio: float


@dataclass(frozen=True)
class Report:
    """One benchmark invocation; ``as_dict()`` is what `make bench` and ``--json`` record."""

    callers: int
    requests: int
    blas_threads: str
    model_1_prompt_ms: float
    model_batch_ms: float
    inline: Comparison
    thread: Comparison

    @property
    def ratio(self) -> float:
        """The worse of the two thread models' ratios."""
        return min(self.inline.ratio, self.thread.ratio)

    def as_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "repeats": REPEATS,
            "max_batch": MAX_BATCH,
            "max_wait_s": MAX_WAIT_S,
            "ratio": self.ratio,
            "target_ratio": TARGET_RATIO,
            "met": self.ratio >= TARGET_RATIO,
        }


async def closed_loop(
    model: QuantizedModel,
    texts: list[str],
    *,
    batched: bool,
    thread: bool,
    callers: int,
    requests: int,
) -> PathResult:
    """One closed-loop run of ``requests`` prompts by ``callers`` tasks."""
    sizes: list[int] = []

    def record(stats: BatchStats) -> None:
        sizes.append(stats.size)

    batcher = DynamicBatcher(
        model.generate,
        max_batch=MAX_BATCH if batched else 1,
        max_wait_s=MAX_WAIT_S if batched else 0.0,
        run_in_thread=thread,
        on_batch=record,
    )
    latencies_s: list[float] = []
    issued = 0

    async def caller() -> None:
        nonlocal issued
        while issued < requests:
            prompt = texts[issued % len(texts)]
            issued += 1
            start = time.perf_counter()
            await batcher.submit(prompt)
            latencies_s.append(time.perf_counter() - start)

    async with batcher:
        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed_s = time.perf_counter() - start
    p50, p95 = np.percentile(latencies_s, [50, 95]) * 1000.0
    return PathResult(requests / elapsed_s, float(p50), float(p95), sum(sizes) / len(sizes))


async def compare(
    model: QuantizedModel, texts: list[str], *, thread: bool, callers: int, requests: int
) -> Comparison:
    """Unbatched then batched, REPEATS times side by side; medians of each figure."""
    runs: dict[bool, list[PathResult]] = {False: [], True: []}
    for batched in runs:  # warm-up: worker thread, BLAS buffers, allocator
        await closed_loop(
            model, texts, batched=batched, thread=thread, callers=callers, requests=WARMUP_REQUESTS
        )
    for _ in range(REPEATS):
        for batched, done in runs.items():
            done.append(
                await closed_loop(
                    model, texts, batched=batched, thread=thread, callers=callers, requests=requests
                )
            )
    ratios = [b.prompts_per_s / u.prompts_per_s for u, b in zip(*runs.values(), strict=True)]
    return Comparison(_median(runs[False]), _median(runs[True]), statistics.median(ratios))


def _median(results: list[PathResult]) -> PathResult:
    return PathResult(
        *(statistics.median(getattr(r, f.name) for r in results) for f in fields(PathResult))
    )


def measure(callers: int = 32, requests: int = 2000) -> Report:
    """Model cost alone, then batched vs unbatched inline and in a thread (~15 s)."""
    model = QuantizedModel.create()
    texts = prompts()
    one_ms = model_cost_ms(model, texts, batch=1, calls=300)
    batch_ms = model_cost_ms(model, texts, batch=MAX_BATCH, calls=60)
    inline, thread = (
        asyncio.run(compare(model, texts, thread=thread, callers=callers, requests=requests))
        for thread in (False, True)
    )
    blas = os.environ.get(BLAS_THREAD_VARIABLES[0], "library default")
    return Report(callers, requests, blas, one_ms, batch_ms, inline, thread)


def run(callers: int = 32, requests: int = 2000, *, blas_threads: int = 1) -> dict[str, object]:
    """``measure()`` in a fresh interpreter with ``blas_threads`` BLAS threads, as a dict.

    The child prints its table; raises RuntimeError if it fails other than by missing the
    target.
    """
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench_inference.json"
        code = _child(callers, requests, blas_threads, out)
        if code not in (0, 1) or not out.exists():
            raise RuntimeError(f"benchmarks.bench_inference child exited with status {code}")
        results: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return results


def _child(callers: int, requests: int, blas_threads: int, out: Path | None) -> int:
    """Run ``main(--in-process)`` in a fresh interpreter with the BLAS threads fixed."""
    env = dict(os.environ)
    for variable in BLAS_THREAD_VARIABLES:
        if blas_threads > 0:
            env[variable] = str(blas_threads)
        else:
            env.pop(variable, None)
    command = [sys.executable, "-m", "benchmarks.bench_inference", "--in-process"]
    command += ["--callers", str(callers), "--requests", str(requests)]
    command += ["--json", str(out)] if out is not None else []
    return subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[1]).returncode


def print_table(report: Report) -> None:
    print(
        f"\nmodel alone: 1 prompt {report.model_1_prompt_ms:.3f} ms, {MAX_BATCH} prompts "
        f"{report.model_batch_ms:.3f} ms "
        f"({MAX_BATCH * report.model_1_prompt_ms / report.model_batch_ms:.1f}x cheaper per prompt)"
    )
    print(
        f"{report.callers} callers, {report.requests:,} prompts per run, "
        f"median of {REPEATS} runs, batched: max_batch {MAX_BATCH}, "
        f"max_wait {MAX_WAIT_S * 1000:g} ms, BLAS threads: {report.blas_threads}\n"
    )
    print(f"{'mode':<8}{'path':<11}{'prompts/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'batch':>8}")
    for mode, comparison in (("inline", report.inline), ("thread", report.thread)):
        for path, row in (("unbatched", comparison.unbatched), ("batched", comparison.batched)):
            print(
                f"{mode:<8}{path:<11}{row.prompts_per_s:>11,.0f}{row.p50_ms:>9.2f}"
                f"{row.p95_ms:>9.2f}{row.mean_batch_size:>8.1f}"
            )
        print(f"{mode:<8}{'ratio':<11}{comparison.ratio:>10.1f}x")
    verdict = "met" if report.ratio >= TARGET_RATIO else "MISSED"
    print(
        f"\nbatched / unbatched throughput, worse mode: {report.ratio:.1f}x "
        f"(target >= {TARGET_RATIO:g}x): {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--callers", type=int, default=32, help="concurrent asyncio callers")
    parser.add_argument("--requests", type=int, default=2000, help="prompts per run")
    parser.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads (0: library default)"
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callers < 1 or args.requests < args.callers or args.blas_threads < 0:
        parser.error("expected --callers >= 1, --requests >= --callers, --blas-threads >= 0")
    if not args.in_process:
        out = Path(args.json).resolve() if args.json else None
        return _child(args.callers, args.requests, args.blas_threads, out)
    print(f"int8 model: {args.callers} callers, {args.requests:,} prompts, inline and in a thread")
    report = measure(callers=args.callers, requests=args.requests)
    print_table(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out_file:
            json.dump(report.as_dict(), out_file, indent=2, sort_keys=True)
            out_file.write("\n")
        print(f"wrote {args.json}")
    return 0 if report.ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
