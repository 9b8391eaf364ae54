from loadtests.breakdown import breakdown_text
from loadtests.stats import Outcome, RunRecorder, summarize


def test_the_terminal_shows_top_reasons_with_counts_and_shares_that_add_up() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    for i in range(200):
        recorder.record("GET /a", 0.01, Outcome.SERVED, 0.5)
        if i % 2 == 0:
            recorder.record("GET /a", 0.01, Outcome.UNEXPECTED, 0.5, reason="HTTP 404 Not Found")
        if i % 4 == 0:
            recorder.record("GET /b", 0.01, Outcome.ERROR, 0.5, reason="ConnectionResetError")
        if i % 20 == 0:
            recorder.record(
                "POST /c",
                0.01,
                Outcome.ACCEPTED,
                0.5,
                reason="HTTP 429 Too Many Requests",
                rate_limited=True,
            )
    for i in range(12):
        recorder.record(f"GET /r{i}", 0.01, Outcome.ERROR, 0.5, reason="HTTP 500")
    lines = breakdown_text(summarize(recorder, duration_s=1.0), top=3).splitlines()
    assert lines[0] == (
        "failures by reason: 162 (62 SLA errors: 5xx or no answer;"
        " 100 scenario failures: answers the scenario did not expect)"
    )
    assert lines[1].split() == [
        "100",
        "61.7%",
        "scenario",
        "GET",
        "/a",
        "HTTP",
        "404",
        "Not",
        "Found",
    ]
    assert lines[2].split() == ["50", "30.9%", "SLA", "error", "GET", "/b", "ConnectionResetError"]
    assert lines[3].split()[:2] == ["1", "0.6%"]
    assert lines[4] == "  ... 11 more (route, reason) pairs: 11 failures"
    assert lines[5] == "accepted on purpose (not failures): 10"
    assert lines[6].split() == [
        "10",
        "100.0%",
        "accepted",
        "POST",
        "/c",
        "HTTP",
        "429",
        "Too",
        "Many",
        "Requests",
    ]
    assert lines[7] == "rate-limited (429): 10 requests, not in the latency figures"
    assert lines[8].startswith("100 scenario failures are not SLA errors; many of them")


def test_a_run_of_plain_successes_adds_nothing_after_the_verdict() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    recorder.record("GET /a", 0.01, Outcome.SERVED, 0.5)
    assert breakdown_text(summarize(recorder, duration_s=1.0)) == ""
