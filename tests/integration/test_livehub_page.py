"""The live page in Debian's Chromium (headless, through playwright) while a service is loaded.

Chromium is the system one (/usr/bin/chromium); `playwright install` is never needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from collector.sla import default_sla
from livehub.server import HubSettings, serve_hub
from tests.conftest import TIMEOUT_UNIT_S, missing_component, require_tool
from tests.integration.test_livehub_hub import (
    background_load,
    closed_port,
    hello_service,
    subscribed,
    until,
)

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.asynccontextmanager
async def chromium_page() -> Any:
    executable = require_tool("chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_component("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            yield page
        finally:
            await browser.close()


async def test_the_page_charts_advance_and_show_the_hubs_latest_p95(tmp_path: Path) -> None:
    port = closed_port()
    settings = HubSettings(port=port)
    stop = asyncio.Event()
    async with hello_service() as url, chromium_page() as page:
        hosts: set[str] = set()
        page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
        load = asyncio.get_running_loop().create_task(background_load([url], stop))
        try:
            async with serve_hub([url], default_sla(), settings) as hub, subscribed(hub) as ws:
                await page.goto(hub.url)
                await page.wait_for_function(
                    "document.getElementById('conn').textContent === 'live'",
                    timeout=15_000 * TIMEOUT_UNIT_S,
                )

                async def points() -> int:
                    return int(await page.get_attribute("#chart-p95", "data-points") or 0)

                async def charted(count: int) -> bool:
                    return await points() >= count

                await until(lambda: charted(2), "two points charted")
                before_points = await points()
                before_image = await page.evaluate(
                    "document.getElementById('chart-rps').toDataURL()"
                )
                await until(lambda: charted(before_points + 2), "the charts advance")
                after_image = await page.evaluate(
                    "document.getElementById('chart-rps').toDataURL()"
                )
                assert after_image != before_image

                shown: dict[str, str] = {}

                async def p95_shown_for_a_loaded_second() -> bool:
                    shown.update(
                        await page.evaluate(
                            """() => { const el = document.getElementById('total-p95');
                            return {text: el.textContent, stamp: el.dataset.timestamp,
                                    value: el.dataset.value}; }"""
                        )
                    )
                    return bool(shown["value"])

                await until(p95_shown_for_a_loaded_second, "a p95 on the page")
                message = await ws.wait_for(
                    lambda m: m["timestamp_s"] == float(shown["stamp"]),
                    "the hub's message of the second the page shows",
                )
                p95 = message["total"]["kpis"]["latency_ms"]["1s"]["p95"]
                assert float(shown["value"]) == p95
                assert (
                    shown["text"] == f"{p95:.1f} ms"
                    or abs(float(shown["text"].removesuffix(" ms")) - p95) <= 0.05 + 1e-9
                )
                latest = ws.messages[-1]
                assert latest["timestamp_s"] >= float(shown["stamp"])
                cell = await page.text_content(
                    "#board tr[data-service='hello'] td[data-objective='latency']"
                )
                assert cell is not None and cell.startswith("p95 < 200ms")
                screenshot = tmp_path / "livehub-page.png"
                await page.screenshot(path=str(screenshot), full_page=True)
                print(f"live page screenshot: {screenshot}")

            # The hub stops: the page says so, and comes back by itself on a new hub.
            await page.wait_for_function(
                "document.getElementById('conn').textContent === 'reconnecting'",
                timeout=15_000 * TIMEOUT_UNIT_S,
            )
            restarted_at = time.time()
            async with serve_hub([url], default_sla(), settings):
                await page.wait_for_function(
                    "document.getElementById('conn').textContent === 'live'",
                    timeout=20_000 * TIMEOUT_UNIT_S,
                )
                await page.wait_for_function(
                    f"Number(document.getElementById('total-p95').dataset.timestamp) > {restarted_at}",
                    timeout=20_000 * TIMEOUT_UNIT_S,
                )
        finally:
            stop.set()
            await load
    assert hosts == {f"127.0.0.1:{port}"}, f"the page asked other hosts: {hosts}"
