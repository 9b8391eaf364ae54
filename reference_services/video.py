"""Adaptive video streaming: pick a rendition for a bandwidth and write HLS playlists.

Pure: the renditions are pre-generated (transcoding never happens on the request path), so
a handler for `GET /videos/{video_id}/stream?bandwidth_mbps=` only calls
`select_rendition` and `master_playlist` and returns the text with `HLS_CONTENT_TYPE`.
Each call costs microseconds; `media_playlist` is O(segments).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FULL_HD_ABOVE_MBPS",
    "HD_ABOVE_MBPS",
    "HLS_CONTENT_TYPE",
    "RENDITIONS",
    "Rendition",
    "master_playlist",
    "media_playlist",
    "select_rendition",
]

HLS_CONTENT_TYPE = "application/vnd.apple.mpegurl"
FULL_HD_ABOVE_MBPS = 5.0
"""A reported bandwidth strictly above this (Mbit/s) gets 1080p."""
HD_ABOVE_MBPS = 2.0
"""A reported bandwidth strictly above this (Mbit/s), up to FULL_HD_ABOVE_MBPS, gets 720p."""

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_US_PER_S = 1_000_000


@dataclass(frozen=True)
class Rendition:
    """One pre-generated encoding of every video; `bandwidth_bps` is its peak bit rate.

    `name` appears in URIs, so it is limited to letters, digits, `_` and `-`; `codecs` is
    the RFC 6381 list HLS puts in CODECS (e.g. "avc1.640028,mp4a.40.2").
    """

    name: str
    width: int
    height: int
    bandwidth_bps: int
    codecs: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"rendition name: expected letters, digits, _ or -, got {self.name!r}")
        for field in ("width", "height", "bandwidth_bps"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"rendition {self.name}: {field}: expected an int > 0, got {value!r}"
                )
        if not self.codecs or '"' in self.codecs or "\n" in self.codecs:
            raise ValueError(
                f"rendition {self.name}: codecs: expected an RFC 6381 list, got {self.codecs!r}"
            )


RENDITIONS: tuple[Rendition, ...] = (
    Rendition("1080p", 1920, 1080, 5_000_000, "avc1.640028,mp4a.40.2"),
    Rendition("720p", 1280, 720, 2_800_000, "avc1.64001f,mp4a.40.2"),
    Rendition("480p", 854, 480, 1_400_000, "avc1.64001e,mp4a.40.2"),
)
"""The renditions every video is transcoded to ahead of time, best first."""

_BY_NAME = {rendition.name: rendition for rendition in RENDITIONS}


def select_rendition(bandwidth_mbps: float) -> Rendition:
    """The rendition for a client-reported bandwidth in Mbit/s (not MB/s).

    Strictly above 5 -> 1080p, strictly above 2 -> 720p, otherwise 480p: exactly 5.0 gets
    720p and exactly 2.0 gets 480p. Raises ValueError for a negative, NaN or infinite value.
    """
    if not math.isfinite(bandwidth_mbps) or bandwidth_mbps < 0:
        raise ValueError(
            f"bandwidth_mbps: expected a finite number of Mbit/s >= 0, got {bandwidth_mbps!r}"
        )
    if bandwidth_mbps > FULL_HD_ABOVE_MBPS:
        return _BY_NAME["1080p"]
    if bandwidth_mbps > HD_ABOVE_MBPS:
        return _BY_NAME["720p"]
    return _BY_NAME["480p"]


def _check_video_id(video_id: int) -> None:
    if isinstance(video_id, bool) or not isinstance(video_id, int) or video_id < 0:
        raise ValueError(f"video_id: expected an int >= 0, got {video_id!r}")


def master_playlist(video_id: int, renditions: Sequence[Rendition], *, preferred: Rendition) -> str:
    """An HLS master playlist (version 3) offering `preferred` first, then lower renditions.

    Players start with the first variant, so `preferred` (normally `select_rendition`'s
    choice) is what the client plays first. Renditions with a higher bandwidth than
    `preferred` are left out on purpose: a client that reported a slow link is never offered
    more than it can take, while the lower ones (best first) let its player step down if the
    link gets worse. Variant URIs are `/videos/{video_id}/{name}/playlist.m3u8`. Raises
    ValueError if `preferred` is not among `renditions` or two renditions share a name.
    """
    _check_video_id(video_id)
    names = [rendition.name for rendition in renditions]
    if len(set(names)) != len(names):
        raise ValueError(f"renditions: names must be unique, got {names}")
    if preferred not in renditions:
        raise ValueError(f"preferred rendition {preferred.name!r} is not among {names}")
    lower = sorted(
        (r for r in renditions if r != preferred and r.bandwidth_bps <= preferred.bandwidth_bps),
        key=lambda r: r.bandwidth_bps,
        reverse=True,
    )
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for rendition in (preferred, *lower):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rendition.bandwidth_bps},"
            f"RESOLUTION={rendition.width}x{rendition.height},"
            f'CODECS="{rendition.codecs}"'
        )
        lines.append(f"/videos/{video_id}/{rendition.name}/playlist.m3u8")
    return "\n".join(lines) + "\n"


def _seconds(duration_us: int) -> str:
    """Microseconds as decimal seconds with 3 to 6 decimals ("6.000", "4.123456")."""
    whole, fraction = divmod(duration_us, _US_PER_S)
    decimals = f"{fraction:06d}".rstrip("0").ljust(3, "0")
    return f"{whole}.{decimals}"


def _microseconds(name: str, seconds: float) -> int:
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name}: expected a finite number of seconds > 0, got {seconds!r}")
    duration_us = round(seconds * _US_PER_S)
    if duration_us < 1:
        raise ValueError(f"{name}: expected at least 1 microsecond, got {seconds!r}")
    return duration_us


def media_playlist(
    video_id: int, rendition: Rendition, duration_s: float, segment_s: float = 6.0
) -> str:
    """An HLS VOD media playlist cutting `duration_s` seconds into `segment_s`-second segments.

    There are ceil(duration_s / segment_s) segments; all but the last last `segment_s`, the
    last one holds the rest. Durations are computed in whole microseconds, so the EXTINF
    values sum to `duration_s` rounded to 1 µs; #EXT-X-TARGETDURATION is the longest
    segment rounded up to whole seconds. Segment URIs are
    `/videos/{video_id}/{rendition}/seg-00000.ts` (5 digits, wider past 99 999 segments).
    Raises ValueError for a negative id or a duration that is not finite and > 0.
    """
    _check_video_id(video_id)
    total_us = _microseconds("duration_s", duration_s)
    segment_us = _microseconds("segment_s", segment_s)
    count = -(-total_us // segment_us)
    durations = [segment_us] * (count - 1) + [total_us - segment_us * (count - 1)]
    target_s = -(-max(durations) // _US_PER_S)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{target_s}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    for index, duration_us in enumerate(durations):
        lines.append(f"#EXTINF:{_seconds(duration_us)},")
        lines.append(f"/videos/{video_id}/{rendition.name}/seg-{index:05d}.ts")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
