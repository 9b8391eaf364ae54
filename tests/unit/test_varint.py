"""The shared protobuf varint: every fast path agrees with the plain loop and decodes back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collector.varint import TABLE_SIZE, VARINTS, varint, varint_loop


def _decode(data: bytes) -> int:
    value = 0
    for shift, byte in enumerate(data):
        value |= (byte & 0x7F) << (7 * shift)
        assert (byte & 0x80 == 0) == (shift == len(data) - 1), "only the last byte ends it"
    return value


EDGES = [0, 1, 0x7F, 0x80, TABLE_SIZE - 1, TABLE_SIZE, (1 << 14) - 1, 1 << 14, (1 << 21) - 1]
EDGES += [1 << 21, (1 << 28) - 1, 1 << 63, (1 << 64) - 1]


def test_the_known_encoding_and_the_length_boundaries() -> None:
    assert varint(300) == b"\xac\x02"
    for value in EDGES:
        assert varint(value) == varint_loop(value)
        assert _decode(varint(value)) == value
        assert len(varint(value)) == max(1, -(-value.bit_length() // 7))


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_any_uint64_round_trips_and_matches_the_loop(value: int) -> None:
    assert varint(value) == varint_loop(value)
    assert _decode(varint(value)) == value


def test_the_table_is_the_loop_below_its_size() -> None:
    assert all(VARINTS[v] == varint_loop(v) for v in range(TABLE_SIZE))
