"""Prometheus and Alertmanager configuration for the local stack. Pure; no I/O.

prometheus.yml scrapes the services (label `service` on `up`; the services' own
`service` label is kept, `honor_labels`), the Pushgateway, loads the generated rules
and sends to Alertmanager. alertmanager.yml routes by `severity` to the receiver's
webhook (bearer token from a file, `send_resolved`), and inhibits the lower burn-rate
alerts of an SLO while a page of the same SLO and service fires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alert_rules.alerts import AlertSpec, burn_alert_name
from alert_rules.slo import BURN_ALERTS, Severity, Slo
from collector import conventions as names

__all__ = ["StackAddresses", "alertmanager_config", "prometheus_config"]


@dataclass(frozen=True, slots=True)
class StackAddresses:
    """Where the local stack listens (host:port) and where the receiver's token lives.

    `token_file` is read by Alertmanager, relative to the directory of alertmanager.yml.
    """

    alertmanager: str = "127.0.0.1:9093"
    pushgateway: str = "127.0.0.1:9091"
    receiver_url: str = "http://127.0.0.1:8104/alerts"
    receiver_metrics: str = "127.0.0.1:8104"
    """Scraped as service `receiver` (its /metrics is collector-instrumented)."""
    token_file: str = "../../var/stack/receiver.token"
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"


SERVICES_JOB = "loadwatch-services"
PUSHGATEWAY_JOB = "pushgateway"
RECEIVER_SERVICE = "receiver"


def prometheus_config(
    targets: Mapping[str, str], rule_files: Sequence[str], stack: StackAddresses
) -> dict[str, object]:
    """prometheus.yml: `targets` maps service name -> host:port of its /metrics; the
    receiver is scraped too."""
    scraped = {**targets, RECEIVER_SERVICE: stack.receiver_metrics}
    return {
        "global": {
            "scrape_interval": stack.scrape_interval,
            "evaluation_interval": stack.evaluation_interval,
        },
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [stack.alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": SERVICES_JOB,
                "metrics_path": names.METRICS_PATH,
                "honor_labels": True,
                "static_configs": [
                    {"targets": [address], "labels": {names.LABEL_SERVICE: service}}
                    for service, address in sorted(scraped.items())
                ],
            },
            {
                "job_name": PUSHGATEWAY_JOB,
                "honor_labels": True,
                "static_configs": [{"targets": [stack.pushgateway]}],
            },
        ],
    }


def _receiver(name: str, stack: StackAddresses) -> dict[str, object]:
    return {
        "name": name,
        "webhook_configs": [
            {
                "url": stack.receiver_url,
                "send_resolved": True,
                "http_config": {
                    "authorization": {"type": "Bearer", "credentials_file": stack.token_file}
                },
            }
        ],
    }


def _inhibitions(alerts: Sequence[AlertSpec]) -> list[dict[str, object]]:
    """While a page of an SLO fires, its lower burn-rate alerts for the same service wait."""
    present = {a.name for a in alerts}
    rules: list[dict[str, object]] = []
    for slo in Slo:
        ranked = [(burn_alert_name(slo, b), b.severity) for b in BURN_ALERTS]
        ranked = [(name, severity) for name, severity in ranked if name in present]
        for index, (name, severity) in enumerate(ranked):
            lower = [n for n, _ in ranked[index + 1 :]]
            if severity is not Severity.PAGE or not lower:
                continue
            rules.append(
                {
                    "source_matchers": [f'alertname="{name}"'],
                    "target_matchers": [f'alertname=~"{"|".join(lower)}"'],
                    "equal": [names.LABEL_SERVICE],
                }
            )
    return rules


def alertmanager_config(alerts: Sequence[AlertSpec], stack: StackAddresses) -> dict[str, object]:
    """alertmanager.yml for `alerts` (every generated alert)."""
    return {
        "route": {
            "receiver": Severity.TICKET.value,
            "group_by": ["alertname", names.LABEL_SERVICE],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                {
                    "matchers": [f'severity="{Severity.PAGE.value}"'],
                    "receiver": Severity.PAGE.value,
                    "group_wait": "10s",
                    "repeat_interval": "1h",
                },
                {
                    "matchers": [f'severity="{Severity.TICKET.value}"'],
                    "receiver": Severity.TICKET.value,
                },
            ],
        },
        "receivers": [_receiver(s.value, stack) for s in Severity],
        "inhibit_rules": _inhibitions(alerts),
    }
