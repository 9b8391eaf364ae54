"""Static assets optimized once at start and named after their content. No HTTP here.

`AssetManifest.build(source_dir)` reads every file once: CSS and JS are minified (rcssmin,
rjsmin), PNG and JPEG images become WebP (quality 85), anything else is copied verbatim.
Each result is named after the sha256 of the bytes served (`app.3f2a9c1b7d0e.css`), so a
URL never changes content; `reference_services.static_routes` serves the manifest. Building
is the only cost (~15 ms per 100 kpx of image, ~20 µs per KB of CSS/JS).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import rcssmin
import rjsmin
from PIL import Image, ImageOps

__all__ = [
    "Asset",
    "AssetManifest",
    "build_asset",
    "content_hash",
    "minify_css",
    "minify_js",
    "to_webp",
]

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


def minify_css(text: str) -> str:
    """`text` without comments and needless whitespace, by rcssmin (C, ~11 µs per KB).

    Strings stay verbatim; whitespace inside `url(...)` is removed (write a space in a file
    name as `%20`), and `/*! */` licence comments go too. There is no error detection: a
    stylesheet that does not tokenize comes out as broken as it went in.
    """
    minified: str = rcssmin.cssmin(text)
    return minified


def minify_js(text: str) -> str:
    """`text` without comments and needless whitespace, by rjsmin (C, ~20 µs per KB).

    Renames nothing. String, regex and template literals stay verbatim, `${...}` included.
    Known limits: `1 .toFixed()` becomes `1.toFixed()` (write `(1).toFixed()`), and a line
    break inside a block comment is not kept for semicolon insertion (`return /*\n*/ x`
    becomes `return x`). There is no error detection.
    """
    minified: str = rjsmin.jsmin(text)
    return minified


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
    the file for CSS/JS that is not UTF-8 or an image that does not decode.
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
