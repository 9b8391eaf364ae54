"""Each service's GET /openapi.json is a valid OpenAPI 3.1 document that lists every route
the app registers (but /metrics, /live/* and static files), so the two cannot drift."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from prometheus_client import CollectorRegistry

from collector import conventions as names
from receiver.app import make_receiver_app
from receiver.settings import ReceiverSettings
from reference_services.campaign import make_campaign_app
from reference_services.course.app import make_course_app
from reference_services.settings import ServiceSettings
from reference_services.social import make_social_app
from tests.integration.openapi_services import RECEIVER_TOKEN, SERVICES, serving

UNDOCUMENTED = (names.METRICS_PATH, "/live/", "/static/")


def build(service: str, folder: Path) -> web.Application:
    url = f"sqlite+aiosqlite:///{folder / 'db.sqlite3'}"
    registry = CollectorRegistry()
    if service == "course":
        return make_course_app(ServiceSettings.build("course", database_url=url), registry=registry)
    if service == "campaign":
        settings = ServiceSettings.build("campaign", database_url=url)
        return make_campaign_app(settings, registry=registry)
    if service == "social":
        return make_social_app(registry=registry)
    settings_r = ReceiverSettings.build(token=RECEIVER_TOKEN, database_url=url)
    return make_receiver_app(settings_r, registry=registry)


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or path.startswith(UNDOCUMENTED):
            continue
        routes.add((route.method, path))
    return routes


def fetch_document(base_url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        document: dict[str, object] = json.load(response)
    return document


@pytest.mark.parametrize("service", SERVICES)
def test_the_served_document_is_openapi_3_1_and_lists_every_route(
    service: str, tmp_path: Path
) -> None:
    with serving(service, tmp_path) as base_url:
        document = fetch_document(base_url)
    validate(document)  # the OpenAPI 3.1 meta-schema and every schema in it (2020-12)
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    assert isinstance(paths, dict)
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert documented == registered_routes(build(service, tmp_path))


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_the_error_shape_for_its_failures(
    service: str, tmp_path: Path
) -> None:
    with serving(service, tmp_path) as base_url:
        document = fetch_document(base_url)
    paths = document["paths"]
    assert isinstance(paths, dict)
    publish = "/campaigns/{campaign_id}/publish"  # 422 and 502 carry each platform's result
    for path, item in paths.items():
        for operation in item.values():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and (path, status) not in {
                    (publish, "422"),
                    (publish, "502"),
                }:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}
            if "parameters" in operation or "requestBody" in operation:
                assert "400" in operation["responses"]
