"""/static/ served from memory by a real aiohttp server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from reference_services.assets import (
    ASSET_MANIFEST_KEY,
    AssetManifest,
    add_static_routes,
)

STATIC_SRC = Path(__file__).resolve().parents[2] / "reference_services" / "static_src"
IMMUTABLE = "public, max-age=86400, immutable"


@pytest.fixture(scope="module")
def manifest() -> AssetManifest:
    return AssetManifest.build(STATIC_SRC)


@pytest.fixture
async def client(
    manifest: AssetManifest,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_static_routes(app, manifest)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("logical_name", "content_type"),
    [
        ("app.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("course-thumb.png", "image/webp"),
        ("instructor.jpg", "image/webp"),
        ("logo.png", "image/png"),
    ],
)
async def test_each_asset_is_served_with_exact_caching_headers(
    client: TestClient[web.Request, web.Application],
    manifest: AssetManifest,
    logical_name: str,
    content_type: str,
) -> None:
    url = manifest.url_for(logical_name)
    asset = manifest.get(url.rsplit("/", 1)[1])
    assert asset is not None
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["ETag"] == asset.etag
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Length"] == str(len(asset.content))
    assert await response.read() == asset.content


async def test_etag_round_trip_gives_304_without_a_body(
    client: TestClient[web.Request, web.Application], manifest: AssetManifest
) -> None:
    url = manifest.url_for("app.css")
    first = await client.get(url)
    etag = first.headers["ETag"]
    for if_none_match in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        again = await client.get(url, headers={"If-None-Match": if_none_match})
        assert again.status == 304, if_none_match
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == IMMUTABLE
        assert "Content-Type" not in again.headers
    stale = await client.get(url, headers={"If-None-Match": '"0123456789ab"'})
    assert stale.status == 200
    assert await stale.read() == await first.read()


async def test_head_sends_headers_only(
    client: TestClient[web.Request, web.Application], manifest: AssetManifest
) -> None:
    url = manifest.url_for("course-thumb.png")
    response = await client.head(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert response.headers["Cache-Control"] == IMMUTABLE
    asset = manifest.get(url.rsplit("/", 1)[1])
    assert asset is not None
    assert response.headers["ETag"] == asset.etag
    assert response.headers["Content-Length"] == str(len(asset.content))
    assert await response.read() == b""
    conditional = await client.head(url, headers={"If-None-Match": response.headers["ETag"]})
    assert conditional.status == 304


@pytest.mark.parametrize("path", ["/static/app.css", "/static/app.000000000000.css"])
async def test_unknown_name_is_a_404_json_error_that_is_not_cached(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_type == "application/json"
    name = path.rsplit("/", 1)[1]
    assert await response.json() == {"error": f"no static asset named {name!r}"}


async def test_manifest_maps_logical_names_to_servable_urls(
    client: TestClient[web.Request, web.Application], manifest: AssetManifest
) -> None:
    response = await client.get("/static/manifest.json")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.content_type == "application/json"
    urls = json.loads(await response.read())
    assert urls == {
        asset.logical_name: manifest.url_for(asset.logical_name) for asset in manifest.assets
    }
    for url in urls.values():
        assert (await client.get(url)).status == 200
    revalidated = await client.get(
        "/static/manifest.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert revalidated.status == 304


async def test_custom_prefix_and_app_key(manifest: AssetManifest) -> None:
    app = web.Application()
    add_static_routes(app, manifest, prefix="/assets")
    assert app[ASSET_MANIFEST_KEY] is manifest
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        urls = await (await client.get("/assets/manifest.json")).json()
        assert urls["app.js"] == manifest.url_for("app.js", prefix="/assets")
        assert (await client.get(urls["app.js"])).status == 200
        assert (await client.get(manifest.url_for("app.js"))).status == 404


@pytest.mark.parametrize("prefix", ["static", "/static/", ""])
def test_malformed_prefix_is_refused(manifest: AssetManifest, prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix: expected a path like '/static'"):
        add_static_routes(web.Application(), manifest, prefix=prefix)
