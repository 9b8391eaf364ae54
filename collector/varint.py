"""Protobuf varints (base-128, least significant group first), the one encoding every
loadwatch protobuf writer shares (pure).

    varint(300) == b"\xac\x02"
    VARINTS[n]                 # the same for 0 <= n < TABLE_SIZE, as a list lookup
"""

from __future__ import annotations

__all__ = ["TABLE_SIZE", "VARINTS", "varint", "varint_loop"]


def varint_loop(value: int) -> bytes:
    """A non-negative int as a protobuf varint, by the plain loop (any size)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


TABLE_SIZE = 1 << 12
VARINTS = [varint_loop(v) for v in range(TABLE_SIZE)]
"""Encoded varints of 0..4095 (field tags, lengths, most counts and deltas): a lookup."""


def varint(value: int) -> bytes:
    """A non-negative int as a protobuf varint (uint64): a lookup below 4096, no loop below
    2**21 (cumulative counts of a busy series)."""
    if value < TABLE_SIZE:
        return VARINTS[value]
    if value < 1 << 14:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if value < 1 << 21:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
    return varint_loop(value)
