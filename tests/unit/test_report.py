from __future__ import annotations

import dataclasses
import html
import json
import re

import pytest

from collector.sla import default_sla
from loadtests.gate import GateOptions, Verdict, evaluate
from loadtests.report import RunInfo, html_report, json_summary
from loadtests.stats import Outcome, RunRecorder, RunStats, summarize

STARTED_S = 1_000.0
COURSE = "GET /courses/{course_id}"
SEARCH = 'GET /search?q=<b>&"x"'
HOST = "http://127.0.0.1:8080/?a=1&b=<2>"
OPEN = RunInfo(
    scenario="browse <script>alert(1)</script>",
    host=HOST,
    started_at="2026-11-26T00:00:00Z",
    model="open",
    users=None,
    spawn_rate=None,
    target_rate=10.0,
    workers=2,
    sla_source="sla.yaml",
)
CLOSED = RunInfo("browse", HOST, "2026-11-26T00:00:00Z", "closed", 7, 1.0, None, 1, "sla.yaml")


def recorded_run(*, open_model: bool = True, requests: int = 300) -> RunStats:
    """30 s at 10 req/s: every 100th request fails, every 50th takes 1.5 s, the rest 50 ms.

    One request in three goes to SEARCH; users step 5, 6, 7 per 10 s window.
    """
    recorder = RunRecorder(started_at_s=STARTED_S, window_s=10.0, slow_s=1.0)
    for i in range(requests):
        at_s = STARTED_S + i * 0.1
        recorder.record_users(5 + i // 100, at_s)
        latency_s = 1.5 if i % 50 == 0 else 0.05
        recorder.record(
            SEARCH if i % 3 == 0 else COURSE,
            latency_s,
            outcome=Outcome.SERVED if i % 100 != 0 else Outcome.ERROR,
            now_s=at_s,
            raw_latency_s=latency_s * 0.9 if open_model else None,
        )
    recorder.record_missed(STARTED_S + 5.0, count=3)
    return summarize(recorder, duration_s=30.0)


def verdict_of(stats: RunStats) -> Verdict:
    options = GateOptions(service="course", offered_rps=10.0, windowed=True, ramp_up_s=10.0)
    return evaluate(default_sla(), stats, options)


STATS = recorded_run()
VERDICT = verdict_of(STATS)


def test_the_json_summary_has_exactly_the_documented_keys() -> None:
    assert set(json_summary(OPEN, STATS, VERDICT)) == {
        "scenario",
        "host",
        "started_at",
        "duration_s",
        "model",
        "users",
        "target_rate",
        "stages",
        "requests",
        "failures",
        "rps",
        "error_rate",
        "latency_ms",
        "latency_raw_ms",
        "missed_starts",
        "endpoints",
        "thresholds",
        "passed",
        "workers",
        "spawn_rate",
        "slow",
        "slow_ratio",
        "windows",
        "server",
        "sla",
        "scenario_failures",
        "accepted",
        "rate_limited",
        "failures_by_reason",
        "accepted_by_reason",
        "generator",
        "invalid",
        "judged",
        "workers_auto",
    }


def test_the_json_summary_states_the_run_counts_and_rates() -> None:
    summary = json_summary(OPEN, STATS, VERDICT)
    assert {k: summary[k] for k in ("scenario", "host", "model", "target_rate", "workers")} == {
        "scenario": OPEN.scenario,
        "host": HOST,
        "model": "open",
        "target_rate": 10.0,
        "workers": 2,
    }
    assert (summary["duration_s"], summary["requests"], summary["failures"]) == (30.0, 300, 3)
    assert (summary["rps"], summary["error_rate"]) == (10.0, 0.01)
    assert (summary["slow"], summary["slow_ratio"], summary["missed_starts"]) == (6, 0.02, 3)
    assert summary["sla"] == "sla.yaml"
    assert summary["server"] is None


def test_latencies_are_in_milliseconds_rounded_to_three_places() -> None:
    summary = json_summary(OPEN, STATS, VERDICT)
    latency, raw = summary["latency_ms"], summary["latency_raw_ms"]
    assert list(latency) == ["p50", "p90", "p95", "p99", "p999", "max"]
    assert latency["p50"] == pytest.approx(50.0, rel=0.01)
    assert latency["p99"] == pytest.approx(1500.0, rel=0.01)
    assert latency["max"] == 1500.0
    assert raw["p50"] == pytest.approx(45.0, rel=0.01)
    for value in [*latency.values(), *raw.values()]:
        assert value == round(value, 3)


def test_a_closed_model_run_has_no_raw_latency() -> None:
    stats = recorded_run(open_model=False)
    summary = json_summary(CLOSED, stats, verdict_of(stats))
    assert summary["latency_raw_ms"] is None
    assert (summary["users"], summary["spawn_rate"], summary["target_rate"]) == (7, 1.0, None)


def test_every_endpoint_carries_the_same_statistics_as_the_run() -> None:
    endpoints = json_summary(OPEN, STATS, VERDICT)["endpoints"]
    assert list(endpoints) == [COURSE, SEARCH]
    search = endpoints[SEARCH]
    assert {k: search[k] for k in ("requests", "failures", "rps", "error_rate", "slow")} == {
        "requests": 100,
        "failures": 1,
        "rps": 3.333,
        "error_rate": 0.01,
        "slow": 2,
    }
    assert search["latency_ms"]["max"] == 1500.0
    assert endpoints[COURSE]["requests"] == 200


def test_windows_list_each_window_with_its_users_and_p95() -> None:
    windows = json_summary(OPEN, STATS, VERDICT)["windows"]
    assert [
        {k: w[k] for k in ("start_s", "requests", "failures", "rps", "users")} for w in windows
    ] == [
        {"start_s": 0.0, "requests": 100, "failures": 1, "rps": 10.0, "users": 5},
        {"start_s": 10.0, "requests": 100, "failures": 1, "rps": 10.0, "users": 6},
        {"start_s": 20.0, "requests": 100, "failures": 1, "rps": 10.0, "users": 7},
    ]
    assert all(w["p95_ms"] == pytest.approx(50.0, rel=0.01) for w in windows)


def test_thresholds_and_the_verdict_come_from_the_gate() -> None:
    summary = json_summary(OPEN, STATS, VERDICT)
    assert summary["thresholds"] == [t.to_dict() for t in VERDICT.thresholds]
    assert [t["ok"] for t in summary["thresholds"]] == [True, False, None, False, True, False]
    assert summary["passed"] is False


def test_server_figures_are_rounded_and_nan_becomes_null() -> None:
    server = {"p95_ms": 180.12345, "error_rate": float("nan"), "p99_ms": None, "p95_agrees": True}
    info = dataclasses.replace(CLOSED, server=server)
    assert json_summary(info, STATS, VERDICT)["server"] == {
        "p95_ms": 180.123,
        "error_rate": None,
        "p99_ms": None,
        "p95_agrees": True,
    }
    assert "<th>Server p95_agrees</th><td>yes</td>" in html_report(info, STATS, VERDICT)


@pytest.mark.parametrize("requests", [300, 0], ids=["full-run", "empty-run"])
def test_the_json_summary_serializes_without_nan(requests: int) -> None:
    stats = recorded_run(requests=requests)
    text = json.dumps(json_summary(OPEN, stats, verdict_of(stats)), allow_nan=False)
    assert json.loads(text)["requests"] == requests


PAGE = html_report(OPEN, STATS, VERDICT)


def svgs(page: str) -> dict[str, str]:
    """Each <svg> of the page by its aria-label."""
    return dict(re.findall(r'<svg [^>]*aria-label="([^"]+)">(.*?)</svg>', page, re.S))


def test_the_html_report_references_nothing_outside_itself() -> None:
    assert PAGE.count(html.escape(HOST)) == 1
    outside = PAGE.replace(html.escape(HOST), "")
    for reference in ("http://", "https://", "//cdn", "<script", "src=", "url(", "@import"):
        assert reference not in outside


def test_every_user_controlled_string_is_escaped() -> None:
    assert HOST not in PAGE and SEARCH not in PAGE and OPEN.scenario not in PAGE
    assert f"<code>{html.escape(SEARCH)}</code>" in PAGE
    assert html.escape(OPEN.scenario) in PAGE
    assert "<b>" not in PAGE


def test_the_html_report_draws_one_svg_per_chart() -> None:
    charts = svgs(PAGE)
    assert PAGE.count("<svg") == 5
    assert list(charts) == [
        "Requests per second",
        "p95 latency",
        "Errors per second",
        "Users",
        "Latency histogram",
    ]
    for title in ("Requests per second", "p95 latency", "Users"):
        points = re.findall(r'<polyline points="([^"]+)"', charts[title])
        assert [len(p.split()) for p in points] == [3]
    assert 'class="limit"' in charts["p95 latency"] and "SLA 200 ms" in charts["p95 latency"]
    assert 'class="limit"' not in charts["Requests per second"]


def test_the_histogram_bars_hold_every_request() -> None:
    bars = re.findall(
        r'class="bar"><title>[^<]*: ([\d,]+)</title>', svgs(PAGE)["Latency histogram"]
    )
    assert len(bars) >= 2
    assert sum(int(count.replace(",", "")) for count in bars) == STATS.requests


def test_the_verdict_rows_are_coloured_by_result() -> None:
    rows = re.findall(r'<tr class="(pass|fail|na)">(.*?)</tr>', PAGE, re.S)
    assert [cls for cls, _ in rows] == ["pass", "fail", "na", "fail", "pass", "fail"]
    for (cls, row), threshold in zip(rows, VERDICT.thresholds, strict=True):
        assert html.escape(threshold.name) in row
        assert {"pass": "PASS", "fail": "FAIL", "na": "n/a"}[cls] in row
    assert '<div class="verdict fail">FAIL</div>' in PAGE


def test_the_route_table_lists_each_endpoint_with_its_percentiles() -> None:
    rows = re.findall(r"<tr><td><code>(.*?)</code></td>(.*?)</tr>", PAGE, re.S)
    assert [name for name, _ in rows] == [html.escape(COURSE), html.escape(SEARCH)]
    search_cells = re.findall(r"<td class=num>(.*?)</td>", rows[1][1])
    assert search_cells[:5] == ["100", "1", "1.00%", "0", "3.3"]
    assert search_cells[-1] == "1,500 ms"


def test_an_empty_run_still_renders_every_chart_with_no_data() -> None:
    stats = recorded_run(requests=0)
    page = html_report(CLOSED, stats, verdict_of(stats))
    assert page.count("<svg") == 5
    assert page.count(">no data</text>") == 5


def reasoned_run() -> RunStats:
    recorder = RunRecorder(started_at_s=STARTED_S, window_s=10.0, slow_s=1.0)
    at_s = STARTED_S + 1.0
    for i in range(100):
        recorder.record(COURSE, 0.05, Outcome.SERVED, at_s)
        if i % 10 == 0:
            recorder.record(COURSE, 0.05, Outcome.ERROR, at_s, reason="HTTP 503 <Unavailable>")
        if i % 4 == 0:
            recorder.record(SEARCH, 0.01, Outcome.UNEXPECTED, at_s, reason="HTTP 404 Not Found")
        if i % 5 == 0:
            recorder.record(SEARCH, 0.01, Outcome.ACCEPTED, at_s, reason="HTTP 409 Conflict")
    return summarize(recorder, duration_s=10.0)


def test_failures_by_reason_add_up_to_the_failures_in_the_json_summary() -> None:
    stats = reasoned_run()
    summary = json_summary(CLOSED, stats, verdict_of(stats))
    assert (summary["failures"], summary["scenario_failures"], summary["accepted"]) == (10, 25, 20)
    assert summary["failures_by_reason"] == [
        {"route": SEARCH, "reason": "HTTP 404 Not Found", "count": 25, "outcome": "unexpected"},
        {"route": COURSE, "reason": "HTTP 503 <Unavailable>", "count": 10, "outcome": "error"},
    ]
    total = sum(r["count"] for r in summary["failures_by_reason"])
    assert total == summary["failures"] + summary["scenario_failures"]
    assert summary["accepted_by_reason"] == [
        {"route": SEARCH, "reason": "HTTP 409 Conflict", "count": 20, "outcome": "accepted"}
    ]


def test_the_html_report_has_a_table_of_failures_by_reason() -> None:
    stats = reasoned_run()
    page = html_report(CLOSED, stats, verdict_of(stats))
    table = page.split("<h2>Failures by reason</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r'<tr class="(\w+)">(.*?)</tr>', table, re.S)
    assert [cls for cls, _ in rows] == ["unexpected", "error", "accepted"]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for _, row in rows]
    assert cells[1] == [
        "SLA error",
        f"<code>{html.escape(COURSE)}</code>",
        "HTTP 503 &lt;Unavailable&gt;",
        "10",
        "28.6%",
    ]
    assert cells[0][3:] == ["25", "71.4%"] and cells[2][3:] == ["20", "100.0%"]
    routes = page.split("<h2>Routes</h2>", 1)[1]
    search_row = re.findall(r"<tr><td><code>(.*?)</code></td>(.*?)</tr>", routes, re.S)[1][1]
    assert re.findall(r"<td class=num>(.*?)</td>", search_row)[:5] == [
        "45",
        "0",
        "0.00%",
        "25",
        "4.5",
    ]
    clean = RunRecorder(started_at_s=STARTED_S)
    clean.record(COURSE, 0.05, Outcome.SERVED, STARTED_S + 1.0)
    clean_stats = summarize(clean, duration_s=10.0)
    assert "Every request was served" in html_report(CLOSED, clean_stats, verdict_of(clean_stats))


def shaped_run() -> RunStats:
    """Ten 1 s windows: the target ramps 0 -> 90 users over 9 s, the users lag it by 10."""
    recorder = RunRecorder(started_at_s=STARTED_S, window_s=1.0)
    for second in range(10):
        recorder.record_target(second * 10.0, STARTED_S + second + 0.5)
        recorder.record_users(max(0, second * 10 - 10), STARTED_S + second + 0.5)
        recorder.record(COURSE, 0.05, Outcome.SERVED, STARTED_S + second + 0.5)
    return summarize(recorder, duration_s=10.0)


def test_windows_carry_the_load_shapes_target_next_to_what_was_achieved() -> None:
    stats = shaped_run()
    staged = dataclasses.replace(CLOSED, users=90, spawn_rate=None, stages="9s:90,1s:90")
    summary = json_summary(staged, stats, verdict_of(stats))
    assert (
        summary["stages"] == "9s:90,1s:90" and json_summary(OPEN, STATS, VERDICT)["stages"] is None
    )
    assert "closed: stages 9s:90,1s:90 (peak 90 users)" in html_report(
        staged, stats, verdict_of(stats)
    )
    windows = summary["windows"]
    assert [w["target"] for w in windows] == [10.0 * i for i in range(10)]
    assert [w["users"] for w in windows] == [0, 0] + [10 * i for i in range(1, 9)]
    assert all(w["target"] is None for w in json_summary(OPEN, STATS, VERDICT)["windows"])


@pytest.mark.parametrize(("info", "chart"), [(CLOSED, "Users"), (OPEN, "Requests per second")])
def test_the_chart_of_what_the_shape_sets_draws_its_target_dashed(
    info: RunInfo, chart: str
) -> None:
    stats = shaped_run()
    charts = svgs(html_report(info, stats, verdict_of(stats)))
    shaped = re.findall(
        r'<polyline points="([^"]+)" stroke="[^"]+" class="target"/>', charts[chart]
    )
    assert [len(p.split()) for p in shaped] == [10] and "target</text>" in charts[chart]
    other = "Requests per second" if chart == "Users" else "Users"
    assert 'class="target"' not in charts[other]
    assert 'class="target"' not in svgs(PAGE)[chart]
