from collector.process_stats import ProcessSample
from collector.snapshot import Snapshot
from loadtests.live import LiveView
from loadtests.stats import Outcome, RunRecorder

PROCESS = ProcessSample(cpu_percent=12.5, rss_bytes=1 << 20)


def test_each_tick_reports_only_the_requests_since_the_previous_one() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    view = LiveView()
    for _ in range(30):
        recorder.record("GET /a", 0.010, outcome=Outcome.SERVED, now_s=0.5)
    first = view.tick(recorder, 1.0, users=7, process=PROCESS)
    for _ in range(10):
        recorder.record("GET /a", 0.300, outcome=Outcome.ERROR, now_s=1.5)
    second = view.tick(recorder, 2.0, users=7, process=PROCESS)
    assert (first.requests, first.errors) == (30, 0)
    assert (second.requests, second.errors) == (10, 10)
    assert second.latency_1s.count == 10
    assert abs(second.latency_1s.quantile(0.5) - 0.300) <= 0.003
    assert second.latency_60s.count == 40
    assert second.in_flight == 7 and second.service == "loadtest"


def test_an_idle_second_is_empty_and_the_window_forgets_after_it_fills() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    view = LiveView(window_s=2)
    recorder.record("GET /a", 0.01, outcome=Outcome.SERVED, now_s=0.1)
    view.tick(recorder, 1.0, users=1, process=PROCESS)
    idle = view.tick(recorder, 2.0, users=1, process=PROCESS)
    assert idle.requests == 0 and idle.latency_1s.count == 0
    assert idle.latency_60s.count == 1
    later = view.tick(recorder, 3.0, users=1, process=PROCESS)
    assert later.latency_60s.count == 0


def test_snapshots_round_trip_like_the_services_ones() -> None:
    recorder = RunRecorder(started_at_s=0.0)
    recorder.record("GET /a", 0.02, outcome=Outcome.SERVED, now_s=0.2)
    snapshot = LiveView().tick(recorder, 1.0, users=3, process=PROCESS)
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot
