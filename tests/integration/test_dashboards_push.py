"""`loadwatch dashboards push` against a local stand-in for Grafana's HTTP API that enforces
the shape of its requests (Grafana itself cannot run here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from collector.exit_codes import ExitCode
from dashboards.generate import JSON_DIR
from dashboards.push import PushError, push_dashboards
from loadwatch.cli import main
from runtime.ports import free_port
from tests.integration.threaded_server import serving_in_a_thread

pytestmark = pytest.mark.integration

TOKEN = "glsa_test_token"


@dataclass
class FakeGrafana:
    """Keeps dashboards by uid and folders by title, as Grafana's API answers them."""

    port: int
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)
    forbidden: bool = False
    conflict_uid: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        async def authorized(request: web.Request) -> None:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                raise web.HTTPUnauthorized(
                    text=json.dumps({"message": "Invalid API key"}), content_type="application/json"
                )
            if self.forbidden:
                raise web.HTTPForbidden(
                    text=json.dumps({"message": "Access denied"}), content_type="application/json"
                )

        async def save(request: web.Request) -> web.Response:
            await authorized(request)
            body = await request.json()
            dashboard = body["dashboard"]
            assert body["overwrite"] is True, "a push must overwrite by uid"
            assert dashboard["id"] is None and dashboard["uid"], "stable uid, no numeric id"
            assert isinstance(dashboard["panels"], list) and dashboard["title"]
            if "folderUid" in body:
                assert body["folderUid"] in self.folders.values()
            if dashboard["uid"] == self.conflict_uid:
                return web.json_response({"message": "version-mismatch"}, status=412)
            uid = dashboard["uid"]
            self.dashboards[uid] = dashboard
            self.versions[uid] = self.versions.get(uid, 0) + 1
            return web.json_response(
                {"uid": uid, "version": self.versions[uid], "url": f"/d/{uid}/x", "status": "ok"}
            )

        async def folders(request: web.Request) -> web.Response:
            await authorized(request)
            return web.json_response([{"uid": u, "title": t} for t, u in self.folders.items()])

        async def create_folder(request: web.Request) -> web.Response:
            await authorized(request)
            title = (await request.json())["title"]
            self.folders[title] = f"f{len(self.folders) + 1}"
            return web.json_response({"uid": self.folders[title], "title": title})

        app = web.Application()
        app.router.add_post("/api/dashboards/db", save)
        app.router.add_get("/api/folders", folders)
        app.router.add_post("/api/folders", create_folder)
        return app


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(free_port())
    with serving_in_a_thread(fake.app(), fake.port):
        yield fake


def _files() -> list[Path]:
    return sorted(JSON_DIR.glob("*.json"))


def test_every_dashboard_is_uploaded_into_its_folder_and_a_second_push_overwrites(
    grafana: FakeGrafana,
) -> None:
    first = push_dashboards(_files(), grafana.url, TOKEN, folder="loadwatch")
    second = push_dashboards(_files(), grafana.url, TOKEN, folder="loadwatch")
    assert sorted(grafana.dashboards) == sorted(p.stem for p in _files())
    assert [r.version for r in first] == [1, 1, 1] and [r.version for r in second] == [2, 2, 2]
    assert grafana.folders == {"loadwatch": "f1"}, "the folder is created once, then found"


@pytest.mark.parametrize(
    ("setup", "token", "expected"),
    [
        ({}, "wrong", "HTTP 401: the token was refused"),
        ({"forbidden": True}, TOKEN, "HTTP 403: the token may not write dashboards"),
        ({"conflict_uid": "loadwatch-service"}, TOKEN, "HTTP 412"),
    ],
)
def test_refusals_say_what_to_fix(
    grafana: FakeGrafana, setup: dict[str, Any], token: str, expected: str
) -> None:
    for key, value in setup.items():
        setattr(grafana, key, value)
    with pytest.raises(PushError, match=expected):
        push_dashboards(_files(), grafana.url, token)


def test_a_wrong_url_path_is_a_404_and_no_grafana_is_a_clear_error(grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match="HTTP 404: not found"):
        push_dashboards(_files(), grafana.url + "/nothing-here", TOKEN)
    with pytest.raises(PushError, match="cannot reach Grafana"):
        push_dashboards(_files(), f"http://127.0.0.1:{free_port()}", TOKEN)


def test_the_cli_pushes_and_exits_by_outcome(
    grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dashboards", "push", "--grafana-url", grafana.url]
    assert main([*args, "--token", TOKEN]) == ExitCode.OK
    assert "pushed loadwatch-sla-overview (version 1)" in capsys.readouterr().out
    assert main([*args, "--token", "wrong"]) == ExitCode.FAILED
    assert "HTTP 401" in capsys.readouterr().err
