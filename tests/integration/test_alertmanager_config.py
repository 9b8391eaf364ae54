"""The generated alertmanager.yml in the real Alertmanager (0.25, Debian's package).

It reads the receiver's token from `credentials_file` relative to its own directory,
posts to the webhook with `Authorization: Bearer <token>`, routes by severity, and holds
back a lower burn-rate alert of the same service while the page fires.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from alert_rules.configs import StackAddresses
from alert_rules.generate import ALERTMANAGER_FILE
from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GENERATED = Path(__file__).resolve().parents[2] / "alert_rules" / "generated"
TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[TestServer, list[tuple[str, dict[str, Any]]]]]:
    """A stand-in for the receiver that keeps every (Authorization, body) posted to it."""
    received: list[tuple[str, dict[str, Any]]] = []

    async def alerts(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization", ""), await request.json()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/alerts", alerts)
    server = TestServer(app, host="127.0.0.1")
    async with server:
        yield server, received


def alert(name: str, severity: str) -> dict[str, Any]:
    labels = {"alertname": name, "service": "course", "severity": severity, "slo": "availability"}
    return {"labels": labels, "annotations": {"summary": name}}


async def test_pages_reach_the_receiver_with_the_token_and_lower_burns_are_inhibited(
    webhook: tuple[TestServer, list[tuple[str, dict[str, Any]]]], tmp_path: Path
) -> None:
    binary = require_tool("prometheus-alertmanager")
    server, received = webhook
    # The committed file, pointed at the stand-in; the token where the stack writes it.
    text = (GENERATED / ALERTMANAGER_FILE).read_text()
    text = text.replace(StackAddresses().receiver_url, f"http://127.0.0.1:{server.port}/alerts")
    config_dir = tmp_path / "alert_rules" / "generated"
    config_dir.mkdir(parents=True)
    (config_dir / ALERTMANAGER_FILE).write_text(text)
    token_file = (config_dir / StackAddresses().token_file).resolve()
    assert token_file == tmp_path / "var" / "stack" / "receiver.token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(TOKEN + "\n")
    config = yaml.safe_load(text)
    assert config["route"]["routes"][0]["group_wait"] == "10s"

    port = free_port()
    manager = subprocess.Popen(
        [binary, f"--config.file={config_dir / ALERTMANAGER_FILE}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api/v2/alerts"
    try:
        async with httpx.AsyncClient(timeout=2) as http:

            async def posted() -> bool:
                alerts = [
                    alert("AvailabilityBudgetBurn1h", "page"),
                    alert("AvailabilityBudgetBurn6h", "page"),
                    alert("AvailabilityBudgetBurn1d", "ticket"),
                ]
                try:
                    return (await http.post(api, json=alerts)).status_code == 200
                except httpx.HTTPError:
                    return False

            async def delivered() -> bool:
                return bool(received)

            async def states() -> dict[str, str]:
                listed = (await http.get(api)).json()
                return {a["labels"]["alertname"]: a["status"]["state"] for a in listed}

            async def inhibited() -> bool:
                found = await states()
                return found.get("AvailabilityBudgetBurn1d") == "suppressed"

            await eventually(posted, 30, what="the alerts posted", poll_s=0.2)
            await eventually(inhibited, 30, what="the ticket inhibited", poll_s=0.2)
            await eventually(delivered, 60, what="a notification delivered", poll_s=0.2)
            final = await states()
    finally:
        manager.terminate()
        manager.wait(timeout=30 * TIMEOUT_UNIT_S)
    assert final == {
        "AvailabilityBudgetBurn1h": "active",
        "AvailabilityBudgetBurn6h": "suppressed",
        "AvailabilityBudgetBurn1d": "suppressed",
    }
    authorization, body = received[0]
    assert authorization == f"Bearer {TOKEN}"
    assert body["receiver"] == "page"
    assert [a["labels"]["alertname"] for a in body["alerts"]] == ["AvailabilityBudgetBurn1h"]
