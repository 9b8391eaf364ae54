"""alert_rules: sla.yaml -> Prometheus recording rules, multi-window burn-rate alerts,
their promtool tests, prometheus.yml and alertmanager.yml (`loadwatch rules`).

Pure builders (`slo`, `recording`, `alerts`, `promtool_tests`, `configs`) return data;
`generate` turns it into file texts and `write` is the only I/O.
"""

from alert_rules.generate import generate, write
from alert_rules.slo import unreachable_alerts

__all__ = ["generate", "unreachable_alerts", "write"]
