"""Register codec: every type and byte/word order round-trips, and known layouts decode."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantbus.sdk.driver import ByteOrder, DataType
from plantbus.sdk.errors import DriverConfigError
from plantbus.sdk.registers import decode, encode, register_count

ORDERS = [(b, w) for b in ByteOrder for w in ByteOrder]


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.INT16, -1234),
        (DataType.UINT16, 65535),
        (DataType.INT32, -70000),
        (DataType.UINT32, 4_000_000_000),
        (DataType.INT64, -(2**60)),
        (DataType.UINT64, 2**63),
        (DataType.FLOAT32, 21.5),
        (DataType.FLOAT64, math.pi),
        (DataType.BOOL, True),
    ],
)
def test_round_trip(
    data_type: DataType, value: object, byte_order: ByteOrder, word_order: ByteOrder
) -> None:
    words = encode(value, data_type, byte_order, word_order)  # type: ignore[arg-type]
    assert len(words) == register_count(data_type)
    assert decode(words, data_type, byte_order, word_order) == value


def test_known_layouts() -> None:
    # 123456789 = 0x075BCD15
    assert decode([0x075B, 0xCD15], DataType.UINT32) == 123456789
    assert decode([0xCD15, 0x075B], DataType.UINT32, word_order=ByteOrder.LITTLE) == 123456789
    assert decode([0x5B07, 0x15CD], DataType.UINT32, byte_order=ByteOrder.LITTLE) == 123456789
    assert decode([0x41AC, 0x0000], DataType.FLOAT32) == 21.5
    assert decode([0x4142, 0x4300], DataType.STRING) == "ABC"


def test_string_needs_length_and_pads() -> None:
    assert encode("AB", DataType.STRING, length=6) == [0x4142, 0, 0]
    with pytest.raises(DriverConfigError, match="length"):
        register_count(DataType.STRING)


def test_out_of_range_value_is_a_clear_error() -> None:
    with pytest.raises(DriverConfigError, match="does not fit uint16"):
        encode(70000, DataType.UINT16)


@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(ORDERS))
def test_int32_property(value: int, orders: tuple[ByteOrder, ByteOrder]) -> None:
    assert decode(encode(value, DataType.INT32, *orders), DataType.INT32, *orders) == value
