from pathlib import Path

import pytest

from collector.sla import (
    DEFAULT_SLA_YAML,
    AvailabilityObjective,
    LatencyObjective,
    SLAError,
    default_sla,
    find_sla,
    load_sla,
    parse_sla,
    resolve_sla,
)

REPO_SLA = Path(__file__).resolve().parents[2] / "sla.yaml"


def test_the_repository_sla_states_the_mission_objectives() -> None:
    sla = load_sla(REPO_SLA)
    o = sla.objectives
    assert o.latency == LatencyObjective(percentile=0.95, threshold_s=0.2)
    assert o.slow_request_s == 1.0
    assert o.error_rate == 0.01
    assert o.availability == AvailabilityObjective(target=0.999, window_s=30 * 86400)
    assert o.throughput_rps == 1000.0
    assert o.concurrent_users == 10_000


def test_the_built_in_defaults_equal_the_repository_file() -> None:
    assert REPO_SLA.read_text() == DEFAULT_SLA_YAML
    assert default_sla().objectives == load_sla(REPO_SLA).objectives
    assert default_sla().services == load_sla(REPO_SLA).services


def test_a_route_override_changes_only_what_it_names() -> None:
    sla = default_sla()
    generate = sla.objectives_for("course", "/ai/generate")
    assert generate.latency == LatencyObjective(percentile=0.95, threshold_s=1.0)
    assert generate.error_rate == sla.objectives.error_rate
    assert sla.objectives_for("course", "/courses/{course_id}") == sla.objectives
    assert sla.objectives_for("unknown-service") == sla.objectives


def test_a_service_override_is_inherited_by_its_routes() -> None:
    text = DEFAULT_SLA_YAML.replace(
        "  course:\n", "  course:\n    objectives:\n      error_rate: 0.5%\n"
    )
    sla = parse_sla(text)
    assert sla.objectives_for("course").error_rate == 0.005
    assert sla.objectives_for("course", "/ai/generate").error_rate == 0.005
    assert sla.objectives_for("campaign").error_rate == 0.01


def test_latency_thresholds_collect_every_threshold_once() -> None:
    assert default_sla().latency_thresholds_s() == (0.2, 1.0)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "threshold: 200ms",
            "threshold: fast",
            "sla.yaml: objectives.latency.threshold: expected a duration like '200ms', '1s' or "
            "'30d', got 'fast'",
        ),
        (
            "percentile: p95",
            "percentile: high",
            "sla.yaml: objectives.latency.percentile: expected a percentile like 'p95'",
        ),
        (
            "error_rate: 1%",
            "error_rate: 120%",
            "sla.yaml: objectives.error_rate: expected a percentage",
        ),
        (
            "target: 99.9%",
            "target: 100%",
            "objectives.availability.target: expected a percentage strictly",
        ),
        (
            "throughput: 1000/s",
            "throughput: many",
            "objectives.throughput: expected a rate like '1000/s'",
        ),
        (
            "concurrent_users: 10000",
            "concurrent_users: -5",
            "objectives.concurrent_users: expected a whole number",
        ),
        ("  slow_request: 1s", "  slow_requests: 1s", "objectives.slow_requests: unknown field"),
        (
            "threshold: 1s    #",
            "threshold: soon  #",
            "services.course.routes./ai/generate.latency.threshold: expected a duration",
        ),
        (
            "      /ai/generate:",
            "      ai/generate:",
            "expected a route template starting with '/'",
        ),
        ("version: 1", "version: 2", "version: expected 1"),
    ],
)
def test_invalid_files_name_the_field_the_value_and_the_expectation(
    old: str, new: str, message: str
) -> None:
    assert old in DEFAULT_SLA_YAML
    with pytest.raises(SLAError) as info:
        parse_sla(DEFAULT_SLA_YAML.replace(old, new, 1))
    assert message in str(info.value)


def test_a_missing_objective_is_not_judged_and_listed_as_such() -> None:
    text = DEFAULT_SLA_YAML.replace(
        "  error_rate: 1%           # 5xx responses and unhandled exceptions, of all requests\n", ""
    ).replace(
        "  throughput: 1000/s       # the service must sustain at least this request rate\n", ""
    )
    sla = parse_sla(text)
    assert sla.objectives.error_rate is None
    assert sla.objectives.throughput_rps is None
    assert sla.objectives.not_stated() == ["error_rate", "throughput"]
    assert [key for key, _ in sla.objectives.describe()] == [
        "latency",
        "slow_request",
        "availability",
        "concurrent_users",
    ]


def test_a_latency_only_file_is_valid() -> None:
    sla = parse_sla("objectives:\n  latency: {percentile: p99, threshold: 500ms}\n")
    assert sla.objectives.latency is not None
    assert sla.objectives.latency.threshold_s == 0.5
    assert sla.latency_thresholds_s() == (0.5,)
    assert sla.objectives.slow_request_s is None


def test_availability_shorthand_takes_a_30_day_window() -> None:
    sla = parse_sla("objectives:\n  availability: 99.5%\n")
    assert sla.objectives.availability is not None
    assert sla.objectives.availability.target == pytest.approx(0.995)
    assert sla.objectives.availability.window_s == 30 * 86400


def test_a_service_may_state_an_objective_the_defaults_do_not() -> None:
    sla = parse_sla(
        "objectives:\n  error_rate: 1%\n"
        "services:\n  course:\n    objectives:\n      throughput: 50/s\n"
    )
    assert sla.objectives.throughput_rps is None
    assert sla.objectives_for("course").throughput_rps == 50.0
    assert sla.objectives_for("course").error_rate == 0.01


def test_an_override_may_drop_an_objective_with_null() -> None:
    sla = parse_sla(DEFAULT_SLA_YAML + "  campaign:\n    objectives:\n      throughput: null\n")
    assert sla.objectives_for("campaign").throughput_rps is None
    assert sla.objectives_for("course").throughput_rps == 1000.0


@pytest.mark.parametrize("text", ["objectives: {}\n", "objectives:\n  error_rate: null\n"])
def test_a_file_with_no_objective_at_all_is_an_error(text: str) -> None:
    with pytest.raises(SLAError, match="objectives: states no objective"):
        parse_sla(text)


def test_a_half_stated_latency_objective_names_the_missing_field() -> None:
    with pytest.raises(SLAError, match="objectives.latency.percentile: missing required field"):
        parse_sla("objectives:\n  latency: {threshold: 200ms}\n")


def test_yaml_syntax_errors_give_the_line() -> None:
    with pytest.raises(SLAError, match=r"sla.yaml: line 1, column \d+: not valid YAML"):
        parse_sla("objectives: [1")


def test_an_empty_file_is_an_error_not_the_defaults() -> None:
    with pytest.raises(SLAError, match="the file is empty"):
        parse_sla("")


def test_load_names_the_file_in_errors(tmp_path: Path) -> None:
    bad = tmp_path / "custom.yaml"
    bad.write_text(DEFAULT_SLA_YAML.replace("threshold: 200ms", "threshold: fast"))
    with pytest.raises(SLAError, match=r"custom.yaml: objectives.latency.threshold"):
        load_sla(bad)
    with pytest.raises(SLAError, match="no such file"):
        load_sla(tmp_path / "absent.yaml")


def test_the_nearest_sla_file_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "sla.yaml").write_text(
        DEFAULT_SLA_YAML.replace("threshold: 200ms", "threshold: 300ms")
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_sla(nested) == tmp_path / "sla.yaml"
    assert resolve_sla(cwd=nested).objectives.latency == LatencyObjective(0.95, 0.3)


def test_without_any_file_the_built_in_defaults_apply(tmp_path: Path) -> None:
    assert find_sla(tmp_path) is None, "a stray sla.yaml above the temp dir spoils this test"
    assert resolve_sla(cwd=tmp_path).source == "<built-in defaults>"
