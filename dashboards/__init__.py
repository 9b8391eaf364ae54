"""Grafana dashboards generated from sla.yaml with grafanalib.

Each `*.dashboard.py` here defines `build(sla) -> Dashboard` (and, for grafanalib's own
`generate-dashboard`, a module-level `dashboard` built from the built-in SLA). Every query
comes from `collector.promql` and every name from `collector.conventions`; every SLA line
from the SLA model. `loadwatch dashboards` writes `dashboards/json/*.json` (`generate`);
`loadwatch dashboards push` uploads them (`push`, the one module that talks to Grafana).
"""

__all__ = ["generate", "panels", "push", "render"]
