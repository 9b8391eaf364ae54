"""Every query of every generated panel, run through a real Prometheus that scrapes a real
instrumented service under a short load with the generated recording rules loaded: each
must parse, and each panel whose metrics the load exercises must return data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from alert_rules.configs import StackAddresses
from alert_rules.generate import PROMETHEUS_FILE, generate, write
from collector import conventions as names
from collector.sla import SLA, default_sla
from dashboards.generate import build_all
from examples.hello_service import make_app
from runtime.ports import free_port
from runtime.processes import Output, ProcessGroup
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.integration.threaded_server import serving_in_a_thread
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

SERVICE = "dash"
_NAME = re.compile(r"\bloadwatch[a-zA-Z0-9_:]*")
"""Metric and recording-rule names in an expression. Prometheus' own ALERTS series is not
among them: whether an alert fires depends on the alert state, not on the load."""


@pytest.fixture
def service_port() -> Iterator[int]:
    port = free_port()
    app = make_app(service=SERVICE, sla=default_sla(), registry=CollectorRegistry())
    with serving_in_a_thread(app, port):
        yield port


def _query(url: str, expr: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"{url}/api/v1/query", params={"query": expr}, timeout=10
    ).json()
    return body


def _load(port: int, rounds: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for i in range(rounds):
            client.get("/hello")
            client.get(f"/items/{i}")
            if i % 10 == 0:
                client.get("/boom")


def _targets(sla: SLA) -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) of every panel, template variables filled in."""
    found = []
    for text in build_all(sla).values():
        dashboard = json.loads(text)
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"].replace("$service", SERVICE).replace("$scenario", "none")
                found.append((dashboard["uid"], panel["title"], expr))
    return found


def test_every_panel_query_parses_and_exercised_panels_return_data(
    service_port: int, tmp_path: Path
) -> None:
    binary = require_tool("prometheus")
    sla = default_sla()
    stack = StackAddresses(
        alertmanager=f"127.0.0.1:{free_port()}",
        pushgateway=f"127.0.0.1:{free_port()}",
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    write(generate(sla, {SERVICE: f"127.0.0.1:{service_port}"}, stack=stack), tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={tmp_path / PROMETHEUS_FILE}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        # as `loadwatch stack` runs it: the display quantiles read the native histogram,
        # which Prometheus only scrapes (over protobuf) with the feature on
        "--enable-feature=native-histograms",
    ]
    with ProcessGroup(grace_s=30.0) as group:
        prometheus = group.start("prometheus", command, output=Output.DISCARD)
        rule = f'{names.rule_request_rate("5m")}{{service="{SERVICE}"}}'

        def recorded() -> bool:
            _load(service_port, 20)
            try:
                return bool(_query(url, rule)["data"]["result"])
            except (httpx.HTTPError, ValueError, KeyError):
                return False

        group.wait_ready(prometheus, 60 * TIMEOUT_UNIT_S, ready=recorded)
        quantile = f'{names.rule_latency_quantile("5m")}{{service="{SERVICE}"}}'

        def quantile_recorded() -> bool:
            _load(service_port, 10)
            return bool(_query(url, quantile)["data"]["result"])

        wait_until(quantile_recorded, 30, what=f"{quantile} recorded", poll_s=0.5)
        present = {
            series["metric"]["__name__"]
            for series in _query(url, "count by (__name__) ({__name__=~'.+'})")["data"]["result"]
        }
        exercised = empty = 0
        failures = []
        for uid, title, expr in _targets(sla):
            answer = _query(url, expr)
            if answer.get("status") != "success":
                failures.append(f"{uid} / {title}: does not parse: {answer.get('error')}")
                continue
            used = _NAME.findall(expr)
            if used and all(name in present for name in used):
                exercised += 1
                if not answer["data"]["result"]:
                    empty += 1
                    failures.append(f"{uid} / {title}: no data for {expr}")
    assert not failures, "\n".join(failures)
    assert exercised >= 12, f"only {exercised} panel queries were exercised"
    assert names.HTTP_REQUEST_DURATION_NATIVE in present, "the native histogram was not scraped"
    assert empty == 0
