from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from collector.conventions import duration_buckets
from collector.exposition import (
    CounterFamily,
    Family,
    FamilyCollector,
    GaugeFamily,
    HistogramFamily,
    escape_label_value,
    render,
    wants_openmetrics,
)
from collector.recorder import RequestRecorder
from collector.sla import default_sla

BOUNDS = duration_buckets(default_sla())
LABELS = ("service", "route", "method")


def sample_families() -> list[Family]:
    recorder = RequestRecorder("svc", BOUNDS)
    tricky = recorder.series('/files/{name:.*\\.txt}/"quoted"', "GET")
    plain = recorder.series("/a", "GET")
    recorder.series("/never", "GET")
    for value in (0.01, 0.2, 0.21, 1.0, 3.0):
        plain.record(200, value)
    tricky.record(404, 0.5)
    recorder.fold()
    series = recorder.all_series()
    return [
        HistogramFamily("t_duration_seconds", "Durations.", LABELS, BOUNDS, series),
        CounterFamily(
            "t_requests",
            "Requests.",
            (*LABELS, "code"),
            [((*s.label_values, str(c)), n) for s in series for c, n in s.status_counts.items()],
        ),
        GaugeFamily("t_in_flight", "In flight.", ("service",), [(("svc",), 3)]),
        CounterFamily("t_empty", "No rows.", ("service",), []),
    ]


def by_name(families: list, name: str):  # type: ignore[no-untyped-def]
    return next(f for f in families if f.name == name)


def test_text_format_parses_with_the_reference_parser_and_keeps_every_value() -> None:
    parsed = list(parse_text(render(sample_families(), openmetrics=False)))
    hist = by_name(parsed, "t_duration_seconds")
    buckets = {
        (s.labels["route"], s.labels["le"]): s.value
        for s in hist.samples
        if s.name.endswith("_bucket")
    }
    assert buckets[("/a", "0.2")] == 2
    assert buckets[("/a", "1.0")] == 4
    assert buckets[("/a", "+Inf")] == 5
    assert buckets[('/files/{name:.*\\.txt}/"quoted"', "0.5")] == 1
    counts = {s.labels["route"]: s.value for s in hist.samples if s.name.endswith("_count")}
    assert counts == {"/a": 5, '/files/{name:.*\\.txt}/"quoted"': 1}
    requests = by_name(parsed, "t_requests")
    assert {(s.labels["route"], s.labels["code"], s.value) for s in requests.samples} == {
        ("/a", "200", 5.0),
        ('/files/{name:.*\\.txt}/"quoted"', "404", 1.0),
    }


def test_openmetrics_output_passes_the_strict_openmetrics_parser() -> None:
    text = render(sample_families(), openmetrics=True) + "# EOF\n"
    parsed = list(parse_openmetrics(text))
    assert {f.name for f in parsed} == {"t_duration_seconds", "t_requests", "t_in_flight"}
    assert by_name(parsed, "t_requests").type == "counter"
    assert by_name(parsed, "t_in_flight").samples[0].value == 3


def test_series_without_observations_and_families_without_rows_are_not_rendered() -> None:
    text = render(sample_families(), openmetrics=False)
    assert "/never" not in text
    assert "t_empty" not in text


def test_label_values_are_escaped() -> None:
    assert escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def test_the_registry_adapter_exposes_the_same_numbers_as_the_fast_renderer() -> None:
    families = sample_families()
    registry = CollectorRegistry()
    collector = FamilyCollector(lambda: families)
    registry.register(collector)
    slow = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in parse_text(generate_latest(registry).decode())
        for s in f.samples
    }
    fast = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in parse_text(collector.render_fast(openmetrics=False))
        for s in f.samples
    }
    assert slow == fast
    with collector.skip_in_registry():
        assert b"t_duration_seconds" not in generate_latest(registry)
    assert b"t_duration_seconds" in generate_latest(registry)


def test_openmetrics_is_chosen_only_when_asked_for() -> None:
    assert wants_openmetrics("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3")
    assert not wants_openmetrics("text/plain;version=0.0.4")
    assert not wants_openmetrics(None)
    assert not wants_openmetrics("")
