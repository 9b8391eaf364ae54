"""`loadwatch loadtest`: orchestrates the Locust processes and judges the run. No locust here.

    result = run_loadtest(from_args(namespace))  # .code: OK, FAILED, USAGE, UNREACHABLE
    show_result(result, options)                 # the edge prints the verdict, writes files

Checks the SLA file and that the target answers (TCP connect + GET, one-line reason within
10 s), then starts `python -m loadtests.process` children in one process group: a local
runner (--workers 0), or a master and N workers on 127.0.0.1; with --role only the master or
only the workers. The master (or local) child prints progress and writes the merged recorder
to a result file; this process summarizes it and applies the gate, returning a
`LoadTestResult`; `show_result` prints the verdict table and writes the reports. Ctrl-C is
forwarded to that child, which stops the run and reports; the whole group is killed on the
way out, so no child outlives the command.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from collector.exit_codes import ExitCode
from collector.sla import SLA, SLAError, default_sla, find_sla, load_sla
from loadtests.dataset import describe_dataset, fit_to_services
from loadtests.gate import Metric, ThresholdResult, Verdict, evaluate
from loadtests.locustfile import check_locustfile
from loadtests.options import (
    DEFAULT_MASTER_PORT,
    LoadTestOptions,
    ProcessRole,
    ProcessSpec,
    Role,
    RunOutcome,
    StopReason,
    UsageError,
    add_arguments,
    from_args,
    record_from_args,
)
from loadtests.prometheus import (
    AGREEMENT_TOLERANCE,
    PrometheusError,
    instance_matcher,
    network_ms,
    p95_agrees,
    server_figures,
)
from loadtests.report import RunInfo
from loadtests.result import LoadTestResult, show_result
from loadtests.scenarios.common import campaign_base_url
from loadtests.stats import RunRecorder, RunStats, steady_part, summarize
from loadtests.worker_count import auto_line
from runtime.ports import free_port
from runtime.processes import ProcessGroup, python_command, terminate_on_sigterm

__all__ = ["check_reachable", "main", "run_loadtest"]

CONNECT_TIMEOUT_S = 2.5
"""Per step of the reachability check (connect, then GET), per host: <= 10 s in all."""
STARTUP_ALLOWANCE_S = 60.0
PROMETHEUS_SETTLE_S = 2.0
"""Seconds waited after a run before asking Prometheus (covers a 1 s scrape interval)."""
"""Start-up (workers connecting) plus stop and final reports, beyond --duration."""


def check_reachable(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """None when `url` accepts a TCP connection and answers GET / with any HTTP status;
    else a one-line reason. Takes at most 2 x `timeout_s` seconds."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except TimeoutError:
        return f"{url} is unreachable: no answer from {host}:{port} within {timeout_s:g} s"
    except OSError as exc:
        return f"{url} is unreachable: cannot connect to {host}:{port} ({exc.strerror or exc})"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":  # Locust does not verify certificates either
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout_s, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException) as exc:
        return f"{url} is unreachable: GET / failed ({exc.__class__.__name__}: {exc})"
    finally:
        connection.close()
    return None


def _resolves_locally(options: LoadTestOptions) -> bool:
    """Whether every target is an IP literal or localhost.

    Then name resolution needs no DNS, and gevent's blocking resolver replaces its
    default, which hands every new connection's getaddrinfo to a thread pool: a quarter
    of a Locust process's CPU while 10,000 users connect.
    """
    urls = [options.host, options.settings.campaign_host]
    return all(_is_local_name(urlsplit(url).hostname or "") for url in urls if url)


def _is_local_name(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _spawn(group: ProcessGroup, spec: ProcessSpec) -> subprocess.Popen[bytes]:
    """Start `python -m loadtests.process` for `spec` in `group`; its output is ours."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    if _resolves_locally(spec.options) and "GEVENT_RESOLVER" not in env:
        env["GEVENT_RESOLVER"] = "block"
    command = python_command("loadtests.process", spec.to_json())
    return group.start(spec.role.value, command, env=env).process


@contextlib.contextmanager
def _children() -> Iterator[ProcessGroup]:
    """A process group for the children; SIGTERM counts as Ctrl-C meanwhile, so the group
    is still stopped when this process is terminated."""
    with terminate_on_sigterm(), ProcessGroup(grace_s=5.0) as group:
        yield group


def _resolve_sla(options: LoadTestOptions, cwd: Path | None) -> tuple[SLA, Path | None]:
    path = options.sla_path or find_sla(cwd if cwd is not None else Path.cwd())
    return (load_sla(path), path) if path is not None else (default_sla(), None)


def _wait_owner(
    owner: subprocess.Popen[bytes],
    workers: list[subprocess.Popen[bytes]],
    deadline_s: float,
    err: TextIO,
) -> str | None:
    """Wait for the master/local child; forward Ctrl-C; None, or why the run was aborted."""
    aborted: str | None = None
    interrupts = 0
    while owner.poll() is None:
        try:
            if time.monotonic() > deadline_s:
                print("loadwatch loadtest: the run did not finish in time", file=err)
                return "did not finish in time"
            if aborted is None:
                for index, worker in enumerate(workers):
                    # exit code 0: the master told it to quit; anything else: it died
                    if worker.poll() not in (None, 0):
                        aborted = f"worker {index + 1} exited with code {worker.returncode}"
                        print(f"loadwatch loadtest: {aborted}; stopping", file=err)
                        owner.send_signal(signal.SIGINT)
                        break
            time.sleep(0.1)
        except KeyboardInterrupt:
            interrupts += 1
            aborted = "interrupted"
            if interrupts > 1:
                return aborted
            print("\nloadwatch loadtest: interrupted; stopping (Ctrl-C again to kill)", file=err)
            owner.send_signal(signal.SIGINT)
    return aborted


def _mark_aborted(verdict: Verdict, failed: Mapping[str, Any]) -> Verdict:
    """The verdict with the threshold that stopped the run (--abort-on-fail) failed; a run
    stopped for its generator's saturation is invalid even if its shorter self is not."""
    note = f"{failed['detail']} (run stopped early by --abort-on-fail)"
    found = False
    results: list[ThresholdResult] = []
    for result in verdict.thresholds:
        if result.name == failed["name"]:
            found = True
            result = replace(result, ok=False, detail=note)
        results.append(result)
    if not found:
        results.append(
            ThresholdResult(
                name=failed["name"],
                metric=Metric(failed["metric"]),
                limit=float(failed["limit"]),
                observed=failed["observed"],
                ok=False,
                unit=failed["unit"],
                detail=note,
            )
        )
    invalid = verdict.invalid
    if not invalid and failed["metric"] == Metric.GENERATOR.value:
        invalid = str(failed["detail"])  # stopped because too little was left to judge
    return replace(verdict, thresholds=tuple(results), passed=False, invalid=invalid)


def _judge(
    options: LoadTestOptions, sla: SLA, outcome: RunOutcome, aborted: str | None = None
) -> LoadTestResult:
    """Summarize the run, apply the gate and (with --prometheus) fetch the server's figures;
    prints nothing. An aborted run (`aborted` says why) exits ABORTED whatever its verdict."""
    stats = summarize(RunRecorder.from_dict(outcome.recorder), duration_s=outcome.duration_s)
    verdict = evaluate(sla, stats, options.gate_options(outcome.closed_ceiling_rps))
    if outcome.abort_threshold is not None:
        verdict = _mark_aborted(verdict, outcome.abort_threshold)
    notes: list[str] = []
    if outcome.worker_requests:
        counts = " + ".join(f"{n:,}" for n in outcome.worker_requests.values())
        notes.append(
            f"merged {len(outcome.worker_requests)} workers: {counts} = {stats.requests:,}"
            f" requests (Locust counted {outcome.locust_requests:,})"
        )
    if outcome.late_requests:
        notes.append(
            f"{outcome.late_requests:,} requests completed while users were being stopped;"
            " not counted (their latency would be the teardown's)"
        )
    saturated = verdict.invalid or ("in some windows" if verdict.saturated_windows else "")
    server, server_line = _server_side(options, sla, outcome, stats, saturated=saturated)
    info = RunInfo(
        scenario=options.scenario,
        host=options.host or "",
        started_at=datetime.fromtimestamp(outcome.started_at_s, UTC).isoformat(),
        model=options.model,
        users=options.users if options.rate is None else None,
        spawn_rate=options.spawn_rate if options.rate is None and not options.stages else None,
        target_rate=options.rate,
        workers=options.workers,
        sla_source=sla.source,
        server=server,
        workers_auto=options.workers_auto,
        stages=options.stages,
    )
    if aborted is not None:
        code = ExitCode.ABORTED
    else:
        code = ExitCode.OK if verdict.passed else ExitCode.FAILED
    return LoadTestResult(
        code, info, stats, verdict, aborted=aborted, notes=tuple(notes), server_line=server_line
    )


def _campaign_host(options: LoadTestOptions) -> list[str]:
    """The campaign service's base URL when the scenario also hits it."""
    if options.host is None or not options.resolved().uses_campaign_host:
        return []
    return [campaign_base_url(options.host, options.settings)]


def _server_side(
    options: LoadTestOptions,
    sla: SLA,
    outcome: RunOutcome,
    stats: RunStats,
    *,
    saturated: str = "",
) -> tuple[dict[str, float | bool | None] | None, str | None]:
    """With --prometheus: the server's p95 and error ratio over the run, the line that shows
    them beside ours,
    the client's network time (`network_ms`) and whether the two p95s agree (`p95_agrees`).
    A disagreement is explained by `saturated` (why or where the generator was saturated,
    in any window) when there is one."""
    if options.prometheus_url is None:
        return None, None
    time.sleep(PROMETHEUS_SETTLE_S)  # let one more scrape see the run's last requests
    end_s = outcome.started_at_s + outcome.duration_s + PROMETHEUS_SETTLE_S
    percentile = sla.objectives.display_percentile
    from_s, client_sketch = steady_part(stats, options.ramp_up_s)
    hosts = [options.host or "", *_campaign_host(options)]
    scope = ""
    try:
        figures = server_figures(
            options.prometheus_url,
            outcome.started_at_s + from_s,
            end_s,
            percentile=percentile,
            matchers=[instance_matcher(hosts)],
        )
        if not figures.requests:  # the scrape targets are named otherwise: every service
            figures = server_figures(
                options.prometheus_url, outcome.started_at_s + from_s, end_s, percentile=percentile
            )
            scope = " (every scraped service: no scrape target is at the load-tested hosts)"
    except PrometheusError as exc:
        return None, f"server side: not available ({exc})"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2%}"

    def client_ms(q: float) -> float | None:
        return client_sketch.quantile(q) * 1000.0 if client_sketch.count else None

    client_p, client_p50 = client_ms(percentile), client_ms(0.5)
    network = None
    if client_p50 is not None and figures.p50_ms is not None:
        network = network_ms(client_p50, figures.p50_ms)
    agrees = None
    if client_p is not None and figures.p95_ms is not None and network is not None:
        agrees = p95_agrees(client_p, figures.p95_ms, network)
    verdict = {None: "", True: "; they agree", False: "; they disagree"}[agrees]
    judged = (
        f" (within {AGREEMENT_TOLERANCE:.0%} plus the client's network time {ms(network)},"
        " its p50 minus the server's)"
        if network is not None
        else ""
    )
    hint = (
        " (no native histogram: is Prometheus running with --enable-feature=native-histograms?)"
        if figures.p95_ms is None and figures.requests
        else ""
    )
    if agrees is False and saturated:
        verdict += ": the client's figure is the generator's (it was saturated)"
    period = f" from {from_s:g}s (after the ramp-up)" if from_s > 0 else ""
    line = (
        f"server side (Prometheus){scope}{period}: p{percentile * 100:g} "
        f"{ms(figures.p95_ms)}{hint}, "
        f"errors {pct(figures.error_rate)}; client side: {ms(client_p)}, "
        f"errors {pct(stats.error_rate)}{verdict}{judged}"
    )
    server = {
        **figures.to_dict(),
        "from_s": from_s,
        "client_p95_ms": client_p,
        "client_p50_ms": client_p50,
        "network_ms": network,
        "p95_agrees": agrees,
    }
    return server, line


def _run_workers(options: LoadTestOptions, err: TextIO) -> ExitCode:
    """--role worker: N worker processes for a master elsewhere; 0 when all end cleanly."""
    port = options.master_port or DEFAULT_MASTER_PORT
    spec = ProcessSpec(
        ProcessRole.WORKER, options, master_host=options.master_host, master_port=port
    )
    with _children() as group:
        workers = [_spawn(group, spec) for _ in range(options.processes)]
        try:
            while any(w.poll() is None for w in workers):
                time.sleep(0.1)
        except KeyboardInterrupt:
            for worker in workers:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signal.SIGINT)
            print("\nloadwatch loadtest: interrupted", file=err)
            return ExitCode.ABORTED
    return ExitCode.OK if all(w.returncode == 0 for w in workers) else ExitCode.ABORTED


def run_loadtest(
    options: LoadTestOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    cwd: Path | None = None,
) -> LoadTestResult:
    """Run one load test as the options say; returns its result (`.code`: the exit code, see
    the module doc). The verdict is not printed and no report is written: pass the result
    to `loadtests.result.show_result` for that.

    Blocks for about --duration seconds plus start-up; prints the opening line to `out`
    (default stdout) and problems to `err` (default stderr) as they happen; `cwd` is where
    the nearest sla.yaml is looked for.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    scenario = options.resolved()
    if not scenario.built_in:  # once here, not once per Locust process
        problem = check_locustfile(scenario.path)
        if problem is not None:
            print(f"loadwatch loadtest: {problem}", file=err)
            return LoadTestResult(ExitCode.USAGE)
    if options.workers_auto is not None:
        print(f"loadwatch loadtest: {auto_line(options.workers_auto)}", file=out, flush=True)
    if options.role is Role.WORKER:
        return LoadTestResult(_run_workers(options, err))
    try:
        sla, sla_path = _resolve_sla(options, cwd)
    except SLAError as exc:
        print(f"loadwatch loadtest: {exc}", file=err)
        return LoadTestResult(ExitCode.USAGE)
    assert options.host is not None
    targets = [options.host]
    if scenario.uses_campaign_host:
        targets.append(campaign_base_url(options.host, options.settings))
    for target in targets:
        reason = check_reachable(target)
        if reason is not None:
            print(f"loadwatch loadtest: {reason}", file=err)
            return LoadTestResult(ExitCode.UNREACHABLE)
    data_line = ""
    if scenario.built_in:
        settings, published = fit_to_services(options.settings, targets)
        options = replace(options, settings=settings)
        data_line = describe_dataset(settings, published) + "\n"
    distributed = options.workers > 0
    port = options.master_port or (
        DEFAULT_MASTER_PORT if options.role is Role.MASTER else free_port()
    )
    load = f"{options.rate:g} req/s" if options.rate else f"{options.users} users"
    if options.stages is not None:
        load = f"stages {options.stages} ({'req/s' if options.rate else 'users'})"
    print(
        f"loadwatch loadtest: {options.scenario} against {options.host}, {options.model} model,"
        f" {load}, {options.duration_s:g} s, {options.workers or 'no'} workers,"
        f" SLA {sla.source}\n{data_line}",
        file=out,
        end="",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="loadwatch-") as folder, _children() as group:
            result = Path(folder) / "result.json"
            owner_spec = ProcessSpec(
                ProcessRole.MASTER if distributed else ProcessRole.LOCAL,
                options,
                sla_path=sla_path,
                result_path=result,
                master_host=options.master_host,
                master_port=port,
            )
            owner = _spawn(group, owner_spec)
            workers = []
            if distributed and options.role is None:
                worker_spec = replace(owner_spec, role=ProcessRole.WORKER, result_path=None)
                workers = [_spawn(group, worker_spec) for _ in range(options.workers)]
            deadline = time.monotonic() + options.duration_s + STARTUP_ALLOWANCE_S
            aborted = _wait_owner(owner, workers, deadline, err)
            if not result.is_file():
                code = owner.poll()
                print(
                    f"loadwatch loadtest: the run produced no result (exit code {code})", file=err
                )
                return LoadTestResult(
                    ExitCode.USAGE if code == ExitCode.USAGE else ExitCode.ABORTED
                )
            outcome = RunOutcome.from_dict(json.loads(result.read_text()))
    except KeyboardInterrupt:  # before the owner could be told, or a second Ctrl-C
        print("\nloadwatch loadtest: interrupted", file=err)
        return LoadTestResult(ExitCode.ABORTED)
    if outcome.stopped in (StopReason.INTERRUPTED, StopReason.WORKERS_LOST) or aborted:
        return _judge(options, sla, outcome, aborted=aborted or outcome.detail)
    return _judge(options, sla, outcome)


def main(argv: list[str] | None = None) -> ExitCode:
    """`python -m loadtests.runner SCENARIO --host URL ...`: the same as `loadwatch loadtest`."""
    parser = argparse.ArgumentParser(
        prog="loadwatch loadtest", description="Run a Locust scenario and judge it by the SLA."
    )
    add_arguments(parser)
    try:
        namespace = parser.parse_args(argv)
        options = from_args(namespace)
        recording = record_from_args(namespace)
        for flag, given in (
            ("--record", recording.record),
            ("--pushgateway", recording.pushgateway_url is not None),
            ("--grafana-url", recording.grafana_url is not None),
        ):
            if given:
                raise UsageError(flag, "only `loadwatch loadtest` records and pushes runs")
    except UsageError as exc:
        print(f"loadwatch loadtest: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return show_result(run_loadtest(options), options)


if __name__ == "__main__":
    sys.exit(main())
