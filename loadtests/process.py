"""The Locust process of a load test (imports locust: gevent patches the stdlib here only).

    python -m loadtests.process '<ProcessSpec JSON>'     # started by loadtests.runner

Roles: "local" runs the users itself; "master" waits for `--workers` workers, sends them the
`RunPlan` (a custom message, ahead of Locust's spawn message) and merges the recorder delta
each worker adds to Locust's `report_to_master` payload; "worker" records, reports, and on
stop sends one final report flagged `loadwatch_final`, which the master waits for. The local
or master process prints a progress line every PROGRESS_INTERVAL_S, stops early under
--abort-on-fail, and writes a `RunOutcome` JSON file for the runner.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust.env import Environment

from collector.conventions import LIVE_SNAPSHOT_PATH
from collector.exit_codes import ExitCode
from collector.gc_tuning import settle_heap
from collector.process_stats import ProcessSampler
from collector.sla import SLA, SLAError, default_sla, load_sla
from loadtests.connections import share_connections
from loadtests.gate import (
    ThresholdResult,
    closed_ceiling_rps,
    evaluate,
    failed_beyond_recovery,
)
from loadtests.keepalive import patch_connection_check
from loadtests.live import LiveView
from loadtests.locustfile import LocustfileError
from loadtests.openmodel import CONFIG_ATTR, OpenLoopConfig, OpenModelDriver
from loadtests.options import ProcessRole, ProcessSpec, RunOutcome, StopReason
from loadtests.progress import progress_line
from loadtests.request_events import RequestRecorder, RunPlan
from loadtests.saturation import live_figures
from loadtests.scenarios.common import SETTINGS_ATTR, ScenarioSettings
from loadtests.shaping import describe_shape, load_scenario, record_targets, target_source
from loadtests.spawning import SmoothDispatcher, count_users_by_class, freeze_started_users
from loadtests.stages import parse_stages
from loadtests.stats import RunRecorder, summarize

__all__ = ["RequestRecorder", "RunPlan", "main"]

PROGRESS_INTERVAL_S = 3.0
"""Seconds between progress lines (= Locust's worker report interval)."""
WORKER_CONNECT_TIMEOUT_S = 60.0
FINAL_REPORTS_TIMEOUT_S = 15.0
PLAN_MESSAGE = "loadwatch_plan"


def _environment(spec: ProcessSpec) -> tuple[Any, list[Any]]:
    worker = spec.role is ProcessRole.WORKER  # a --role worker machine may not know the model
    classes, shape = load_scenario(spec.options, owner=not worker)
    env: Any = Environment(
        user_classes=[*classes, OpenModelDriver] if spec.options.rate or worker else classes,
        host=spec.options.host,
        dispatcher_class=SmoothDispatcher,
        shape_class=shape,
    )
    setattr(env, SETTINGS_ATTR, spec.options.settings)
    share_connections(classes)  # as many connections as requests in flight, not users
    env.events.spawning_complete.add_listener(freeze_started_users)
    return env, classes


def _mean_think_s(user_class: Any, env: Any, samples: int = 200) -> float | None:
    """The mean of `samples` draws of a User class's wait_time (seconds), called on a stand-in
    user that has only `environment`; None when it needs more (constant_pacing) or fails."""
    probe = types.SimpleNamespace(environment=env)
    try:
        draws = [float(user_class.wait_time(probe)) for _ in range(samples)]
    except Exception:
        return None
    return sum(draws) / samples


def _apply(env: Any, holder: RequestRecorder, plan: RunPlan) -> None:
    holder.recorder = plan.recorder()
    setattr(env, SETTINGS_ATTR, ScenarioSettings.from_dict(plan.settings))
    if plan.rate_per_process is not None:
        stages = parse_stages(plan.stages) if plan.stages is not None else None
        share = stages.scaled(plan.rate_per_process / stages.peak) if stages else None
        config = OpenLoopConfig(
            plan.rate_per_process, plan.pool_size, holder, share, plan.started_at_s
        )
        setattr(env, CONFIG_ATTR, config)


def _write(path: Path, outcome: RunOutcome) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(outcome.to_dict()))
    os.replace(partial, path)


class _Owner:
    """The local or master process: starts, watches, stops and reports the run."""

    def __init__(self, spec: ProcessSpec, sla: SLA) -> None:
        self.spec = spec
        self.options = spec.options
        self.sla = sla
        self.distributed = spec.role is ProcessRole.MASTER
        self.env, self.classes = _environment(spec)
        self.ceiling_rps = None
        self.target = target_source(self.options, self.env.shape_class)
        own_shape = self.env.shape_class is not None and self.options.stages is None
        if self.options.rate is None and not own_shape:
            think = [(float(c.weight), _mean_think_s(c, self.env)) for c in self.classes]
            self.ceiling_rps = closed_ceiling_rps(self.options.users, think)
        self.gate = self.options.gate_options(self.ceiling_rps)
        self.objectives = sla.objectives_for(self.gate.service)
        self.stop_event = Event()
        self.reason = StopReason.COMPLETED
        self.detail = ""
        self.failed: ThresholdResult | None = None
        self.finals: set[str] = set()
        self.totals: dict[str, int] = {}
        self.late: dict[str, int] = {}
        self.users: dict[str, int] = {}
        self.holder: RequestRecorder | None = None
        self.merged = RunRecorder(started_at_s=time.time())  # replaced when the run starts

    def interrupt(self) -> None:
        if not self.stop_event.is_set():
            self.reason, self.detail = StopReason.INTERRUPTED, "interrupted"
            self.stop_event.set()

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        payload = data.get("loadwatch")
        if payload is None:
            return
        self.merged.merge(RunRecorder.from_dict(payload))
        self.totals[client_id] = int(data["loadwatch_total"])
        self.late[client_id] = int(data.get("loadwatch_late", 0))
        self.users[client_id] = int(data["loadwatch_users"])
        if data.get("loadwatch_final"):
            self.finals.add(client_id)

    def current_users(self, runner: Any) -> int:
        if self.distributed:
            return sum(self.users.values())
        assert self.holder is not None
        return self.holder.take_peak() if self.options.rate is not None else runner.user_count

    def connect(self) -> Any | None:
        """The Locust runner; a master first waits for its workers (None if they do not come)."""
        if not self.distributed:
            return count_users_by_class(self.env.create_local_runner())
        workers, host, port = self.options.workers, self.spec.master_host, self.spec.master_port
        runner = self.env.create_master_runner(host, port)
        self.env.events.worker_report.add_listener(self.on_worker_report)
        deadline = time.monotonic() + WORKER_CONNECT_TIMEOUT_S
        while len(runner.clients.ready) < workers:
            if self.stop_event.wait(0.1) or time.monotonic() > deadline:
                ready = len(runner.clients.ready)
                print(
                    f"loadwatch loadtest: {ready} of {workers} workers connected to {host}:{port}",
                    file=sys.stderr,
                )
                runner.quit()
                return None
        return runner

    def run(self) -> int:
        """Run the load test to its end; the outcome goes to the spec's result file."""
        options = self.options
        env = self.env
        runner = self.connect()
        if runner is None:
            return ExitCode.ABORTED
        plan = RunPlan(
            started_at_s=time.time(),
            window_s=options.window_s or 10.0,
            slow_s=self.objectives.counted_slow_s,
            rate_per_process=options.rate / options.processes if options.rate else None,
            pool_size=options.pool_size(),
            settings=options.settings.to_dict(),
            stages=options.stages if options.rate is not None else None,
        )
        self.merged = plan.recorder()
        probe = None
        if self.distributed:
            runner.send_message(PLAN_MESSAGE, plan.to_dict())
        else:
            self.holder = RequestRecorder(self.merged)
            env.events.request.add_listener(self.holder.on_request)
            env.events.test_stopping.add_listener(self.holder.close)
            _apply(env, self.holder, plan)
            self.merged = self.holder.recorder
            name = _process_name(self.spec.role)
            probe = gevent.spawn(self.holder.sample_generator, name, ProcessSampler())
        if options.rate is not None:
            count, classes = options.processes, [OpenModelDriver]
            starter = gevent.spawn(runner.start, count, float(count), user_classes=classes)
        elif env.shape_class is not None:  # it ends the run when its tick returns None
            env.events.test_stopping.add_listener(lambda **_: self.stop_event.set())
            starter = gevent.spawn(runner.start_shape)
            if options.stages is None:
                print(describe_shape(env.shape_class, options.duration_s), flush=True)
        else:
            starter = gevent.spawn(
                runner.start, options.users, options.spawn_rate, user_classes=self.classes
            )
        live = self.serve_live(runner)
        targets = None
        if self.target is not None:
            users = (lambda: int(runner.user_count)) if options.rate is None else None
            recording = (lambda: self.merged, self.target, plan.started_at_s, users)
            targets = gevent.spawn(record_targets, *recording)
        self.watch(runner, plan.started_at_s)
        stop_at = time.time()
        for greenlet in (probe, targets):
            if greenlet is not None:
                greenlet.kill()
        starter.kill()
        runner.stop()
        if self.distributed:
            self.collect_finals()
        outcome = RunOutcome(
            recorder=self.merged.to_dict(),
            duration_s=max(1e-3, stop_at - plan.started_at_s),
            started_at_s=plan.started_at_s,
            stopped=self.reason,
            detail=self.detail,
            abort_threshold=self.failed.to_dict() if self.failed is not None else None,
            worker_requests=dict(sorted(self.totals.items())),
            locust_requests=int(env.stats.total.num_requests),
            late_requests=self.late_requests(),
            closed_ceiling_rps=self.ceiling_rps,
        )
        if self.spec.result_path is not None:
            _write(self.spec.result_path, outcome)
        live.stop()
        runner.quit()
        return 0

    def late_requests(self) -> int:
        """Requests that completed while users were being stopped, in every process."""
        if self.distributed:
            return sum(self.late.values())
        return self.holder.late if self.holder is not None else 0

    def serve_live(self, runner: Any) -> Any:
        """Serve /live/snapshot on 127.0.0.1 and close a snapshot every second."""
        from gevent.pywsgi import WSGIServer

        view = LiveView()
        sampler = ProcessSampler()

        def tick() -> None:
            while not self.stop_event.is_set():
                gevent.sleep(1.0 - (time.time() % 1.0))
                now_s = time.time()
                view.tick(
                    self.merged, now_s, self.current_live_users(runner), sampler.sample(now_s)
                )

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            if environ.get("PATH_INFO") != LIVE_SNAPSHOT_PATH:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error": "only /live/snapshot is served here"}']
            if view.latest is None:
                start_response("503 Service Unavailable", [("Retry-After", "1")])
                return [b'{"error": "no second has closed yet"}']
            figures = live_figures(self.merged.generator.latest.values())
            snapshot = {**view.latest.to_dict(), "generator": figures}
            body = json.dumps(snapshot, separators=(",", ":")).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]

        server = WSGIServer(("127.0.0.1", self.options.live_port), app, log=None)
        server.start()
        print(
            f"live snapshot: http://127.0.0.1:{server.server_port}{LIVE_SNAPSHOT_PATH}", flush=True
        )
        gevent.spawn(tick)
        return server

    def current_live_users(self, runner: Any) -> int:
        """Users (closed model) or requests in flight (open model), without resetting peaks."""
        if self.distributed:
            return sum(self.users.values())
        return int(runner.user_count)

    def watch(self, runner: Any, started_at_s: float) -> None:
        """Progress lines until the duration is over, a stop is asked for, or (with
        --abort-on-fail) a threshold fails beyond recovery."""
        options = self.options
        deadline_s = started_at_s + options.duration_s
        last_s, last_requests = started_at_s, 0
        while not self.stop_event.is_set():
            self.stop_event.wait(max(0.0, min(PROGRESS_INTERVAL_S, deadline_s - time.time())))
            if self.stop_event.is_set():
                return
            now_s = time.time()
            users = self.current_users(runner)
            self.merged.record_users(users, now_s)
            stats = summarize(self.merged, duration_s=max(1e-3, now_s - started_at_s))
            verdict = evaluate(self.sla, stats, self.gate)
            rps = (stats.requests - last_requests) / max(1e-3, now_s - last_s)
            target = None
            if self.target is not None:  # users now, or req/s over the interval
                since_s = last_s if options.rate is not None else now_s
                target = self.target(since_s - started_at_s, now_s - started_at_s)
            last_s, last_requests = now_s, stats.requests
            line = progress_line(
                elapsed_s=now_s - started_at_s,
                users=users,
                rps=rps,
                stats=stats,
                verdict=verdict,
                percentile=self.objectives.display_percentile,
                model=options.model,
                target=target,
            )
            print(line, flush=True)
            if self.distributed and runner.worker_count < options.workers:
                self.reason = StopReason.WORKERS_LOST
                self.detail = (
                    f"{options.workers - runner.worker_count} worker(s) stopped responding"
                )
                return
            if options.abort_on_fail:
                self.failed = failed_beyond_recovery(
                    self.sla, stats, self.gate, planned_duration_s=options.duration_s
                )
                if self.failed is not None:
                    self.reason, self.detail = StopReason.ABORT_ON_FAIL, self.failed.name
                    print(f"aborting: {self.failed.name}: {self.failed.detail}", flush=True)
                    return
            if now_s >= deadline_s:
                return

    def collect_finals(self) -> None:
        """Wait until every worker's final report (sent after its users stopped) is merged."""
        patience_s = FINAL_REPORTS_TIMEOUT_S
        if self.reason is not StopReason.COMPLETED:  # a worker may be dead: do not wait long
            patience_s = min(patience_s, 3.0)
        deadline = time.monotonic() + patience_s
        while len(self.finals) < self.options.workers and time.monotonic() < deadline:
            gevent.sleep(0.05)
        missing = self.options.workers - len(self.finals)
        if missing > 0:
            print(f"loadwatch loadtest: {missing} worker(s) sent no final report", file=sys.stderr)
            if self.reason is StopReason.COMPLETED:
                self.reason = StopReason.WORKERS_LOST
                self.detail = f"{missing} worker(s) sent no final report"


def _run_worker(spec: ProcessSpec) -> int:
    env, _ = _environment(spec)
    holder = RequestRecorder(RunRecorder(started_at_s=time.time()))
    env.events.request.add_listener(holder.on_request)
    env.events.test_stopping.add_listener(holder.close)
    state: dict[str, RunPlan] = {}
    probes: dict[str, Any] = {}
    runner = count_users_by_class(env.create_worker_runner(spec.master_host, spec.master_port))

    def on_plan(environment: Any, msg: Any, **_: Any) -> None:
        state["plan"] = plan = RunPlan.from_dict(msg.data)
        _apply(env, holder, plan)
        if "probe" not in probes:
            name = _process_name(spec.role)
            probes["probe"] = gevent.spawn(holder.sample_generator, name, ProcessSampler())

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        plan = state.get("plan")
        if plan is None:
            return
        data["loadwatch"] = holder.take().to_dict()
        data["loadwatch_total"] = holder.total
        data["loadwatch_late"] = holder.late
        open_model = plan.rate_per_process is not None
        data["loadwatch_users"] = holder.take_peak() if open_model else runner.user_count

    def on_test_stop(environment: Any, **_: Any) -> None:
        data: dict[str, Any] = {}
        env.events.report_to_master.fire(client_id=runner.client_id, data=data)
        data["loadwatch_final"] = True
        runner.send_message("stats", data)

    def on_signal() -> None:
        runner.send_message("quit")
        runner.quit()

    runner.register_message(PLAN_MESSAGE, on_plan)
    env.events.report_to_master.add_listener(on_report)
    env.events.test_stop.add_listener(on_test_stop)
    handlers = [gevent.signal_handler(n, on_signal) for n in (signal.SIGINT, signal.SIGTERM)]
    runner.greenlet.join()
    for probe in probes.values():
        probe.kill()
    for handler in handlers:
        handler.cancel()
    return 0


def _process_name(role: ProcessRole) -> str:
    """How a generator process is named in the reports: role, host and process id."""
    return f"{role.value} {platform.node()}:{os.getpid()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one argument, the ProcessSpec JSON; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m loadtests.process '<ProcessSpec JSON>'", file=sys.stderr)
        return ExitCode.USAGE
    spec = ProcessSpec.from_json(args[0])
    logging.basicConfig(
        level=logging.WARNING, format=f"loadwatch {spec.role}: %(levelname)s %(message)s"
    )
    settle_heap()  # thousands of users: fewer, cheaper collector pauses inside measurements
    patch_connection_check()  # keep-alive beyond 1,024 sockets
    try:
        if spec.role is ProcessRole.WORKER:
            return _run_worker(spec)
        sla = load_sla(spec.sla_path) if spec.sla_path is not None else default_sla()
        owner = _Owner(spec, sla)
    except (SLAError, LocustfileError) as exc:
        print(f"loadwatch loadtest: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    handlers = [gevent.signal_handler(n, owner.interrupt) for n in (signal.SIGINT, signal.SIGTERM)]
    try:
        return owner.run()
    finally:
        for handler in handlers:
            handler.cancel()


if __name__ == "__main__":
    sys.exit(main())
