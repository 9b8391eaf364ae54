"""The four services on embedded defaults (SQLite in a folder, in-process cache), each
served from its own thread and event loop on 127.0.0.1:<free port>, for clients that
block (Schemathesis calls with `requests`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from receiver.app import make_receiver_app
from receiver.settings import ReceiverSettings
from reference_services.campaign import make_campaign_app
from reference_services.campaign.seed import seed_campaigns
from reference_services.course.app import make_course_app
from reference_services.seed import seed_course
from reference_services.settings import ServiceSettings
from reference_services.social import make_social_app
from runtime.database import Database, make_engine

SERVICES = ("course", "campaign", "social", "receiver")
RECEIVER_TOKEN = "openapi-fuzz-token"
_START_TIMEOUT_S = 30.0


class ServedApp:
    """`app` served on 127.0.0.1 (port 0) by a thread of its own until `stop()`."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="served-app", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApp:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise TimeoutError(f"the app did not start within {_START_TIMEOUT_S} s")
        if self._error is not None:
            raise RuntimeError("the app failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(_START_TIMEOUT_S)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        runner = web.AppRunner(self._app, access_log=None)
        try:
            self._stopping = asyncio.Event()
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_until_complete(self._stopping.wait())
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()


async def _seed(service: str, url: str) -> None:
    db = Database(make_engine(ServiceSettings.build(service, database_url=url)))
    try:
        if service == "course":
            await seed_course(db, users=20, courses=4, reset=True)
        else:
            await seed_campaigns(db, campaigns=20, reset=True)
    finally:
        await db.close()


@contextmanager
def serving(service: str, folder: Path) -> Iterator[str]:
    """`service` (one of SERVICES) seeded and served; yields its base URL. The campaign
    service posts to a social app served beside it."""
    with ExitStack() as stack:
        url = f"sqlite+aiosqlite:///{folder / f'{service}.sqlite3'}"
        registry = CollectorRegistry()
        if service == "course":
            asyncio.run(_seed(service, url))
            settings = ServiceSettings.build("course", database_url=url)
            app = make_course_app(settings, registry=registry)
        elif service == "campaign":
            asyncio.run(_seed(service, url))
            social = ServedApp(make_social_app(registry=CollectorRegistry())).start()
            stack.callback(social.stop)
            settings = ServiceSettings.build("campaign", database_url=url, social_url=social.url)
            app = make_campaign_app(settings, registry=registry)
        elif service == "social":
            app = make_social_app(registry=registry)
        else:
            receiver = ReceiverSettings.build(token=RECEIVER_TOKEN, database_url=url)
            app = make_receiver_app(receiver, registry=registry)
        served = ServedApp(app).start()
        stack.callback(served.stop)
        yield served.url
