"""The alerting path end to end on loopback, every part real: the campaign service
publishes to fake social platforms that answer 503 to every post, so it answers 502;
Prometheus scrapes it every second and a rule over a 10 s window (built with
`collector.promql`) fires; Alertmanager, with the stack's generated configuration and
bearer-token file, posts to the receiver, which stores the alert and forwards it to a
local webhook; the platforms recover and the alert resolves, all the way.
Bounded: about 30 s here, deadlines scaled by TIMEOUT_UNIT_S."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web

from alert_rules.configs import alertmanager_config, prometheus_config
from collector import conventions as names
from collector import promql
from collector.sla import default_sla
from dashboards.generate import JSON_DIR
from livehub.server import HubSettings, serve_hub
from promstack.components import StackPorts
from promstack.configure import TOKEN_FILE, ensure_token, stack_addresses
from promstack.stack import StackLayout, down, up
from reference_services.social import DEFAULT_PLATFORMS
from runtime.ports import free_port
from runtime.processes import Output, ProcessGroup, python_command
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ALERT = "EndToEndCampaignErrors"
RULES_FILE = "end-to-end-rules.yml"
WINDOW = "10s"


def _rules() -> dict[str, object]:
    campaign = (promql.Matcher(names.LABEL_SERVICE, "campaign"),)
    return {
        "groups": [
            {
                "name": "end-to-end",
                "rules": [
                    {
                        "alert": ALERT,
                        "expr": f"{promql.error_ratio(WINDOW, matchers=campaign)} > 0.5",
                        "labels": {"severity": "page"},
                        "annotations": {"summary": "publishing fails"},
                    }
                ],
            }
        ]
    }


async def _shown_firing(prometheus_port: int, urls: dict[str, str], token: str) -> None:
    """The firing alert where a person looks: the SLA overview's firing-alerts panel (its
    query, for the campaign row, run on Prometheus) and the stream hub's message."""
    overview = json.loads((JSON_DIR / "loadwatch-sla-overview.json").read_text())
    panel = next(p for p in overview["panels"] if p["title"] == "Firing alerts")
    query = panel["targets"][0]["expr"].replace("$service", "campaign")
    async with httpx.AsyncClient(timeout=5) as client:

        async def in_panel() -> bool:
            answer = await client.get(
                f"http://127.0.0.1:{prometheus_port}/api/v1/query", params={"query": query}
            )
            series = answer.json()["data"]["result"]
            return any(s["metric"].get("alertname") == ALERT for s in series)

        what = "the alert in the dashboard's firing-alerts panel"
        await eventually(in_panel, 30, what=what, poll_s=0.25)
    settings = HubSettings(port=0, receiver=urls["receiver"], receiver_token=token)
    async with serve_hub([urls["campaign"]], default_sla(), settings) as hub:

        async def in_message() -> bool:
            payload = hub.hub.latest_payload
            alerts = None if payload is None else json.loads(payload)["alerts"]
            return alerts is not None and any(
                a["name"] == ALERT and a["service"] == "campaign" and a["severity"] == "page"
                for a in alerts["firing"]
            )

        what = "the alert in the stream hub's message"
        await eventually(in_message, 15, what=what, poll_s=0.25)


def _write_config(layout: StackLayout, campaign: str, receiver_port: int) -> Callable[[Path], None]:
    addresses = stack_addresses(layout.ports, receiver_port=receiver_port, scrape_interval="1s")
    manager = alertmanager_config([], addresses)
    route: Any = manager["route"]
    for level in (route, *route["routes"]):  # the generated waits are minutes long
        level.update(group_wait="0s", group_interval="1s", repeat_interval="1h")

    def write(config_dir: Path) -> None:
        prometheus = prometheus_config({"campaign": campaign}, [RULES_FILE], addresses)
        (config_dir / "prometheus.yml").write_text(yaml.safe_dump(prometheus))
        (config_dir / "alertmanager.yml").write_text(yaml.safe_dump(manager))
        (config_dir / RULES_FILE).write_text(yaml.safe_dump(_rules()))

    return write


@contextlib.asynccontextmanager
async def _destination(received: list[dict[str, Any]]) -> AsyncIterator[str]:
    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


async def _traffic(campaign: str) -> None:
    """Publishes an active campaign back to back until cancelled (answers do not matter)."""
    async with httpx.AsyncClient(base_url=campaign, timeout=10) as client:
        active = (await client.get("/campaigns", params={"status": "active", "limit": 1})).json()
        campaign_id = active["campaigns"][0]["id"]
        platforms = (await client.get(f"/campaigns/{campaign_id}")).json()["platforms"]
        for n in itertools.count():
            with contextlib.suppress(httpx.HTTPError):
                await client.post(
                    f"/campaigns/{campaign_id}/publish",
                    json={"platforms": platforms},
                    headers={"Idempotency-Key": f"e2e-{n}"},
                )
            await asyncio.sleep(0.02)


async def test_a_failing_service_pages_through_the_receiver_and_resolves(tmp_path: Path) -> None:
    for tool in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway"):
        require_tool(tool)
    layout = StackLayout(tmp_path / "stack", StackPorts(free_port(), free_port(), free_port()))
    token = ensure_token(layout.root / TOKEN_FILE)
    auth = {"Authorization": f"Bearer {token}"}
    ports = {"social": free_port(), "campaign": free_port(), "receiver": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    received: list[dict[str, Any]] = []

    async with _destination(received) as hook_url:
        forward = tmp_path / "forward.yaml"
        forward.write_text(
            yaml.safe_dump({"destinations": [{"name": "test", "kind": "webhook", "url": hook_url}]})
        )
        campaign_db = f"sqlite+aiosqlite:///{tmp_path / 'campaign.sqlite3'}"
        seed = python_command("loadwatch", "seed", "--database-url", campaign_db, "--users",
                              "10", "--courses", "1", "--campaigns", "20")  # fmt: skip
        subprocess.run(seed, check=True, capture_output=True, timeout=120 * TIMEOUT_UNIT_S)
        failing = [("--platform", f"{name}:1ms:100%") for name in DEFAULT_PLATFORMS]
        flags = {
            "social": tuple(itertools.chain.from_iterable(failing)),
            "campaign": ("--database-url", campaign_db, "--social-url", urls["social"]),
            "receiver": (
                "--database-url",
                f"sqlite+aiosqlite:///{tmp_path / 'receiver.sqlite3'}",
                "--forward-config",
                str(forward),
            ),
        }
        env = {**os.environ, "LOADWATCH_RECEIVER_TOKEN": token}
        with ProcessGroup(log_dir=tmp_path / "logs") as group:
            for name, port in ports.items():
                argv = python_command("loadwatch", "serve", name, "--port", str(port))
                child = group.start(
                    name, [*argv, *flags[name]], env=env, url=urls[name], output=Output.LOG
                )
                await asyncio.to_thread(group.wait_ready, child, 60 * TIMEOUT_UNIT_S)
            traffic = asyncio.create_task(_traffic(urls["campaign"]))
            try:
                await asyncio.to_thread(
                    up,
                    layout,
                    _write_config(
                        layout, urls["campaign"].removeprefix("http://"), ports["receiver"]
                    ),
                    lambda line: None,
                )
                async with httpx.AsyncClient(base_url=urls["receiver"], timeout=5) as receiver:

                    async def stored(status: str) -> bool:
                        answer = await receiver.get("/alerts", headers=auth)
                        return any(
                            a["labels"].get("alertname") == ALERT and a["status"] == status
                            for a in answer.json()["alerts"]
                        )

                    async def forwarded(status: str) -> bool:
                        return any(
                            m["status"] == status and m["labels"]["alertname"] == ALERT
                            for m in received
                        )

                    async def reached(status: str) -> None:
                        what = f"the alert {status}"
                        await eventually(lambda: stored(status), 60, what=what, poll_s=0.25)
                        what = f"the {status} alert forwarded"
                        await eventually(lambda: forwarded(status), 30, what=what, poll_s=0.25)

                    await reached("firing")
                    await _shown_firing(layout.ports.prometheus, urls, token)

                    async with httpx.AsyncClient(base_url=urls["social"], timeout=5) as social:
                        for name in DEFAULT_PLATFORMS:
                            recovered = await social.post(
                                f"/platforms/{name}/behaviour", json={"error_rate": 0}
                            )
                            assert recovered.status_code == 200, recovered.text
                    await reached("resolved")
            finally:
                traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await traffic
                down(layout, report=lambda line: None)

    firing = next(m for m in received if m["status"] == "firing")
    assert firing["labels"][names.LABEL_SERVICE] == "campaign"
    assert firing["labels"]["severity"] == "page"
    assert firing["annotations"]["summary"] == "publishing fails"
