"""The capacity driver: probes through an injected runner (real LoadTestResults), the time
budget on an injected clock, the printed answer and the --json document."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from collector.exit_codes import ExitCode
from loadtests.options import LoadTestOptions
from loadtests.result import LoadTestResult
from runs.capacity_probe import probe_options, probe_shape
from runs.capacity_run import STARTUP_S, CapacityBudget, run_capacity
from tests.run_results import make_probe_result, make_result

OPTIONS = LoadTestOptions(scenario="course", host="http://127.0.0.1:8101", rate=1.0)


class Service:
    """Keeps the SLA up to `knee` req/s, then 5 % of requests fail. Time moves per probe."""

    def __init__(self, knee: float) -> None:
        self.knee, self.now = knee, 0.0
        self.offered: list[tuple[float, float]] = []
        self.probed: list[LoadTestOptions] = []

    def probe(self, options: LoadTestOptions) -> LoadTestResult:
        assert options.rate is not None
        self.offered.append((options.rate, options.duration_s))
        self.probed.append(options)
        self.now += options.duration_s + 2.0
        failures = 0 if options.rate <= self.knee else 50
        return make_result(failures=failures, requests=1_000, users=None)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_driver_finds_the_knee_and_writes_the_json(tmp_path: Path) -> None:
    service, out = Service(knee=130.0), io.StringIO()
    budget = CapacityBudget(
        start_rps=20,
        probe_s=10,
        cooldown_s=3,
        max_duration_s=3600,
        think_s=1.0,
        json_path=tmp_path / "c.json",
        html_path=tmp_path / "c.html",
    )
    code = run_capacity(
        replace(OPTIONS, sla_path=Path(__file__).resolve().parents[2] / "sla.yaml"),
        budget,
        probe=service.probe,
        out=out,
        clock=lambda: service.now,
        sleep=service.sleep,
    )
    assert code == ExitCode.OK
    document = json.loads((tmp_path / "c.json").read_text())
    assert document["bounded"] is True
    assert document["max_rate"] <= 130.0 < document["min_failed_rate"]
    assert (document["min_failed_rate"] - document["max_rate"]) / document["max_rate"] <= 0.05
    assert document["recommended_rate"] == 0.8 * document["max_rate"]
    assert [p["rate"] for p in document["probes"][:4]] == [20, 40, 80, 160]
    assert all(duration == 10 for _, duration in service.offered)
    assert f"capacity: {document['max_rate']:,.1f} req/s keeps the SLA" in out.getvalue()
    # Every probe's figures, and the sizing against the repository's sla.yaml (1,000 req/s,
    # 10,000 users): 104 req/s per instance, each request 55 ms on average (make_result).
    first = document["probes"][0]
    assert first["achieved_rps"] == 100.0 and first["error_ratio"] == 0.0
    assert first["mean_ms"] == pytest.approx(55.0, rel=0.01)
    assert document["recommendation"] == {"rate": 104.0, "headroom": 0.8}
    instances = document["instances"]
    assert instances["for_throughput"] == 10  # ceil(1000 / 104)
    assert instances["users_per_instance"] == pytest.approx(104.0 * 1.055, rel=0.01)
    assert instances["for_users"] == 92 and instances["instances"] == 92  # ceil(10000 / 109.7)
    assert instances["users_formula"].startswith("ceil(concurrent_users / users_per_instance)")
    text = out.getvalue()
    assert "offered req/s  achieved req/s     p95 ms" in text
    assert "sizing: plan for 92 instances (the larger need)" in text
    page = (tmp_path / "c.html").read_text()
    assert page.count("<svg") == 3 and "recommended 104" in page
    assert "each probe: a 2 s ramp from the highest rate that passed" in page


def test_the_search_stops_before_a_probe_would_overrun_the_budget() -> None:
    service, out = Service(knee=1e9), io.StringIO()
    budget = CapacityBudget(start_rps=10, probe_s=20, cooldown_s=5, max_duration_s=100)
    code = run_capacity(
        OPTIONS,
        budget,
        probe=service.probe,
        out=out,
        clock=lambda: service.now,
        sleep=service.sleep,
    )
    assert code == ExitCode.OK
    assert service.now + 5 + 20 + STARTUP_S > 100, "one more probe would not have fit"
    assert service.now <= 100
    assert "time budget (100 s) reached" in out.getvalue()
    assert "(no probe failed: it holds at least this)" in out.getvalue()


def test_a_first_probe_that_fails_exits_1() -> None:
    service, out = Service(knee=1.0), io.StringIO()
    code = run_capacity(
        OPTIONS,
        CapacityBudget(start_rps=50),
        probe=service.probe,
        out=out,
        clock=lambda: service.now,
        sleep=service.sleep,
    )
    assert code == ExitCode.FAILED
    assert "even 50 req/s broke the SLA" in out.getvalue()


def test_a_probe_that_cannot_run_ends_the_search_with_its_code() -> None:
    out = io.StringIO()
    code = run_capacity(
        OPTIONS, CapacityBudget(), probe=lambda _: LoadTestResult(ExitCode.UNREACHABLE), out=out
    )
    assert code == ExitCode.UNREACHABLE
    assert "could not run" in out.getvalue()


def test_each_probe_ramps_from_the_highest_passing_rate_and_is_judged_over_its_hold() -> None:
    service = Service(knee=130.0)
    budget = CapacityBudget(start_rps=20, probe_s=10, cooldown_s=3, max_duration_s=3600)
    run_capacity(
        OPTIONS,
        budget,
        probe=service.probe,
        out=io.StringIO(),
        clock=lambda: service.now,
        sleep=service.sleep,
    )
    rates = [rate for rate, _ in service.offered]
    assert rates[:6] == [20, 40, 80, 160, 120, 140]
    # 160 failed: the probe at 120 ramps from 80 (the highest pass), not from 160; 140
    # ramps from 120, which passed.
    ramps_from = [0.0, 20.0, 40.0, 80.0, 80.0, 120.0]
    for options, rate, start in zip(service.probed[:6], rates[:6], ramps_from, strict=True):
        shape = probe_shape(rate, from_rps=start, probe_s=10.0)
        assert options == probe_options(OPTIONS, shape)
        assert (options.stages, options.judge_from_s, options.window_s) == (
            shape.stages.spec,
            2.0,
            2.0,
        )


def test_the_report_shows_each_probe_s_hold(tmp_path: Path) -> None:
    # The ramp (2 s) of every probe is slow SLA errors, its hold fast: the search judges
    # and reports the holds, so it finds no failing rate and every figure is the hold's.
    def probe(options: LoadTestOptions) -> LoadTestResult:
        return make_probe_result(options, ramp_s=2.0)

    budget = CapacityBudget(start_rps=50, probe_s=10, max_probes=2, json_path=tmp_path / "c.json")
    out = io.StringIO()
    assert run_capacity(OPTIONS, budget, probe=probe, out=out, sleep=lambda _: None) == 0
    document = json.loads((tmp_path / "c.json").read_text())
    assert (document["ramp_s"], document["hold_s"]) == (2.0, 8.0)
    first, second = document["probes"]
    assert (first["ramp_from_rps"], second["ramp_from_rps"]) == (0.0, 50.0)
    for probed in (first, second):
        assert probed["passed"] and probed["error_ratio"] == 0.0
        assert probed["achieved_rps"] == pytest.approx(probed["rate"])
        assert probed["latency_ms"] == pytest.approx(100.0, rel=0.01)
        assert (probed["ramp_s"], probed["hold_s"]) == (2.0, 8.0)
    assert out.getvalue().startswith("each probe: a 2 s ramp from the highest rate that passed")


def test_without_a_ramp_each_probe_steps_to_its_rate_and_is_judged_whole() -> None:
    service, out = Service(knee=1e9), io.StringIO()
    budget = CapacityBudget(start_rps=20, probe_s=10, ramp_s=0, max_probes=2)
    run_capacity(OPTIONS, budget, probe=service.probe, out=out, sleep=service.sleep)
    assert [o.stages for o in service.probed] == ["0ms:20,10000ms:20", "0ms:40,10000ms:40"]
    assert all((o.judge_from_s, o.judge_until_s) == (0.0, None) for o in service.probed)
    assert out.getvalue().startswith("each probe: 10 s at its rate, all of it judged\n")
