"""The generated dashboards: deterministic, drift-free, SLA-driven, and well-formed panels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector.sla import DEFAULT_SLA_YAML, parse_sla, resolve_sla
from dashboards.generate import JSON_DIR, build_all, write

REPO = Path(__file__).resolve().parents[2]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _threshold_values(panel: dict[str, Any]) -> list[float | None]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [step["value"] for step in steps]


def _by_title(dashboard: dict[str, Any], prefix: str) -> dict[str, Any]:
    (panel,) = [p for p in _panels(dashboard) if p["title"].startswith(prefix)]
    return panel


def test_the_committed_json_is_what_the_repository_sla_generates(tmp_path: Path) -> None:
    files = build_all(resolve_sla(cwd=REPO))
    write(files, tmp_path)
    committed = {p.name: p.read_text() for p in JSON_DIR.glob("*.json")}
    assert committed == files, "dashboards/json drifted: run `loadwatch dashboards`"


def test_generation_is_deterministic_and_uids_are_stable() -> None:
    first, second = build_all(parse_sla(DEFAULT_SLA_YAML)), build_all(parse_sla(DEFAULT_SLA_YAML))
    assert first == second
    assert sorted(first) == [
        "loadwatch-loadtest.json",
        "loadwatch-service.json",
        "loadwatch-sla-overview.json",
    ]
    for name, text in first.items():
        assert json.loads(text)["uid"] == name.removesuffix(".json")


def test_every_dashboard_shows_the_load_tests_that_runs_annotate() -> None:
    from runs.annotate import annotation
    from tests.run_results import make_result

    sent_tags = annotation(make_result())["tags"]
    for text in build_all(parse_sla(DEFAULT_SLA_YAML)).values():
        (query,) = json.loads(text)["annotations"]["list"]
        assert query["enable"] is True and query["target"]["type"] == "tags"
        assert set(query["target"]["tags"]) <= set(sent_tags), "the query must match a run's"


def test_every_panel_has_a_title_a_datasource_a_unit_and_no_string_null() -> None:
    for text in build_all(parse_sla(DEFAULT_SLA_YAML)).values():
        assert '"null"' not in text
        for panel in _panels(json.loads(text)):
            assert panel["title"]
            assert panel["datasource"] == "${datasource}"
            assert all(t["expr"] for t in panel["targets"])
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            assert defaults.get("unit") or panel.get("format"), panel["title"]


def test_thresholds_come_from_the_sla_file() -> None:
    other = parse_sla(
        "objectives:\n  latency: {percentile: p99, threshold: 500ms}\n  error_rate: 0.5%\n"
    )
    overview = json.loads(build_all(other)["loadwatch-sla-overview.json"])
    latency = _by_title(overview, "Latency p99")
    assert _threshold_values(latency) == [None, 0.5]
    assert 'quantile="0.99"' in latency["targets"][0]["expr"]
    assert _threshold_values(_by_title(overview, "Error ratio")) == [None, 0.005]
    titles = [p["title"] for p in _panels(overview)]
    assert not any(t.startswith(("Availability", "Error budget", "Burn rate")) for t in titles)
    assert _threshold_values(_by_title(overview, "Requests per second")) == [None]


def test_the_default_sla_draws_its_lines() -> None:
    overview = json.loads(build_all(parse_sla(DEFAULT_SLA_YAML))["loadwatch-sla-overview.json"])
    assert _threshold_values(_by_title(overview, "Latency p95")) == [None, 0.2]
    assert _threshold_values(_by_title(overview, "Requests per second")) == [None, 1000.0]
    assert _threshold_values(_by_title(overview, "Availability")) == [None, 0.999]
    burn = _by_title(overview, "Burn rate")
    assert len(burn["targets"]) == 7
    assert all("/ 0.001" in t["expr"] for t in burn["targets"])


@pytest.mark.parametrize("name", ["sla_overview", "service", "loadtest"])
def test_each_source_also_serves_grafanalibs_own_cli(name: str) -> None:
    import importlib.util

    path = REPO / "dashboards" / f"{name}.dashboard.py"
    spec = importlib.util.spec_from_file_location(f"check_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dashboard.uid.startswith("loadwatch-")


def test_the_firing_alerts_panel_lists_this_rows_alerts_by_name_and_severity() -> None:
    overview = json.loads((JSON_DIR / "loadwatch-sla-overview.json").read_text())
    rows = [p for p in overview["panels"] if p["type"] == "row"]
    assert [row.get("repeat") for row in rows] == ["service"]  # one row per chosen service
    panel = _by_title(overview, "Firing alerts")
    (target,) = panel["targets"]
    assert target["expr"] == 'ALERTS{alertstate="firing",service="$service"}'
    assert target["instant"] is True and target["format"] == "table"
    shown = panel["transformations"][0]["options"]["include"]["names"]
    assert shown == ["alertname", "severity", "slo_scope"]
