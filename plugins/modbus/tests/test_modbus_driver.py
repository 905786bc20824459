"""The Modbus driver against a real pymodbus server: every data type and byte/word order,
coalescing, an illegal address isolated to its tag, writes, and a server restart."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
from plantbus_modbus.driver import ModbusDriver, ModbusSettings
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from plantbus.sdk.driver import ByteOrder, DataType, Quality, TagRef
from plantbus.sdk.errors import DeviceUnavailable, WriteNotSupported
from plantbus.sim.server import serve_device

VALUES = [
    (DataType.INT16, -1234),
    (DataType.UINT16, 54321),
    (DataType.INT32, -7_000_000),
    (DataType.UINT32, 4_000_000_000),
    (DataType.INT64, -(2**50)),
    (DataType.UINT64, 2**63 + 5),
    (DataType.FLOAT32, 21.5),
    (DataType.FLOAT64, math.pi),
]


def device() -> SimDevice:
    regs = [SimData(0, count=400, values=0, datatype=SimType.REGISTERS)]
    bits = [SimData(0, count=64, values=False, datatype=SimType.BITS)]
    return SimDevice(1, simdata=(bits, bits, regs, regs))


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with serve_device(device()) as bound:
        yield bound


async def connected(port: int, **settings: object) -> ModbusDriver:
    driver = ModbusDriver(
        f"modbus://127.0.0.1:{port}?unit=1", ModbusSettings.model_validate(settings)
    )
    await driver.connect()
    return driver


@pytest.mark.parametrize("byte_order", list(ByteOrder))
@pytest.mark.parametrize("word_order", list(ByteOrder))
async def test_every_type_and_order_round_trips(
    port: int, byte_order: ByteOrder, word_order: ByteOrder
) -> None:
    driver = await connected(port)
    tags = [
        TagRef(f"t{i}", f"holding:{10 * i}", dt, byte_order, word_order, writable=True)
        for i, (dt, _) in enumerate(VALUES)
    ]
    for tag, (_, value) in zip(tags, VALUES, strict=True):
        await driver.write(tag, value)
    readings = await driver.read(tags)
    assert [r.value for r in readings] == [v for _, v in VALUES]
    await driver.close()


async def test_strings_bits_and_coils(port: int) -> None:
    driver = await connected(port)
    text = TagRef("label", "holding:100", DataType.STRING, length=8, writable=True)
    bit = TagRef("flag", "holding:120.3", DataType.BOOL, writable=True)
    coil = TagRef("lamp", "coil:3", DataType.BOOL, writable=True)
    await driver.write(text, "M1-LATHE")
    await driver.write(bit, True)
    await driver.write(coil, True)
    values = [r.value for r in await driver.read([text, bit, coil])]
    assert values == ["M1-LATHE", True, True]
    with pytest.raises(WriteNotSupported):
        await driver.write(TagRef("di", "discrete:1", DataType.BOOL), True)
    await driver.close()


async def test_close_tags_are_read_in_one_request(port: int) -> None:
    driver = await connected(port, max_gap=8)
    tags = [TagRef(f"t{i}", f"holding:{i * 3}", DataType.UINT16) for i in range(40)]
    before = driver.requests
    await driver.read(tags)
    assert driver.requests - before == 1
    per_tag = await connected(port, max_gap=0, max_registers=1)
    await per_tag.read(tags)
    assert per_tag.requests == 40
    await driver.close()
    await per_tag.close()


async def test_an_illegal_address_marks_only_that_tag_bad(port: int) -> None:
    driver = await connected(port)
    tags = [
        TagRef("ok", "holding:398", DataType.UINT16),
        TagRef("beyond", "holding:399", DataType.UINT32),
    ]  # needs register 400
    good, bad = await driver.read(tags)
    assert good.quality == Quality.GOOD
    assert bad.quality == Quality.BAD and "illegal data address" in bad.reason
    await driver.close()


async def test_refused_and_restarted_server() -> None:
    async with serve_device(device()) as bound:
        driver = await connected(bound)
        tag = TagRef("x", "holding:1", DataType.UINT16)
        assert (await driver.read([tag]))[0].quality == Quality.GOOD
    with pytest.raises(DeviceUnavailable):
        await driver.read([tag])
    await driver.close()
    with pytest.raises(DeviceUnavailable, match=r"127\.0\.0\.1"):
        await driver.connect()
    async with serve_device(device(), port=bound):
        await driver.connect()
        assert (await driver.read([tag]))[0].quality == Quality.GOOD
        await driver.close()
        await driver.close()  # idempotent
