"""The capacity report: probe figures, the sizing formulas (throughput and Little's law),
the terminal table, and the self-contained HTML charts."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from collector.quantiles import QuantileSketch
from loadtests.options import LoadTestOptions
from runs.capacity_chart import capacity_html
from runs.capacity_probe import probe_options, probe_shape
from runs.capacity_report import (
    ProbeFigures,
    probe_figures,
    probes_table,
    size,
    sizing_text,
    sketch_mean_s,
)
from tests.run_results import make_probe_result, make_result


def probe(rate: float, mean_s: float | None = 0.05, ok: bool = True) -> ProbeFigures:
    return ProbeFigures(rate, rate, 0.1, mean_s, 0.0 if ok else 0.05, ok)


PROBES = [probe(50), probe(100, 0.04), probe(200, 0.08), probe(400, 0.5, ok=False)]


def test_the_sketch_mean_is_within_its_accuracy() -> None:
    sketch = QuantileSketch()
    for value in (0.01, 0.02, 0.03, 0.14):
        sketch.add(value)
    mean = sketch_mean_s(sketch)
    assert mean is not None and mean == pytest.approx(0.05, rel=0.01)
    assert sketch_mean_s(QuantileSketch()) is None


def test_probe_figures_come_from_the_runs_stats() -> None:
    # 1,000 requests over 10 s: nine in ten take 50 ms, one in ten 100 ms.
    stats = make_result().stats
    assert stats is not None
    figures = probe_figures(120.0, stats, True, percentile=0.95)
    assert figures.rate == 120.0 and figures.achieved_rps == pytest.approx(100.0)
    assert figures.latency_s == pytest.approx(0.1, rel=0.01)
    assert figures.mean_s == pytest.approx(0.055, rel=0.01)
    assert figures.error_ratio == 0.0


def test_a_staged_probe_s_figures_are_its_hold_s() -> None:
    # 50 req/s after a 2 s ramp from 0 (50 requests, all 400 ms SLA errors), held 8 s (400
    # requests: nine in ten take 50 ms, one in ten 100 ms); 3 answers come in after the end.
    options = probe_options(
        LoadTestOptions(scenario="course", host="http://127.0.0.1:8101", rate=1.0),
        probe_shape(50.0, from_rps=0.0, probe_s=10.0, ramp_s=2.0),
    )
    result = make_probe_result(options, ramp_s=2.0, late=3)
    assert result.stats is not None and result.verdict is not None
    windows = result.verdict.windows
    assert windows is not None and windows.scope == (1, 2, 3, 4), "not the late answers' (5)"
    figures = probe_figures(50.0, result.stats, True, percentile=0.95, windows=windows)
    assert figures.achieved_rps == pytest.approx(50.0), "400 requests in the 8 s hold"
    assert len(result.stats.windows) == 6
    assert figures.error_ratio == 0.0
    assert figures.latency_s == pytest.approx(0.1, rel=0.01)
    assert figures.mean_s == pytest.approx(0.055, rel=0.01)
    # The whole run's would be another probe: the ramp's slow errors in them.
    whole = probe_figures(50.0, result.stats, True, percentile=0.95)
    assert whole.achieved_rps == pytest.approx(453 / 10)
    assert whole.error_ratio == pytest.approx(50 / 453)
    assert whole.latency_s == pytest.approx(0.4, rel=0.01)


@pytest.mark.parametrize(
    ("recommended", "rps", "users", "think", "throughput_n", "per_instance", "users_n"),
    [
        # 1,000 req/s at 160 each: 6.25 -> 7; users: nearest passing probe is 200 (80 ms).
        (160.0, 1000.0, 10_000, 0.6, 7, 160.0 * 0.68, math.ceil(10_000 / (160.0 * 0.68))),
        # An exact fit needs no extra instance.
        (100.0, 1000.0, None, None, 10, None, None),
        # No think time (a locustfile): users are not sized, throughput still is.
        (80.0, 1000.0, 10_000, None, 13, None, None),
        # Nearest probe to 60 is 50 (50 ms): 60 x 1.05 = 63 users each.
        (60.0, None, 630, 1.0, None, 63.0, 10),
    ],
)
def test_sizing_formulas(
    recommended: float,
    rps: float | None,
    users: int | None,
    think: float | None,
    throughput_n: int | None,
    per_instance: float | None,
    users_n: int | None,
) -> None:
    sizing = size(recommended, PROBES, throughput_rps=rps, concurrent_users=users, think_s=think)
    assert sizing.instances_for_throughput == throughput_n
    if per_instance is None:
        assert sizing.users_per_instance is None
    else:
        assert sizing.users_per_instance == pytest.approx(per_instance)
    assert sizing.instances_for_users == users_n
    assert sizing.instances == max(n for n in (throughput_n, users_n, 0) if n is not None) or None


def test_the_larger_need_is_the_plan_and_the_text_shows_the_formula() -> None:
    sizing = size(160.0, PROBES, throughput_rps=1000.0, concurrent_users=10_000, think_s=0.6)
    assert sizing.instances == sizing.instances_for_users == 92
    text = sizing_text(sizing)
    assert "sizing: throughput 1,000 req/s / 160.0 req/s per instance -> 7 instances" in text
    assert "one instance holds 160.0 req/s x (0.6 s think + 0.08 s response) = 109 users" in text
    assert "plan for 92 instances (the larger need)" in text
    unsized = sizing_text(
        size(160.0, PROBES, throughput_rps=None, concurrent_users=5, think_s=None)
    )
    assert "5 users not sized (no think time: give --think-time" in unsized


def test_the_table_lists_probes_by_rate() -> None:
    lines = probes_table(list(reversed(PROBES)), 0.95).splitlines()
    assert lines[0].split() == [
        "offered",
        "req/s",
        "achieved",
        "req/s",
        "p95",
        "ms",
        "mean",
        "ms",
        "errors",
        "SLA",
    ]
    assert [line.split()[0] for line in lines[1:]] == ["50.0", "100.0", "200.0", "400.0"]
    assert lines[-1].endswith("5.00%  FAIL")


def test_the_page_is_self_contained_with_three_well_formed_charts() -> None:
    page = capacity_html(
        "capacity of http://127.0.0.1:8101 (course)",
        PROBES,
        max_rate=200.0,
        recommended=160.0,
        percentile=0.95,
        latency_limit_s=0.2,
        error_limit=0.01,
        summary=["capacity: 200.0 req/s keeps the SLA"],
    )
    assert not re.search(r"""(src|href)\s*=|@import|url\(|<script""", page)
    charts = re.findall(r"<svg.*?</svg>", page)
    assert len(charts) == 3
    titles = []
    for chart in charts:
        root = ET.fromstring(chart)
        titles.append(root.get("aria-label"))
        labels = [t.text for t in root.iter("text")]
        assert "max 200" in labels and "recommended 160" in labels
        assert len(list(root.iter("circle"))) == 4
    assert titles == ["p95 latency", "error ratio", "achieved rate"]
    assert "SLA 200 ms" in charts[0] and "SLA 1 %" in charts[1]
    assert "<li>capacity: 200.0 req/s keeps the SLA</li>" in page
