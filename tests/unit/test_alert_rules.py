"""alert_rules: burn-rate thresholds, alert metadata, configuration, determinism (pure)."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from alert_rules.alerts import all_alerts
from alert_rules.generate import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_FILE, generate
from alert_rules.slo import BURN_ALERTS, Severity, Slo, budget_of, unreachable_alerts
from alert_rules.templates import humanize, humanize_duration, humanize_percentage
from collector import conventions as names
from collector.sla import DEFAULT_SLA_YAML, default_sla, parse_sla

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"course": "127.0.0.1:8101"}


def rules_of(files: dict[str, str]) -> dict[str, dict[str, object]]:
    """Alert name -> rule of the default scope (or the operational group)."""
    groups = yaml.safe_load(files[RULES_FILE])["groups"]
    found: dict[str, dict[str, object]] = {}
    for group in groups:
        if group["name"] in ("loadwatch-slo-default", "loadwatch-operations"):
            found.update({rule["alert"]: rule for rule in group["rules"]})
    return found


def test_the_burn_rate_table_is_the_sre_workbooks() -> None:
    rows = [(a.factor, a.long, a.short, a.severity) for a in BURN_ALERTS]
    assert rows == [
        (14.4, "1h", "5m", Severity.PAGE),
        (6.0, "6h", "30m", Severity.PAGE),
        (3.0, "1d", "2h", Severity.TICKET),
        (1.0, "3d", "6h", Severity.TICKET),
    ]


def test_thresholds_are_the_budget_times_the_burn_rate_rounded() -> None:
    rules = rules_of(generate(default_sla(), TARGETS))
    expected = {"1h": "0.0144", "6h": "0.006", "1d": "0.003", "3d": "0.001"}
    for window, threshold in expected.items():
        expr = str(rules[f"AvailabilityBudgetBurn{window}"]["expr"])
        assert expr.count(f"> {threshold}") == 2, expr
    latency = {"1h": "0.72", "6h": "0.3", "1d": "0.15", "3d": "0.05"}
    for window, threshold in latency.items():
        assert f"> {threshold} and" in str(rules[f"LatencyBudgetBurn{window}"]["expr"])


def test_no_threshold_carries_float_noise() -> None:
    text = generate(default_sla(), TARGETS)[RULES_FILE]
    assert not re.search(r"\d\.\d*(0000000|9999999)\d", text)


def test_a_different_sla_gives_its_own_thresholds() -> None:
    sla = parse_sla(
        DEFAULT_SLA_YAML.replace("p95 ", "p99 ")
        .replace("threshold: 200ms", "threshold: 500ms")
        .replace("99.9%", "99.5%")
    )
    rules = rules_of(generate(sla, TARGETS))
    assert "> 0.072 and" in str(rules["AvailabilityBudgetBurn1h"]["expr"])  # 14.4 x 0.5 %
    assert "> 0.144 and" in str(rules["LatencyBudgetBurn1h"]["expr"])  # 14.4 x 1 %
    assert 'le="0.5"' in generate(sla, TARGETS)[RULES_FILE]


def test_every_alert_has_severity_summary_live_value_and_a_runbook_section() -> None:
    runbook = (ROOT / "docs" / "runbooks.md").read_text()
    headings = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    alerts = all_alerts(default_sla())
    assert len({a.name for a in alerts}) == 17
    for alert in alerts:
        rule = alert.rule("docs/runbooks.md")
        labels, annotations = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in {"page", "ticket"}
        assert annotations["summary"]
        assert "{{ $value" in annotations["description"], alert.name
        anchor = annotations["runbook_url"].split("#")[1]
        assert anchor in headings, f"docs/runbooks.md has no section for {alert.name}"


def test_slo_alerts_carry_the_service_from_their_expression() -> None:
    for alert in all_alerts(default_sla()):
        if alert.scope is not None:
            assert names.LABEL_SERVICE + "=" in alert.expr or "service!=" in alert.expr
            assert alert.labels[names.LABEL_SLO_SCOPE] == alert.scope.name


def test_an_objective_too_low_for_a_page_is_reported_and_not_generated() -> None:
    sla = parse_sla(DEFAULT_SLA_YAML.replace("99.9%", "90%"))
    [message] = unreachable_alerts(sla)[:1]
    assert message.startswith("objectives.availability: an error budget of 0.1 (10.00%)")
    assert "page at 14.4x over 1h (144% bad)" in message
    assert "page at 6x" not in message  # 60 % errors can happen: that page stays
    names_ = {a.name for a in all_alerts(sla) if a.scope is not None and a.scope.service is None}
    assert "AvailabilityBudgetBurn1h" not in names_
    assert "AvailabilityBudgetBurn6h" in names_
    assert unreachable_alerts(default_sla()) == []


def test_an_objective_left_out_gives_no_rule() -> None:
    sla = default_sla()
    # The model requires every objective today; the generator already skips an absent one.
    objectives = replace(sla.objectives, availability=None)  # type: ignore[arg-type]
    without = replace(sla, objectives=objectives, services={})
    assert budget_of(without.objectives, Slo.AVAILABILITY) is None
    found = {a.name for a in all_alerts(without)}
    assert not any(name.startswith("Availability") for name in found)
    assert "LatencyBudgetBurn1h" in found


def test_generation_is_deterministic_and_labelled() -> None:
    first, second = generate(default_sla(), TARGETS), generate(default_sla(), TARGETS)
    assert first == second
    for text in first.values():
        assert text.startswith("# generated from <built-in defaults> by `loadwatch rules`")


def test_prometheus_scrapes_the_services_loads_the_rules_and_alerts() -> None:
    config = yaml.safe_load(generate(default_sla(), TARGETS)[PROMETHEUS_FILE])
    assert config["rule_files"] == [RULES_FILE]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    services = config["scrape_configs"][0]
    assert services["honor_labels"] is True  # the services' own `service` label is kept
    scraped = {c["labels"]["service"]: c["targets"] for c in services["static_configs"]}
    assert scraped["course"] == ["127.0.0.1:8101"]


def test_alertmanager_routes_by_severity_and_inhibits_lower_burn_alerts() -> None:
    config = yaml.safe_load(generate(default_sla(), TARGETS)[ALERTMANAGER_FILE])
    routes = {tuple(r["matchers"]): r["receiver"] for r in config["route"]["routes"]}
    assert routes == {('severity="page"',): "page", ('severity="ticket"',): "ticket"}
    for receiver in config["receivers"]:
        [hook] = receiver["webhook_configs"]
        assert hook["url"] == "http://127.0.0.1:8104/alerts"
        assert hook["send_resolved"] is True
        assert hook["http_config"]["authorization"]["type"] == "Bearer"
    inhibit = {r["source_matchers"][0]: r for r in config["inhibit_rules"]}
    fast = inhibit['alertname="AvailabilityBudgetBurn1h"']
    assert fast["target_matchers"] == [
        'alertname=~"AvailabilityBudgetBurn6h|AvailabilityBudgetBurn1d|AvailabilityBudgetBurn3d"'
    ]
    assert fast["equal"] == ["service"]
    assert 'alertname="AvailabilityBudgetBurn1d"' not in inhibit  # tickets inhibit nothing


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0216, "2.16%"), (0.001, "0.1%"), (0.72, "72%"), (1 / 3, "33.33%")],
)
def test_humanize_percentage_formats_as_prometheus(value: float, text: str) -> None:
    assert humanize_percentage(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(500.0, "500"), (1500.0, "1.5k"), (0.25, "250m"), (0.0, "0")]
)
def test_humanize_formats_as_prometheus(value: float, text: str) -> None:
    assert humanize(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(86_460.0, "1d 0h 1m 0s"), (3_725.0, "1h 2m 5s"), (61.0, "1m 1s")]
)
def test_humanize_duration_formats_as_prometheus(value: float, text: str) -> None:
    assert humanize_duration(value) == text
