"""Adaptive streaming: rendition choice at the thresholds and HLS playlists parsed line by line."""

from __future__ import annotations

import math
import re

import pytest

from reference_services.video import (
    RENDITIONS,
    Rendition,
    master_playlist,
    media_playlist,
    select_rendition,
)

BY_NAME = {rendition.name: rendition for rendition in RENDITIONS}
STREAM_INF = re.compile(
    r'#EXT-X-STREAM-INF:BANDWIDTH=(\d+),RESOLUTION=(\d+)x(\d+),CODECS="([^"]+)"'
)


@pytest.mark.parametrize(
    ("bandwidth_mbps", "name"),
    [
        (100.0, "1080p"),
        (5.0001, "1080p"),
        (5.0, "720p"),
        (2.0001, "720p"),
        (2.0, "480p"),
        (0.5, "480p"),
        (0.0, "480p"),
    ],
)
def test_bandwidth_strictly_above_each_threshold_selects_the_rendition(
    bandwidth_mbps: float, name: str
) -> None:
    assert select_rendition(bandwidth_mbps) is BY_NAME[name]


@pytest.mark.parametrize("bad", [-0.001, -5.0, math.nan, math.inf, -math.inf])
def test_negative_nan_and_infinite_bandwidths_are_refused_naming_the_value(bad: float) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {bad!r}")):
        select_rendition(bad)


def test_renditions_are_the_three_pregenerated_ladders_best_first() -> None:
    assert [(r.name, r.width, r.height, r.bandwidth_bps) for r in RENDITIONS] == [
        ("1080p", 1920, 1080, 5_000_000),
        ("720p", 1280, 720, 2_800_000),
        ("480p", 854, 480, 1_400_000),
    ]
    assert all(r.codecs.endswith(",mp4a.40.2") for r in RENDITIONS)


def parse_master(text: str) -> list[tuple[int, str, str, str]]:
    """(bandwidth, resolution, codecs, uri) per variant, after checking the header lines."""
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:3"]
    variants = []
    for tag, uri in zip(lines[2::2], lines[3::2], strict=True):
        match = STREAM_INF.fullmatch(tag)
        assert match is not None, tag
        assert not uri.startswith("#")
        bandwidth, width, height, codecs = match.groups()
        variants.append((int(bandwidth), f"{width}x{height}", codecs, uri))
    return variants


@pytest.mark.parametrize(
    ("preferred", "offered"),
    [
        ("1080p", ["1080p", "720p", "480p"]),
        ("720p", ["720p", "480p"]),
        ("480p", ["480p"]),
    ],
)
def test_master_playlist_lists_the_preferred_first_and_nothing_above_it(
    preferred: str, offered: list[str]
) -> None:
    text = master_playlist(42, RENDITIONS[::-1], preferred=BY_NAME[preferred])
    expected = [
        (
            BY_NAME[name].bandwidth_bps,
            f"{BY_NAME[name].width}x{BY_NAME[name].height}",
            BY_NAME[name].codecs,
            f"/videos/42/{name}/playlist.m3u8",
        )
        for name in offered
    ]
    assert parse_master(text) == expected


def test_master_playlist_for_a_selected_bandwidth() -> None:
    text = master_playlist(7, RENDITIONS, preferred=select_rendition(3.2))
    assert [uri for *_, uri in parse_master(text)] == [
        "/videos/7/720p/playlist.m3u8",
        "/videos/7/480p/playlist.m3u8",
    ]


def test_master_playlist_refuses_a_preferred_rendition_not_offered() -> None:
    with pytest.raises(ValueError, match="preferred rendition '1080p' is not among"):
        master_playlist(1, RENDITIONS[1:], preferred=BY_NAME["1080p"])
    with pytest.raises(ValueError, match="names must be unique"):
        master_playlist(1, (*RENDITIONS, RENDITIONS[0]), preferred=BY_NAME["480p"])
    with pytest.raises(ValueError, match="video_id: expected an int >= 0, got -1"):
        master_playlist(-1, RENDITIONS, preferred=BY_NAME["480p"])


def parse_media(text: str) -> tuple[int, list[tuple[float, str]]]:
    """(target duration, [(segment duration, uri)]) after checking the fixed tags."""
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[-1] == "#EXT-X-ENDLIST"
    header = set(lines[1:5])
    assert header >= {"#EXT-X-VERSION:3", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"}
    (target_line,) = [line for line in lines if line.startswith("#EXT-X-TARGETDURATION:")]
    segments = []
    for tag, uri in zip(lines[5:-1:2], lines[6:-1:2], strict=True):
        match = re.fullmatch(r"#EXTINF:(\d+\.\d{3,6}),", tag)
        assert match is not None, tag
        segments.append((float(match.group(1)), uri))
    return int(target_line.split(":")[1]), segments


@pytest.mark.parametrize(
    ("duration_s", "segment_s"),
    [(20.5, 6.0), (18.0, 6.0), (5.0, 6.0), (6.0, 6.0), (3600.25, 4.0), (61.123456, 10.0)],
)
def test_media_playlist_cuts_the_duration_into_segments(
    duration_s: float, segment_s: float
) -> None:
    target, segments = parse_media(media_playlist(9, BY_NAME["720p"], duration_s, segment_s))
    assert len(segments) == math.ceil(duration_s / segment_s)
    durations = [duration for duration, _ in segments]
    assert math.fsum(durations) == pytest.approx(duration_s, abs=1e-6)
    assert all(duration == segment_s for duration in durations[:-1])
    assert 0 < durations[-1] <= segment_s
    assert target == math.ceil(max(durations))
    assert [uri for _, uri in segments] == [
        f"/videos/9/720p/seg-{index:05d}.ts" for index in range(len(segments))
    ]


def test_media_playlist_text_for_a_short_video() -> None:
    assert media_playlist(3, BY_NAME["480p"], 10.5) == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXT-X-TARGETDURATION:6\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXTINF:6.000,\n"
        "/videos/3/480p/seg-00000.ts\n"
        "#EXTINF:4.500,\n"
        "/videos/3/480p/seg-00001.ts\n"
        "#EXT-X-ENDLIST\n"
    )


def test_fractional_segments_round_up_the_target_duration() -> None:
    target, segments = parse_media(media_playlist(1, BY_NAME["480p"], 13.0, 6.5))
    assert [duration for duration, _ in segments] == [6.5, 6.5]
    assert target == 7


def test_floating_point_noise_does_not_create_an_empty_last_segment() -> None:
    _, segments = parse_media(media_playlist(1, BY_NAME["480p"], 1.1, 0.1))
    assert len(segments) == 11  # math.ceil(1.1 / 0.1) == 12 in binary floating point
    assert [duration for duration, _ in segments] == [0.1] * 11


@pytest.mark.parametrize(
    ("duration_s", "segment_s", "problem"),
    [
        (0.0, 6.0, "duration_s: expected a finite number of seconds > 0, got 0.0"),
        (-1.0, 6.0, "duration_s: expected a finite number of seconds > 0, got -1.0"),
        (math.nan, 6.0, "duration_s: expected a finite number of seconds > 0, got nan"),
        (math.inf, 6.0, "duration_s: expected a finite number of seconds > 0, got inf"),
        (10.0, 0.0, "segment_s: expected a finite number of seconds > 0, got 0.0"),
        (10.0, 1e-9, "segment_s: expected at least 1 microsecond, got 1e-09"),
    ],
)
def test_media_playlist_refuses_bad_durations(
    duration_s: float, segment_s: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        media_playlist(1, BY_NAME["480p"], duration_s, segment_s)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": "10 80p"}, "rendition name: expected letters, digits, _ or -, got '10 80p'"),
        ({"width": 0}, "rendition hd: width: expected an int > 0, got 0"),
        ({"bandwidth_bps": -1}, "rendition hd: bandwidth_bps: expected an int > 0, got -1"),
        ({"codecs": 'avc1"'}, "rendition hd: codecs: expected an RFC 6381 list"),
    ],
)
def test_renditions_are_validated(kwargs: dict[str, object], problem: str) -> None:
    fields: dict[str, object] = {
        "name": "hd",
        "width": 1280,
        "height": 720,
        "bandwidth_bps": 1,
        "codecs": "avc1.64001f",
    }
    with pytest.raises(ValueError, match=re.escape(problem)):
        Rendition(**{**fields, **kwargs})  # type: ignore[arg-type]
