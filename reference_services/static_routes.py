"""/static/ served from memory, and the HTTP caching headers of the reference services.

`add_static_routes(app, manifest)` serves an `AssetManifest` (see
`reference_services.assets`) with `Cache-Control: public, max-age=86400, immutable` (the
guide's CDN TTL for /static/*), a strong ETag and 304 on a matching If-None-Match. Serving
is a dict lookup.
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from reference_services.assets import AssetManifest, content_hash

__all__ = [
    "ASSET_MANIFEST_KEY",
    "STATIC_CACHE_CONTROL",
    "add_static_routes",
    "api_cache_control",
    "etag_matches",
]

STATIC_CACHE_CONTROL = "public, max-age=86400, immutable"
"""For content-hashed URLs only: a changed file gets a new name, never new bytes."""


def api_cache_control(max_age_s: int = 300) -> str:
    """`Cache-Control` for a cacheable API GET: "public, max-age=300" (the guide's CDN TTL).

    Only for responses that are the same for every client; `max_age_s` is in seconds.
    """
    if isinstance(max_age_s, bool) or not isinstance(max_age_s, int) or max_age_s < 0:
        raise ValueError(f"max_age_s: expected a whole number of seconds >= 0, got {max_age_s!r}")
    return f"public, max-age={max_age_s}"


_ETAG_IN_HEADER = re.compile(r'(?:W/)?("[^"]*")')


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match value ("*", or a list of possibly weak tags) matches `etag`.

    Uses the weak comparison RFC 9110 section 13.1.2 prescribes for If-None-Match.
    """
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in _ETAG_IN_HEADER.findall(if_none_match)


ASSET_MANIFEST_KEY: web.AppKey[AssetManifest] = web.AppKey(
    "loadwatch_asset_manifest", AssetManifest
)


def _cached(
    request: web.Request, body: bytes, content_type: str, etag: str, cache: str
) -> web.Response:
    headers = {"Cache-Control": cache, "ETag": etag}
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)


def add_static_routes(
    app: web.Application, manifest: AssetManifest, prefix: str = "/static"
) -> None:
    """Serve `manifest` from memory at GET/HEAD `{prefix}/{filename}`.

    Responses carry `STATIC_CACHE_CONTROL`, the strong ETag and the content type; a
    matching If-None-Match gives 304 without a body; an unknown name gives 404 JSON with
    `Cache-Control: no-store` (so a CDN does not pin a miss during a rolling deploy).
    `{prefix}/manifest.json` maps logical names to URLs (`no-cache`, revalidated by ETag).
    Also stores the manifest under `ASSET_MANIFEST_KEY` for templates; call before startup.
    """
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"prefix: expected a path like '/static', got {prefix!r}")
    manifest_body = json.dumps(manifest.urls(prefix=prefix), indent=2, sort_keys=True).encode()
    manifest_etag = f'"{content_hash(manifest_body)}"'

    async def manifest_json(request: web.Request) -> web.Response:
        return _cached(request, manifest_body, "application/json", manifest_etag, "no-cache")

    async def static_file(request: web.Request) -> web.Response:
        filename = request.match_info["filename"]
        asset = manifest.get(filename)
        if asset is None:
            return web.json_response(
                {"error": f"no static asset named {filename!r}"},
                status=404,
                headers={"Cache-Control": "no-store"},
            )
        return _cached(request, asset.content, asset.content_type, asset.etag, STATIC_CACHE_CONTROL)

    app[ASSET_MANIFEST_KEY] = manifest
    app.router.add_get(f"{prefix}/manifest.json", manifest_json)
    app.router.add_get(prefix + "/{filename}", static_file)
