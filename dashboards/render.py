"""Dashboards to deterministic Grafana JSON (pure): sorted keys, a "generated" note, and the
base threshold step's value as JSON null (grafanalib writes the string "null", which
Grafana reads as a text value and then colours nothing)."""

from __future__ import annotations

import json
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

__all__ = ["GENERATED_NOTE", "dashboard_json", "fix_null_steps"]

GENERATED_NOTE = "Generated from sla.yaml by `loadwatch dashboards`; do not edit."


def fix_null_steps(node: Any) -> Any:
    """A copy of `node` with every threshold step's ``"value": "null"`` made JSON null."""
    if isinstance(node, dict):
        fixed = {key: fix_null_steps(value) for key, value in node.items()}
        if "steps" in fixed and isinstance(fixed["steps"], list):
            fixed["steps"] = [
                {**step, "value": None}
                if isinstance(step, dict) and step.get("value") == "null"
                else step
                for step in fixed["steps"]
            ]
        return fixed
    if isinstance(node, list):
        return [fix_null_steps(item) for item in node]
    return node


def dashboard_json(dashboard: Dashboard, source: str) -> str:
    """The dashboard as Grafana JSON text: keys sorted, 2-space indent, trailing newline."""
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    data["description"] = f"{GENERATED_NOTE} Source: {source}."
    return json.dumps(fix_null_steps(data), sort_keys=True, indent=2) + "\n"
