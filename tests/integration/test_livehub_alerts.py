"""The stream hub with a real alert receiver: an alert posted to the receiver as
Alertmanager posts it appears in the hub's message; a receiver that refuses the token or
does not answer is marked down while the targets keep streaming."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from collector.sla import default_sla
from livehub.server import HubSettings, serve_hub
from receiver.app import make_receiver_app
from receiver.settings import ReceiverSettings
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.test_livehub_hub import closed_port, hello_service, subscribed
from tests.integration.test_livehub_page import chromium_page
from tests.integration.test_receiver_service import (
    AUTH,
    BASE_TIME,
    TOKEN,
    alert,
    notification,
)

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def receiver(tmp_path: Path) -> AsyncIterator[str]:
    """The receiver on SQLite under `tmp_path`, on a free 127.0.0.1 port."""
    settings = ReceiverSettings.build(
        token=TOKEN, database_url=f"sqlite+aiosqlite:///{tmp_path / 'receiver.sqlite3'}"
    )
    runner = web.AppRunner(make_receiver_app(settings, registry=CollectorRegistry()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def firing_names(message: dict[str, Any]) -> list[str]:
    alerts = message["alerts"]
    return [] if alerts is None else [a["name"] for a in alerts["firing"]]


async def test_a_firing_alert_posted_to_the_receiver_reaches_the_hubs_message(
    tmp_path: Path,
) -> None:
    async with receiver(tmp_path) as receiver_url, hello_service() as target:
        await post_firing(receiver_url)
        settings = HubSettings(port=0, receiver=receiver_url, receiver_token=TOKEN)
        async with serve_hub([target], default_sla(), settings) as hub, subscribed(hub) as sub:
            message = await sub.wait_for(
                lambda m: m["alerts"] is not None and m["alerts"]["state"] == "up",
                "a message with the receiver up",
            )
            assert message["alerts"]["firing"] == [
                {
                    "name": "CourseLatencyBurn",
                    "severity": "page",
                    "service": "course",
                    "since_s": BASE_TIME.timestamp() + 0.123456,  # Alertmanager's startsAt
                }
            ]
            assert firing_names(message) == ["CourseLatencyBurn"]
            assert message["targets"][0]["state"] == "up"


async def post_firing(receiver_url: str) -> None:
    """One firing and one resolved alert, posted as Alertmanager posts them."""
    async with httpx.AsyncClient(trust_env=False) as client:
        posted = await client.post(
            f"{receiver_url}/alerts",
            json=notification(
                alert("fp-burn", alertname="CourseLatencyBurn", service="course"),
                alert("fp-old", "resolved", alertname="SocialDown", service="social"),
            ),
            headers=AUTH,
        )
        assert posted.status_code == 200, posted.text


async def test_the_live_page_lists_the_firing_alert(tmp_path: Path) -> None:
    async with (
        receiver(tmp_path) as receiver_url,
        hello_service() as target,
        chromium_page() as page,
    ):
        await post_firing(receiver_url)
        settings = HubSettings(port=0, receiver=receiver_url, receiver_token=TOKEN)
        async with serve_hub([target], default_sla(), settings) as hub:
            await page.goto(hub.url)
            row = "#alerts tr[data-alert='CourseLatencyBurn']"
            await page.wait_for_selector(row, timeout=15_000 * TIMEOUT_UNIT_S)
            cells = await page.eval_on_selector_all(
                f"{row} td", "cells => cells.map(c => c.textContent)"
            )
            assert cells[:3] == ["CourseLatencyBurn", "page", "course"]
            footer = await page.text_content("#receiver")
            assert footer is not None and footer.endswith(": up, 1 firing")
            assert not await page.query_selector("#alerts tr[data-alert='SocialDown']")


async def test_a_receiver_that_refuses_or_is_gone_is_marked_down_and_the_hub_goes_on(
    tmp_path: Path,
) -> None:
    async with receiver(tmp_path) as receiver_url, hello_service() as target:
        wrong = HubSettings(port=0, receiver=receiver_url, receiver_token="not-the-token-xyz")
        async with serve_hub([target], default_sla(), wrong) as hub, subscribed(hub) as sub:
            message = await sub.wait_for(
                lambda m: m["alerts"]["state"] == "down", "the receiver marked down"
            )
            assert message["alerts"]["reason"] == "HTTP 401"
            assert message["targets"][0]["state"] == "up" and message["total"] is not None
    gone = f"http://127.0.0.1:{closed_port()}"
    async with hello_service() as target:
        settings = HubSettings(port=0, receiver=gone, receiver_token=TOKEN)
        async with serve_hub([target], default_sla(), settings) as hub, subscribed(hub) as sub:
            message = await sub.wait_for(
                lambda m: m["alerts"]["state"] == "down" and m["targets"][0]["state"] == "up",
                "a message with the receiver down and the target up",
            )
            assert "ConnectError" in message["alerts"]["reason"]
            assert message["alerts"]["firing"] == []
