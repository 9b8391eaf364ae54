"""The start-up check of the one private aiohttp method the collector patches."""

from __future__ import annotations

import tomllib
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import SystemRoute
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from prometheus_client import CollectorRegistry

from collector.middleware import SUPPORTED_AIOHTTP, check_system_route, instrument
from collector.sla import default_sla

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_installed_aiohttp_passes_before_and_after_the_patch() -> None:
    check_system_route()
    instrument(web.Application(), service="svc", sla=default_sla(), registry=CollectorRegistry())
    check_system_route()
    handler = SystemRoute(web.HTTPNotFound()).handler
    assert handler.__func__.__module__ == "collector.middleware"  # type: ignore[attr-defined]


def test_the_pinned_range_is_the_checked_one_and_holds_the_installed_version() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (pin,) = [Requirement(d) for d in dependencies if Requirement(d).name == "aiohttp"]
    assert pin.specifier == SpecifierSet(SUPPORTED_AIOHTTP)
    assert pin.specifier.contains(aiohttp.__version__)


class HandleIsGone(SystemRoute):
    _handle = None  # type: ignore[assignment]


class HandleIsSync(SystemRoute):
    def _handle(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        raise self._http_exception


class HandleTakesMore(SystemRoute):
    async def _handle(self, request: web.Request, extra: int) -> web.StreamResponse:  # type: ignore[override]
        raise self._http_exception


class HandlerBoundElsewhere(SystemRoute):
    def __init__(self, http_exception: web.HTTPException) -> None:
        super().__init__(http_exception)
        self._handler = self._other

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise self._http_exception

    async def _other(self, request: web.Request) -> web.StreamResponse:
        raise self._http_exception


class ExceptionRenamed(SystemRoute):
    def __init__(self, http_exception: web.HTTPException) -> None:
        super().__init__(http_exception)
        self._error = self.__dict__.pop("_http_exception")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise self._error


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        (HandleIsGone, "no longer a coroutine function"),
        (HandleIsSync, "no longer a coroutine function"),
        (HandleTakesMore, "is not (self, request)"),
        (HandlerBoundElsewhere, "no longer takes its class's _handle"),
        (ExceptionRenamed, "_http_exception"),
    ],
)
def test_a_changed_system_route_fails_loudly_naming_version_and_range(
    changed: type[SystemRoute], problem: str
) -> None:
    with pytest.raises(RuntimeError) as caught:
        check_system_route(changed)
    message = str(caught.value)
    assert problem in message
    assert f"aiohttp {aiohttp.__version__}" in message
    assert f"aiohttp{SUPPORTED_AIOHTTP}" in message
