"""Real `LoadTestResult`s built from recorded requests (no Locust), for the runs/ tests."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.exit_codes import ExitCode
from collector.sla import parse_sla
from loadtests.gate import GateOptions, evaluate
from loadtests.options import LoadTestOptions
from loadtests.report import RunInfo
from loadtests.result import LoadTestResult
from loadtests.stats import Outcome, RunRecorder, summarize

STARTED_S = 1_780_000_000.0
SLA = parse_sla(
    "version: 1\nobjectives:\n  latency:\n    percentile: p95\n    threshold: 200ms\n"
    "  error_rate: 1%\n",
    "test-sla.yaml",
)
"""p95 < 200 ms and errors < 1 %: a 50 ms run with no errors passes."""


def make_result(
    *,
    latency_s: float = 0.05,
    failures: int = 0,
    requests: int = 1_000,
    duration_s: float = 10.0,
    scenario: str = "browse",
    host: str = "http://127.0.0.1:8101",
    started_at_s: float = STARTED_S,
    users: int | None = 20,
) -> LoadTestResult:
    """`requests` evenly over `duration_s`; the first `failures` are SLA errors, the rest
    take `latency_s` (every tenth 2 x that); judged by `SLA`."""
    recorder = RunRecorder(started_at_s=started_at_s, window_s=duration_s / 2)
    for i in range(requests):
        at_s = started_at_s + i * duration_s / requests
        recorder.record_users(users or 5, at_s)
        outcome = Outcome.ERROR if i < failures else Outcome.SERVED
        took = latency_s * (2 if i % 10 == 0 else 1)
        recorder.record("GET /courses/{course_id}", took, outcome=outcome, now_s=at_s)
    stats = summarize(recorder, duration_s=duration_s)
    verdict = evaluate(SLA, stats, GateOptions())
    info = RunInfo(
        scenario=scenario,
        host=host,
        started_at=datetime.fromtimestamp(started_at_s, UTC).isoformat(),
        model="closed" if users is not None else "open",
        users=users,
        spawn_rate=10.0 if users is not None else None,
        target_rate=None if users is not None else requests / duration_s,
        workers=0,
        sla_source=SLA.source,
    )
    code = ExitCode.OK if verdict.passed else ExitCode.FAILED
    return LoadTestResult(code, info, stats, verdict)


def make_probe_result(
    options: LoadTestOptions,
    *,
    ramp_s: float,
    ramp_latency_s: float = 0.4,
    hold_latency_s: float = 0.05,
    late: int = 0,
    started_at_s: float = STARTED_S,
) -> LoadTestResult:
    """A staged open-model run of `options` (their --stages, windows and judge window),
    judged by `SLA` through `options.gate_options()`: each request starts on the shape's
    schedule; before `ramp_s` every one is an SLA error answered in `ramp_latency_s`,
    after it each takes `hold_latency_s` (every tenth 2 x that) and is served; `late` more
    are answered half a second after the planned end."""
    stages = options.shape()
    assert stages is not None and options.rate is not None
    recorder = RunRecorder(started_at_s=started_at_s, window_s=options.window_s or 10.0)
    index = 0
    while (at := stages.arrival_s(index)) is not None and at < options.duration_s:
        ramping = at < ramp_s
        took = ramp_latency_s if ramping else hold_latency_s * (2 if index % 10 == 0 else 1)
        outcome = Outcome.ERROR if ramping else Outcome.SERVED
        recorder.record("GET /work", took, outcome=outcome, now_s=started_at_s + at)
        index += 1
    for _ in range(late):
        end_s = started_at_s + options.duration_s
        recorder.record("GET /work", hold_latency_s, outcome=Outcome.SERVED, now_s=end_s + 0.5)
    stats = summarize(recorder, duration_s=options.duration_s)
    verdict = evaluate(SLA, stats, options.gate_options())
    info = RunInfo(
        scenario=options.scenario,
        host=options.host or "",
        started_at=datetime.fromtimestamp(started_at_s, UTC).isoformat(),
        model="open",
        users=None,
        spawn_rate=None,
        target_rate=options.rate,
        workers=0,
        sla_source=SLA.source,
        stages=options.stages,
    )
    code = ExitCode.OK if verdict.passed else ExitCode.FAILED
    return LoadTestResult(code, info, stats, verdict)
