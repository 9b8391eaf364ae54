"""Asset optimization without a server: minification, WebP, hashing and the manifest."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from reference_services.assets import (
    Asset,
    AssetManifest,
    build_asset,
    content_hash,
    minify_css,
    minify_js,
    to_webp,
)

STATIC_SRC = Path(__file__).resolve().parents[2] / "reference_services" / "static_src"
CSS_KEPT = (  # strings, urls and calc() as they must appear in the minified app.css
    "url(https://fonts.example.com/inter/v3/inter-latin.woff2)",
    'url("https://fonts.example.com/inter/v3/inter-latin.woff")',
    'url("/static/noise.png")',
    "url(data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=)",
    'content:" // "',
    "content:'/* per seat */'",
    'a[href^="http://"]',
    "calc(var(--gap) * 2) calc(var(--gap) + 4px)",
)
JS_KEPT = (  # literals and ASI-relevant breaks as they must appear in app.min.js
    '"https://api.example.com/v1"',
    "'http://docs.example.com/courses/*/syllabus'",
    '"/* course catalogue */ // v1"',
    "/^[a-z0-9]+(?:-[a-z0-9]+)*$/",
    "/^https?:\\/\\/[^\\/]+/i",
    "/[/]{2}/g",
    "cents/100",
    '`Course   "${course.title}"  —  ${course.lessons} lessons // ${',
    '`long ${"/* course */"}`',
    "' (see '",
    "i++\n++i",
)


def read(name: str) -> str:
    return (STATIC_SRC / name).read_text(encoding="utf-8")


# ---- CSS ----


def test_css_comments_and_whitespace_go_but_strings_stay_verbatim() -> None:
    css = """
    /* header */
    .price::after {
        content: '/* per seat */' ;   /* trailing */
        quotes: "//" "\\"  x  \\"";
    }
    """
    assert minify_css(css) == (
        '.price::after{content:\'/* per seat */\';quotes:"//" "\\"  x  \\""}'
    )


def test_css_urls_keep_their_slashes_and_lose_their_whitespace() -> None:
    css = "a { background: url( https://cdn.example.com//img/a.png ) , url( 'b%20c.png' ) }"
    assert minify_css(css) == (
        "a{background:url(https://cdn.example.com//img/a.png),url('b%20c.png')}"
    )
    assert minify_css("a { b: url('b c.png') }") == "a{b:url('bc.png')}"  # hence %20


def test_css_keeps_the_whitespace_that_carries_meaning() -> None:
    css = """
    .a .b:hover, .c > .d { width: calc(100% - 2 * 8px); }
    @media screen and (min-width: 600px) { .a :first-child { margin: 0 auto } }
    """
    assert minify_css(css) == (
        ".a .b:hover,.c>.d{width:calc(100% - 2 * 8px)}"
        "@media screen and (min-width:600px){.a :first-child{margin:0 auto}}"
    )


def test_css_function_named_like_url_is_not_mistaken_for_url() -> None:
    assert minify_css("a { b: my-url( x ) }") == "a{b:my-url(x)}"


def test_css_comment_between_words_still_separates_them() -> None:
    assert minify_css("a/* x */b{c:d}") == "a b{c:d}"


def test_real_css_shrinks_and_keeps_every_string_and_url() -> None:
    source = read("app.css")
    minified = minify_css(source)
    assert len(minified) < 0.7 * len(source)
    assert "Course catalogue styles" not in minified  # comments are gone
    for kept in CSS_KEPT:
        assert kept in minified
    assert minify_css(minified) == minified


# ---- JavaScript ----


def test_js_strings_with_comment_markers_survive() -> None:
    js = """const a = "https://x.example/*/y"; // comment
const b = '/* not a comment */ // nor this';  /* block */ const c = 1;"""
    assert minify_js(js) == (
        "const a=\"https://x.example/*/y\";const b='/* not a comment */ // nor this';const c=1;"
    )


def test_js_regex_literals_keep_slashes_spaces_and_classes() -> None:
    js = "s = t.replace(/ +/g, ' ').replace(/[/]{2}/, '/');\nr = /^https?:\\/\\/[^\\/]+/i;"
    assert minify_js(js) == (
        "s=t.replace(/ +/g,' ').replace(/[/]{2}/,'/');r=/^https?:\\/\\/[^\\/]+/i;"
    )


def test_js_division_is_not_read_as_a_regex() -> None:
    js = "x = a / b / c; y = (a) / 2 / (b); z = arr[0] / 4; // / tail"
    assert minify_js(js) == "x=a/b/c;y=(a)/2/(b);z=arr[0]/4;"


def test_js_regex_after_a_keyword() -> None:
    assert minify_js("return / x /.test(s)") == "return/ x /.test(s)"


def test_js_template_literals_stay_verbatim() -> None:
    js = "t = `a  //  ${ f( { k : 1 }.k ) }  b ${ c ? 'in' : '  e' }  `;"
    assert minify_js(js) == "t=`a  //  ${ f( { k : 1 }.k ) }  b ${ c ? 'in' : '  e' }  `;"


def test_js_keeps_line_breaks_where_semicolon_insertion_depends_on_them() -> None:
    js = "function f() {\n  return\n  x\n}\ni++\n++j\na = b\n(c)\nlet k = 1"
    assert minify_js(js) == "function f(){return\nx}\ni++\n++j\na=b\n(c)\nlet k=1"


def test_js_joins_lines_where_that_is_safe() -> None:
    js = "call(\n  a,\n  b\n)\n  .then(x)\n  .catch(y);\nobj = {\n  k: 1,\n};"
    assert minify_js(js) == "call(a,b).then(x).catch(y);obj={k:1,};"


def test_js_keeps_spaces_that_separate_tokens() -> None:
    js = "a = b + +c - -d; f = /r/g in o; g = typeof  h; new  Date; a /* c */ b"
    assert minify_js(js) == "a=b+ +c- -d;f=/r/g in o;g=typeof h;new Date;a b"


def test_real_js_shrinks_and_keeps_every_string_regex_and_template() -> None:
    source = read("app.js")
    minified = minify_js(source)
    assert len(minified) < 0.75 * len(source)
    assert "Endpoints." not in minified  # comments are gone
    for kept in JS_KEPT:
        assert kept in minified
    assert minify_js(minified) == minified


# ---- images ----


def test_webp_is_valid_same_size_and_smaller_than_the_png() -> None:
    png = (STATIC_SRC / "course-thumb.png").read_bytes()
    webp = to_webp(png)
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    with Image.open(io.BytesIO(png)) as source, Image.open(io.BytesIO(webp)) as decoded:
        assert decoded.format == "WEBP"
        assert decoded.size == source.size
        decoded.load()
    assert len(webp) < len(png) / 2


def test_webp_quality_defaults_to_85_and_drives_the_size() -> None:
    png = (STATIC_SRC / "course-thumb.png").read_bytes()
    assert to_webp(png) == to_webp(png, quality=85)
    assert len(to_webp(png, quality=50)) < len(to_webp(png)) < len(to_webp(png, quality=100))


def test_webp_keeps_alpha_and_converts_jpeg() -> None:
    with Image.open(io.BytesIO(to_webp((STATIC_SRC / "logo.png").read_bytes()))) as logo:
        assert logo.mode == "RGBA"
        assert logo.getpixel((0, 0))[3] == 0  # type: ignore[index]
    jpeg = (STATIC_SRC / "instructor.jpg").read_bytes()
    with Image.open(io.BytesIO(to_webp(jpeg))) as photo:
        assert (photo.format, photo.mode) == ("WEBP", "RGB")


def test_webp_rejects_non_images_and_bad_quality() -> None:
    with pytest.raises(ValueError, match="not a decodable image"):
        to_webp(b"not an image")
    with pytest.raises(ValueError, match="quality: expected 0..100, got 101"):
        to_webp((STATIC_SRC / "logo.png").read_bytes(), quality=101)


# ---- hashing, assets, manifest ----


def test_content_hash_is_12_hex_digits_deterministic_and_content_sensitive() -> None:
    assert content_hash(b"abc") == "ba7816bf8f01"  # sha256("abc") prefix
    assert content_hash(b"abc") == content_hash(b"abc")
    assert content_hash(b"abd") != content_hash(b"abc")


def test_build_asset_names_by_hash_of_served_bytes() -> None:
    css = build_asset("app.css", b"a {  color : red ; }")
    assert css == Asset(
        logical_name="app.css",
        url_name=f"app.{content_hash(b'a{color:red}')}.css",
        content=b"a{color:red}",
        content_type="text/css; charset=utf-8",
        etag=f'"{content_hash(b"a{color:red}")}"',
        source_bytes=20,
    )
    other = build_asset("robots.txt", b"User-agent: *\n")
    assert other.content == b"User-agent: *\n"
    assert other.url_name == f"robots.{content_hash(other.content)}.txt"
    assert build_asset("LICENSE", b"x").content_type == "application/octet-stream"


def test_image_falls_back_to_the_source_when_webp_is_not_smaller() -> None:
    thumb = build_asset("thumb.png", (STATIC_SRC / "course-thumb.png").read_bytes())
    assert thumb.url_name.endswith(".webp") and thumb.content_type == "image/webp"
    logo_png = (STATIC_SRC / "logo.png").read_bytes()
    logo = build_asset("logo.png", logo_png)
    assert len(to_webp(logo_png)) >= len(logo_png)
    assert (logo.content, logo.content_type) == (logo_png, "image/png")
    assert logo.url_name == f"logo.{content_hash(logo_png)}.png"


def test_build_errors_name_the_file() -> None:
    with pytest.raises(ValueError, match=r"broken\.css: 'utf-8' codec can't decode byte 0xff"):
        build_asset("broken.css", b"a{content:'\xff'}")
    with pytest.raises(ValueError, match=r"photo\.jpg: not a decodable image"):
        build_asset("photo.jpg", b"not a jpeg")


def test_manifest_from_the_sample_assets() -> None:
    manifest = AssetManifest.build(STATIC_SRC)
    names = [asset.logical_name for asset in manifest.assets]
    assert names == ["app.css", "app.js", "course-thumb.png", "instructor.jpg", "logo.png"]
    assert re.fullmatch(r"/static/app\.[0-9a-f]{12}\.css", manifest.url_for("app.css"))
    assert re.fullmatch(
        r"/static/course-thumb\.[0-9a-f]{12}\.webp", manifest.url_for("course-thumb.png")
    )
    for asset in manifest.assets:
        assert manifest.get(asset.url_name) is asset
        assert asset.source_bytes == (STATIC_SRC / asset.logical_name).stat().st_size
    assert manifest.total_saved_bytes == sum(
        a.source_bytes - len(a.content) for a in manifest.assets
    )
    assert manifest.total_saved_bytes > 40_000
    assert manifest.get("app.css") is None


def test_building_twice_gives_identical_names_and_bytes() -> None:
    first, second = AssetManifest.build(STATIC_SRC), AssetManifest.build(STATIC_SRC)
    assert first.assets == second.assets


def test_changed_content_changes_only_that_name(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("a { color: red }")
    (tmp_path / "b.js").write_text("let b = 1")
    (tmp_path / ".hidden").write_text("skipped")
    before = AssetManifest.build(tmp_path)
    (tmp_path / "a.css").write_text("a { color: blue }")
    after = AssetManifest.build(tmp_path)
    assert [a.logical_name for a in after.assets] == ["a.css", "b.js"]
    assert before.url_for("a.css") != after.url_for("a.css")
    assert before.url_for("b.js") == after.url_for("b.js")


def test_unknown_logical_name_is_a_clear_key_error() -> None:
    manifest = AssetManifest([build_asset("app.css", b"a{}")])
    with pytest.raises(KeyError, match=r"no static asset named 'app\.js' \(known: app\.css\)"):
        manifest.url_for("app.js")


def test_subdirectories_and_missing_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    with pytest.raises(ValueError, match="subdirectories are not supported"):
        AssetManifest.build(tmp_path)
    with pytest.raises(ValueError, match="static source directory does not exist"):
        AssetManifest.build(tmp_path / "nope")
