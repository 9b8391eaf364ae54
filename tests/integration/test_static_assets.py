"""/static/ served from memory by a real aiohttp server on 127.0.0.1 (port 0), and the
served JavaScript run by Node.js next to its source."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from reference_services.assets import AssetManifest
from reference_services.static_routes import ASSET_MANIFEST_KEY, add_static_routes
from tests.conftest import TIMEOUT_UNIT_S, missing_component

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


# Loads app.js in a Node.js VM with a stub DOM, calls its functions, prints the results.
NODE_HARNESS = """
const vm = require("vm");
const code = require("fs").readFileSync(process.argv[2], "utf8");
const items = [];
const sandbox = {
  items, Intl, encodeURIComponent, setTimeout, clearTimeout,
  console: { info: () => {} },
  document: { addEventListener: () => {}, createElement: () => ({ dataset: {} }) },
};
vm.createContext(sandbox);
vm.runInContext(code + `
globalThis.results = {
  slugs: [SLUG_RE.test("intro-to-python"), SLUG_RE.test("Bad Slug")],
  price: formatPrice(123456, "EUR"),
  url: courseUrl({ slug: "a b/c" }),
  short: describe({ title: "T", lessons: 3 }),
  long: describe({ title: "Deep  Learning", lessons: 12 }),
  rendered: render({ appendChild: (item) => items.push(item) },
                   [{ title: "T", lessons: 12, price_cents: 999, slug: "x-y" }]),
  constants: [API_BASE, DOCS_URL, BANNER, DEBOUNCE_MS, CLASS_SLASHES.source],
};`, sandbox);
sandbox.results.items = items.map((item) => [item.textContent, item.dataset.url]);
console.log(JSON.stringify(sandbox.results));
"""


def run_in_node(node: str, harness: Path, script: Path) -> Any:
    result = subprocess.run(
        [node, str(harness), str(script)],
        capture_output=True,
        text=True,
        timeout=30 * TIMEOUT_UNIT_S,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_the_served_javascript_behaves_like_its_source(
    client: TestClient[web.Request, web.Application], manifest: AssetManifest, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        missing_component("node is not installed (apt-get install nodejs)")
    assert node is not None
    served = await (await client.get(manifest.url_for("app.js"))).read()
    source = (STATIC_SRC / "app.js").read_bytes()
    assert len(served) < len(source)
    (tmp_path / "served.js").write_bytes(served)
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    minified = run_in_node(node, tmp_path / "harness.js", tmp_path / "served.js")
    original = run_in_node(node, tmp_path / "harness.js", STATIC_SRC / "app.js")
    assert minified == original
    assert original["short"] == 'Course   "T"  —  3 lessons // short'
    assert original["long"] == 'Course   "Deep  Learning"  —  12 lessons // long /* course */'
    assert original["url"] == "https://api.example.com/v1/courses/a%20b%2Fc?fields=id,title"
    assert original["rendered"] == 2
    assert original["items"][0][1] == "/v1/courses/x-y?fields=id,title"
