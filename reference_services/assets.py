"""Static assets: optimized once at start, served from memory under content-hashed names.

`AssetManifest.build(source_dir)` reads every file once: CSS and JS are minified, PNG and
JPEG images become WebP (quality 85), anything else is copied verbatim. Each result is named
after the sha256 of the bytes served (`app.3f2a9c1b7d0e.css`), so a URL never changes
content and `add_static_routes` serves it with `Cache-Control: public, max-age=86400,
immutable` (the guide's CDN TTL for /static/*). Building is the only cost (~0.3 ms per KB
of CSS/JS, ~15 ms per 100 kpx of image; ~30 ms for static_src/); serving is a dict lookup.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiohttp import web
from PIL import Image, ImageOps

__all__ = [
    "ASSET_MANIFEST_KEY",
    "STATIC_CACHE_CONTROL",
    "Asset",
    "AssetManifest",
    "add_static_routes",
    "api_cache_control",
    "build_asset",
    "content_hash",
    "etag_matches",
    "minify_css",
    "minify_js",
    "to_webp",
]

STATIC_CACHE_CONTROL = "public, max-age=86400, immutable"
"""For content-hashed URLs only: a changed file gets a new name, never new bytes."""

_LINE_BREAKS = "\n\r\u2028\u2029"
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}


def content_hash(data: bytes) -> str:
    """The first 12 hex digits (48 bits) of the sha256 of `data`; cost ~1 ms per MB."""
    return hashlib.sha256(data).hexdigest()[:12]


def api_cache_control(max_age_s: int = 300) -> str:
    """`Cache-Control` for a cacheable API GET: "public, max-age=300" (the guide's CDN TTL).

    Only for responses that are the same for every client; `max_age_s` is in seconds.
    """
    if isinstance(max_age_s, bool) or not isinstance(max_age_s, int) or max_age_s < 0:
        raise ValueError(f"max_age_s: expected a whole number of seconds >= 0, got {max_age_s!r}")
    return f"public, max-age={max_age_s}"


def _where(text: str, index: int, problem: str) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{problem} at line {line}, column {column}"


def _string_end(text: str, start: int) -> int:
    """Index just past the quoted string starting at `start` (backslash escapes honoured)."""
    quote, i = text[start], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 3 if text.startswith("\r\n", i + 1) else 2
        elif c == quote:
            return i + 1
        elif c in _LINE_BREAKS:
            break
        else:
            i += 1
    raise ValueError(_where(text, start, "unterminated string"))


def _comment_end(text: str, start: int) -> int:
    end = text.find("*/", start + 2)
    if end < 0:
        raise ValueError(_where(text, start, "unterminated comment"))
    return end + 2


_CSS_NO_SPACE_BEFORE = frozenset("{};,>)")
_CSS_NO_SPACE_AFTER = frozenset("{};,>:(")


def minify_css(text: str) -> str:
    """Strip comments and collapse whitespace; strings and unquoted `url(...)` stay verbatim.

    Whitespace goes before `{ } ; , > )` and after `{ } ; , > ( :`, and a `;` before `}`; it
    stays around `+`/`-` (calc), before `:` (`a :hover`), before `(` (`and (`) and after `)`.
    It does not shorten colours or numbers, merge rules, or keep `/*! */` licence comments.
    O(n), ~0.3 ms per KB; raises ValueError (with line and column) on an unterminated
    comment, string or `url(`.
    """
    out: list[str] = []
    pending = False
    i, n = 0, len(text)

    def emit(token: str) -> None:
        nonlocal pending
        if (
            pending
            and out
            and out[-1] not in _CSS_NO_SPACE_AFTER
            and token not in _CSS_NO_SPACE_BEFORE
        ):
            out.append(" ")
        pending = False
        if token == "}" and out and out[-1] == ";":
            out.pop()
        out.append(token)

    while i < n:
        c = text[i]
        if c.isspace():
            pending, i = True, i + 1
        elif text.startswith("/*", i):
            pending, i = True, _comment_end(text, i)
        elif c in "\"'":
            end = _string_end(text, i)
            emit(text[i:end])
            i = end
        elif c == "\\":
            emit(text[i : i + 2])
            i += 2
        elif text[i : i + 4].lower() == "url(" and not (i and _is_css_name(text[i - 1])):
            j = i + 4
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] in "\"'":
                emit(text[i : i + 4])
                i = j
                continue
            end = text.find(")", j)
            if end < 0:
                raise ValueError(_where(text, i, "unterminated url("))
            emit(f"{text[i : i + 4]}{text[j:end].strip()})")
            i = end + 1
        else:
            emit(c)
            i += 1
    return "".join(out)


def _is_css_name(c: str) -> bool:
    return c.isalnum() or c in "-_\\" or ord(c) > 127


def _is_js_word(c: str) -> bool:
    return c.isalnum() or c in "_$\\" or ord(c) > 127


_JS_REGEX_AFTER_WORDS = frozenset(
    {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case"}
    | {"do", "else", "yield", "await"}
)
_JS_JOIN_AFTER = frozenset("{[(,;=:?&|")
_JS_JOIN_BEFORE = frozenset("}]),;.")


def _js_needs_space(last: str, nxt: str) -> bool:
    """Whether the tokens `last` and `nxt` would merge (or flags join a regex) without a space."""
    prev = last[-1]
    return (
        (_is_js_word(prev) and _is_js_word(nxt))
        or (len(last) > 1 and last[0] == "/" and _is_js_word(nxt))
        or (prev in "+-" and nxt in "+-")
        or (prev == "/" and nxt in "/*")
        or (prev.isdigit() and nxt == ".")
    )


def _js_template_chunk(text: str, start: int) -> tuple[int, bool]:
    """From inside a template literal: (index past the chunk, whether it ends in `${`)."""
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "`":
            return i + 1, False
        elif text.startswith("${", i):
            return i + 2, True
        else:
            i += 1
    raise ValueError(_where(text, start - 1, "unterminated template literal"))


def _js_regex_end(text: str, start: int) -> int:
    i, in_class = start + 1, False
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 1
        elif c in _LINE_BREAKS:
            break
        elif c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            return i + 1
        i += 1
    raise ValueError(_where(text, start, "unterminated regular expression"))


def minify_js(text: str) -> str:
    """Strip comments and collapse whitespace; string, template and regex literals stay verbatim.

    Conservative by design: it renames nothing and removes no `;` or dead code. A line break
    is kept (for automatic semicolon insertion) unless it follows one of `{ [ ( , ; = : ? & |`
    or precedes one of `} ] ) , ; .`; a space is kept only where tokens would merge (`a b`,
    `a + +b`, `1 .x`). Template `${...}` expressions are minified, nesting included. A `/`
    starts a regex at the start, after an operator or `( [ { } , ;`, or after a keyword such
    as `return`; after `)`, `]`, `++`, `--`, a name or a literal it is division, so
    `if (x) /re/.test(s)` is misread: write `if (x) (/re/).test(s)`. O(n), ~0.3 ms per KB;
    raises ValueError (with line and column) on an unterminated comment or literal.
    """
    out: list[str] = []
    pending = ""  # "", " " or "\n": whitespace seen since the last token
    templates: list[int] = []  # open `{` count inside each enclosing `${ ... }`
    regex_ok, previous = True, ""
    i, n = 0, len(text)

    def emit(token: str) -> None:
        nonlocal pending
        if pending and out:
            prev, nxt = out[-1][-1], token[0]
            if pending == "\n" and prev not in _JS_JOIN_AFTER and nxt not in _JS_JOIN_BEFORE:
                out.append("\n")
            elif _js_needs_space(out[-1], nxt):
                out.append(" ")
        pending = ""
        out.append(token)

    while i < n:
        c = text[i]
        start = i
        if c in _LINE_BREAKS:
            pending, i = "\n", i + 1
            continue
        if c.isspace() or c == "\ufeff":
            pending, i = pending or " ", i + 1
            continue
        if text.startswith("//", i):
            while i < n and text[i] not in _LINE_BREAKS:
                i += 1
            continue
        if text.startswith("/*", i):
            i = _comment_end(text, i)
            has_break = any(b in text[start:i] for b in _LINE_BREAKS)
            pending = "\n" if has_break or pending == "\n" else " "
            continue
        if c in "\"'":
            i = _string_end(text, i)
            regex_ok, previous = False, text[start:i]
        elif c == "`" or (c == "}" and templates and templates[-1] == 0):
            if c == "}":
                templates.pop()
            i, opened = _js_template_chunk(text, i + 1)
            if opened:
                templates.append(0)
            regex_ok, previous = opened, text[start:i]
        elif c == "/" and regex_ok:
            i = _js_regex_end(text, i)
            regex_ok, previous = False, text[start:i]
        elif _is_js_word(c):
            while i < n and _is_js_word(text[i]):
                i += 1
            word = text[start:i]
            regex_ok = word in _JS_REGEX_AFTER_WORDS and previous != "."
            previous = word
        else:
            if templates and c in "{}":
                templates[-1] += 1 if c == "{" else -1
            regex_ok = c not in ")]" and not (c in "+-" and previous == c)
            previous, i = c, i + 1
        emit(text[start:i])
    return "".join(out)


def to_webp(data: bytes, quality: int = 85) -> bytes:
    """Re-encode a PNG/JPEG/GIF (first frame) as lossy WebP at `quality` (0-100).

    EXIF orientation is applied and metadata other than the colour profile is dropped;
    alpha is kept. Costs ~15 ms per 100 kpx. Raises ValueError if `data` is not an image.
    """
    if not 0 <= quality <= 100:
        raise ValueError(f"quality: expected 0..100, got {quality!r}")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            icc_profile = opened.info.get("icc_profile")
            image = image.convert("RGBA" if alpha else "RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from exc
    buffer = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    image.save(buffer, format="WEBP", quality=quality, method=4, **options)
    return buffer.getvalue()


@dataclass(frozen=True)
class Asset:
    """One optimized file, ready to serve; `etag` is strong and quoted."""

    logical_name: str
    url_name: str
    content: bytes
    content_type: str
    etag: str
    source_bytes: int


def build_asset(logical_name: str, data: bytes) -> Asset:
    """Optimize one source file named `logical_name` (e.g. "app.css").

    An image is served as WebP only when that is smaller than the source; otherwise (tiny
    flat graphics) the source bytes are kept under their own type. Raises ValueError naming
    the file for CSS/JS that does not tokenize or an image that does not decode.
    """
    path = PurePosixPath(logical_name)
    suffix = path.suffix
    try:
        if suffix.lower() == ".css":
            content = minify_css(data.decode("utf-8-sig")).encode()
        elif suffix.lower() in (".js", ".mjs"):
            content = minify_js(data.decode("utf-8-sig")).encode()
        elif suffix.lower() in _IMAGE_SUFFIXES:
            webp = to_webp(data)
            content, suffix = (webp, ".webp") if len(webp) < len(data) else (data, suffix)
        else:
            content = data
    except ValueError as exc:
        raise ValueError(f"{logical_name}: {exc}") from exc
    digest = content_hash(content)
    stem = path.name[: len(path.name) - len(path.suffix)]
    return Asset(
        logical_name=logical_name,
        url_name=f"{stem}.{digest}{suffix}",
        content=content,
        content_type=_CONTENT_TYPES.get(suffix.lower(), "application/octet-stream"),
        etag=f'"{digest}"',
        source_bytes=len(data),
    )


class AssetManifest:
    """Optimized assets by logical name ("app.css") and by hashed URL name; read-only."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self._by_logical: dict[str, Asset] = {}
        for asset in sorted(assets, key=lambda a: a.logical_name):
            if asset.logical_name in self._by_logical:
                raise ValueError(f"duplicate static asset {asset.logical_name!r}")
            self._by_logical[asset.logical_name] = asset
        self._by_url = {asset.url_name: asset for asset in self._by_logical.values()}

    @classmethod
    def build(cls, source_dir: Path) -> AssetManifest:
        """Optimize every file directly in `source_dir` once (dotfiles skipped).

        Deterministic: the same files give the same names. Subdirectories are refused
        (ValueError) because /static/ names are flat. Cost: see `build_asset`.
        """
        if not source_dir.is_dir():
            raise ValueError(f"{source_dir}: static source directory does not exist")
        assets = []
        for path in sorted(source_dir.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_dir():
                raise ValueError(f"{path}: subdirectories are not supported (names are flat)")
            assets.append(build_asset(path.name, path.read_bytes()))
        return cls(assets)

    @property
    def assets(self) -> tuple[Asset, ...]:
        """All assets, sorted by logical name."""
        return tuple(self._by_logical.values())

    @property
    def total_saved_bytes(self) -> int:
        """Source bytes minus served bytes over all assets."""
        return sum(a.source_bytes - len(a.content) for a in self._by_logical.values())

    def url_for(self, logical_name: str, *, prefix: str = "/static") -> str:
        """The URL to put in HTML, e.g. "/static/app.3f2a9c1b7d0e.css"; KeyError if unknown."""
        asset = self._by_logical.get(logical_name)
        if asset is None:
            known = ", ".join(self._by_logical) or "none"
            raise KeyError(f"no static asset named {logical_name!r} (known: {known})")
        return f"{prefix}/{asset.url_name}"

    def get(self, url_name: str) -> Asset | None:
        """The asset served as `url_name` ("app.3f2a9c1b7d0e.css"), or None."""
        return self._by_url.get(url_name)

    def urls(self, *, prefix: str = "/static") -> dict[str, str]:
        """Logical name -> URL for every asset, sorted by logical name."""
        return {name: self.url_for(name, prefix=prefix) for name in self._by_logical}


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
