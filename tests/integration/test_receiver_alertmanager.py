"""The contract with the real Alertmanager (0.25, Debian's package): it posts to the
receiver with the bearer token from its `http_config`, the receiver accepts its payload
as is and stores the firing event, then the resolution (`send_resolved: true`), each
once, with the zero `endsAt` of the firing one stored as null."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.integration.test_receiver_service import (
    AUTH,
    TOKEN,
    database_url,
    receiver_client,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["database_url"]  # the fixture, imported for this module's tests

_CONFIG = """
route:
  receiver: loadwatch
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: loadwatch
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: "{token}"}}
"""


def _alert(ends_at: datetime | None) -> list[dict[str, Any]]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "CourseErrorBudgetBurn", "service": "course", "severity": "page"},
        "annotations": {"summary": "burning the error budget"},
        "startsAt": "2026-12-01T08:00:00.123456789Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    return [alert]


async def test_alertmanager_notifications_are_stored_once_then_resolved(
    database_url: str, tmp_path: Path
) -> None:
    binary = require_tool("prometheus-alertmanager")
    async with receiver_client(database_url) as client:
        config = tmp_path / "alertmanager.yml"
        config.write_text(_CONFIG.format(url=client.make_url("/alerts"), token=TOKEN))
        port = free_port()
        manager = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        api = f"http://127.0.0.1:{port}/api/v2/alerts"
        try:

            async def post(ends_at: datetime | None) -> bool:
                try:
                    async with httpx.AsyncClient(timeout=2) as http:
                        return (await http.post(api, json=_alert(ends_at))).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(lambda: post(None), 30)

            async def events() -> list[tuple[str, str | None]]:
                listed = await (await client.get("/alerts", headers=AUTH)).json()
                if not listed["alerts"]:
                    return []
                fingerprint = listed["alerts"][0]["fingerprint"]
                history = await client.get(f"/alerts/{fingerprint}/history", headers=AUTH)
                return [(e["status"], e["endsAt"]) for e in (await history.json())["events"]]

            await eventually(lambda: _has(events(), "firing"), 30)
            await eventually(lambda: post(datetime.now(UTC) - timedelta(seconds=1)), 30)
            await eventually(lambda: _has(events(), "resolved"), 30)
            stored = await events()
        finally:
            manager.terminate()
            manager.wait(timeout=30 * TIMEOUT_UNIT_S)
    assert [status for status, _ in stored] == ["firing", "resolved"]
    assert stored[0][1] is None and stored[1][1] is not None


async def _has(events: Any, status: str) -> bool:
    return any(s == status for s, _ in await events)
