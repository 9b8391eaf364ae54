"""Everything `loadwatch rules` writes, as file name -> text, and the writer.

`generate(sla, targets)` is pure and deterministic (sorted keys, no clock, no absolute
paths): the same SLA gives byte-identical files, which the drift test relies on.
`write(files, out_dir)` is the only I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from alert_rules.alerts import LOADTEST_MAX_AGE_S, all_alerts
from alert_rules.configs import StackAddresses, alertmanager_config, prometheus_config
from alert_rules.promtool_tests import test_files
from alert_rules.recording import recording_groups
from alert_rules.slo import Scope, scopes
from collector.sla import SLA

__all__ = [
    "ALERTMANAGER_FILE",
    "DEFAULT_OUT_DIR",
    "PROMETHEUS_FILE",
    "RULES_FILE",
    "RUNBOOK",
    "generate",
    "tests_file",
    "write",
]

DEFAULT_OUT_DIR = Path("alert_rules/generated")
RULES_FILE = "rules.yml"


def tests_file(step_m: int) -> str:
    """The promtool test file of the alerts tested every `step_m` minutes."""
    return f"rules.test-{step_m}m.yml"


PROMETHEUS_FILE = "prometheus.yml"
ALERTMANAGER_FILE = "alertmanager.yml"
RUNBOOK = "docs/runbooks.md"
"""Where `runbook_url` points (with the alert's anchor), relative to the repository."""


def _dump(source: str, data: object) -> str:
    header = f"# generated from {source} by `loadwatch rules`, do not edit\n"
    body = yaml.safe_dump(data, sort_keys=True, default_flow_style=False, width=10_000)
    return header + body


def _alert_group(scope: Scope | None, rules: list[dict[str, object]]) -> dict[str, object]:
    name = "loadwatch-operations" if scope is None else f"loadwatch-slo-{scope.name}"
    return {"name": name, "rules": rules}


def generate(
    sla: SLA,
    targets: Mapping[str, str],
    *,
    stack: StackAddresses | None = None,
    runbook: str = RUNBOOK,
    loadtest_max_age_s: float = LOADTEST_MAX_AGE_S,
) -> dict[str, str]:
    """The generated files for `sla`; `targets` maps service name -> host:port to scrape."""
    stack = stack if stack is not None else StackAddresses()
    source = Path(sla.source).name
    alerts = all_alerts(sla, loadtest_max_age_s)
    groups = recording_groups(sla)
    for scope in [*scopes(sla), None]:
        rules = [a.rule(runbook) for a in alerts if a.scope == scope]
        if rules:
            groups.append(_alert_group(scope, rules))
    order = [str(group["name"]) for group in groups]
    tests = test_files(alerts, [RULES_FILE], order, sorted(sla.services), runbook)
    return {
        RULES_FILE: _dump(source, {"groups": groups}),
        **{tests_file(step): _dump(source, body) for step, body in tests.items()},
        PROMETHEUS_FILE: _dump(source, prometheus_config(targets, [RULES_FILE], stack)),
        ALERTMANAGER_FILE: _dump(source, alertmanager_config(alerts, stack)),
    }


def write(files: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Write every file into `out_dir` (created if missing); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
