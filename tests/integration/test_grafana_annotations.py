"""Each recorded run as a Grafana annotation, against a local stand-in for Grafana's
`POST /api/annotations` that enforces its shape (Grafana itself cannot run here)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from loadtests.options import RecordOptions
from loadtests.record_options import GRAFANA_TOKEN_ENV
from runs.annotate import AnnotateError, annotate_run
from runs.record import after_run
from runtime.ports import free_port
from tests.integration.loadtest_helpers import EXAMPLE_LOCUSTFILE, loadwatch
from tests.integration.threaded_server import serving_in_a_thread
from tests.run_results import STARTED_S, make_result

pytestmark = pytest.mark.integration

TOKEN = "glsa_annotations"
_FIELDS = {"time", "timeEnd", "tags", "text", "dashboardUID", "panelId"}


@dataclass
class FakeGrafana:
    """Keeps annotations as Grafana's API takes them; refuses a bad token (401), or every
    token when `forbidden` (403), and a body of the wrong shape (400)."""

    port: int
    annotations: list[dict[str, Any]] = field(default_factory=list)
    forbidden: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        def refuse(status: int, message: str) -> web.Response:
            return web.json_response({"message": message}, status=status)

        async def add(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return refuse(401, "Invalid API key")
            if self.forbidden:
                return refuse(403, "You'll need additional permissions to perform this action.")
            body = await request.json()
            ok = (
                isinstance(body, dict)
                and set(body) <= _FIELDS
                and isinstance(body.get("time"), int)
                and isinstance(body.get("timeEnd"), int)
                and body["timeEnd"] >= body["time"] > 0
                and isinstance(body.get("text"), str)
                and body["text"]
                and isinstance(body.get("tags"), list)
                and all(isinstance(tag, str) and tag for tag in body["tags"])
            )
            if not ok:
                return refuse(400, "bad request data")
            self.annotations.append(body)
            return web.json_response({"message": "Annotation added", "id": len(self.annotations)})

        app = web.Application()
        app.router.add_post("/api/annotations", add)
        return app


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(free_port())
    with serving_in_a_thread(fake.app(), fake.port):
        yield fake


def test_a_recorded_run_is_annotated_with_its_span_and_tags(
    grafana: FakeGrafana, tmp_path: Path
) -> None:
    recording = RecordOptions(
        record=True,
        history_url=f"sqlite+aiosqlite:///{tmp_path / 'history.sqlite3'}",
        grafana_url=grafana.url,
        grafana_token=TOKEN,
    )
    out, err = io.StringIO(), io.StringIO()
    failed = make_result(failures=100, duration_s=10.0)
    assert after_run(failed, recording, 1, out=out, err=err) == 1
    assert err.getvalue() == ""
    assert f"annotated Grafana at {grafana.url} (id 1)" in out.getvalue()
    (note,) = grafana.annotations
    assert note["time"] == round(STARTED_S * 1000)
    assert note["timeEnd"] == round((STARTED_S + 10.0) * 1000)
    assert note["tags"] == [
        "loadwatch",
        "scenario:browse",
        "target:http://127.0.0.1:8101",
        "failed",
        "regression:no-baseline",
    ]
    assert note["text"].startswith("load test browse against http://127.0.0.1:8101 failed:")
    assert "errors 10.00%" in note["text"]


def test_an_unrecorded_run_has_no_regression_tag(grafana: FakeGrafana) -> None:
    annotate_run(grafana.url, TOKEN, make_result())
    assert grafana.annotations[0]["tags"][3:] == ["passed"]


@pytest.mark.parametrize(
    ("forbidden", "token", "expected"),
    [
        (False, "wrong", "HTTP 401: the token was refused (check --grafana-token"),
        (True, TOKEN, "HTTP 403: the token may not create annotations (it needs the Editor"),
    ],
)
def test_refusals_say_what_to_fix_and_do_not_fail_the_run(
    grafana: FakeGrafana, forbidden: bool, token: str, expected: str
) -> None:
    grafana.forbidden = forbidden
    with pytest.raises(AnnotateError, match=expected.replace("(", r"\(")):
        annotate_run(grafana.url, token, make_result())
    err = io.StringIO()
    recording = RecordOptions(grafana_url=grafana.url, grafana_token=token)
    assert after_run(make_result(), recording, 0, out=io.StringIO(), err=err) == 0
    assert expected in err.getvalue()
    assert grafana.annotations == []


def test_a_wrong_path_and_no_grafana_are_clear_errors(grafana: FakeGrafana) -> None:
    with pytest.raises(AnnotateError, match="HTTP 404: not found .check --grafana-url"):
        annotate_run(grafana.url + "/api", TOKEN, make_result())
    nowhere = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(AnnotateError, match=f"--grafana-url: cannot reach {nowhere}"):
        annotate_run(nowhere, TOKEN, make_result())


def test_loadwatch_loadtest_annotates_with_the_token_from_the_environment(
    hello_url: str, grafana: FakeGrafana, tmp_path: Path
) -> None:
    """The path `loadwatch schedule` takes: the URL on the command line, the token in the
    environment; a real Locust run against the example service."""
    host = hello_url
    (tmp_path / "sla.yaml").write_text("version: 1\nobjectives:\n  error_rate: 50%\n")
    done = loadwatch(
        *("loadtest", str(EXAMPLE_LOCUSTFILE)),
        *("--host", host, "--users", "2", "--spawn-rate", "2", "--duration", "2s"),
        *("--grafana-url", grafana.url),
        cwd=tmp_path,
        env={**os.environ, GRAFANA_TOKEN_ENV: TOKEN},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"annotated Grafana at {grafana.url} (id 1)" in done.stdout
    (note,) = grafana.annotations
    assert f"target:{host}" in note["tags"] and "passed" in note["tags"]
