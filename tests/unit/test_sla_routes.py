from collector.conventions import is_sla_error
from collector.sla import DEFAULT_SLA_YAML, default_sla, parse_sla


def test_route_overrides_of_a_service_are_its_routes_only() -> None:
    sla = default_sla()
    overrides = sla.route_overrides("course")
    assert set(overrides) == {"/ai/generate"}
    assert overrides["/ai/generate"] == sla.objectives_for("course", "/ai/generate")
    assert sla.route_overrides("campaign") == {}
    assert sla.route_overrides("unknown-service") == {}


def test_without_a_service_every_services_routes_are_overrides_first_one_wins() -> None:
    text = DEFAULT_SLA_YAML.replace(
        "  course:\n",
        "  campaign:\n    routes:\n      /ai/generate:\n        latency:\n"
        "          percentile: p99\n          threshold: 3s\n  course:\n",
    )
    sla = parse_sla(text)
    overrides = sla.route_overrides()
    assert overrides["/ai/generate"].latency is not None
    assert overrides["/ai/generate"].latency.threshold_s == 3.0
    course = sla.route_overrides("course")["/ai/generate"].latency
    assert course is not None and course.threshold_s == 1.0


def test_an_sla_error_is_a_5xx_or_no_answer_never_a_4xx() -> None:
    assert [is_sla_error(s) for s in (None, 0, 499, 500, 503, 599)] == [True] * 6
    assert [is_sla_error(s) for s in (200, 202, 302, 400, 404, 409, 429)] == [False] * 7
