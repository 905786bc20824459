"""The OPC UA driver against a real asyncua server: reads with status mapping, writes,
subscriptions, browse, Basic256Sha256 with certificates, user/password, and refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID
from plantbus_opcua.driver import OpcUaDriver, OpcUaSettings

from plantbus.sdk.driver import DataType, Quality, Reading, TagRef
from plantbus.sdk.errors import DeviceAuthFailed, DeviceUnavailable, DriverConfigError
from plantbus.sim.model import line
from plantbus.sim.opcua_server import serve_opcua
from plantbus.testing.waiting import wait_until

TEMP = TagRef("temp", "ns=2;s=Line1.M1.Temperature", DataType.FLOAT64)
SPEED = TagRef("speed", "ns=2;s=Line1.M1.SpeedSetpoint", DataType.UINT16, writable=True)
GHOST = TagRef("ghost", "ns=2;s=Line1.M9.Nothing", DataType.FLOAT64)


@pytest.fixture
async def endpoint() -> AsyncIterator[str]:
    async with serve_opcua(line(), time.monotonic) as url:
        yield url


async def connected(url: str, **settings: object) -> OpcUaDriver:
    driver = OpcUaDriver(url, OpcUaSettings.model_validate(settings))
    await driver.connect()
    return driver


async def test_read_write_and_status_mapping(endpoint: str) -> None:
    driver = await connected(endpoint)
    temp, ghost = await driver.read([TEMP, GHOST])
    assert temp.quality == Quality.GOOD and isinstance(temp.value, float)
    assert ghost.quality == Quality.BAD and ghost.reason == "BadNodeIdUnknown"
    await driver.write(SPEED, 4200)
    (speed,) = await driver.read([SPEED])
    assert speed.value == 4200
    with pytest.raises(DriverConfigError, match="bad node id"):
        OpcUaDriver.validate_tag(TagRef("x", "not a node", DataType.FLOAT64))
    await driver.close()
    await driver.close()


async def test_subscription_delivers_changes(endpoint: str) -> None:
    driver = await connected(endpoint)
    seen: list[Reading] = []
    await driver.subscribe([TEMP], seen.append, sampling_interval_s=0.1)
    await wait_until(lambda: len(seen) >= 2, timeout=10, message="two notifications")
    assert seen[0].tag == "temp" and seen[0].quality == Quality.GOOD
    await driver.close()


async def test_browse_finds_the_line(endpoint: str) -> None:
    driver = await connected(endpoint)
    top = await driver.browse(None)
    line1 = next(n for n in top if n.name == "Line1")
    machines = await driver.browse(line1.address, depth=2)
    m1 = next(n for n in machines if n.name == "M1")
    assert any(c.address == TEMP.address and c.data_type == "Double" for c in m1.children)
    await driver.close()


async def make_cert(tmp: Path, name: str, uri: str, use: object) -> tuple[Path, Path]:
    key, cert = tmp / f"{name}.pem", tmp / f"{name}.der"
    await setup_self_signed_certificate(key, cert, uri, "localhost", [use], {"commonName": name})
    return cert, key


async def test_basic256sha256_with_certificates_and_password(tmp_path: Path) -> None:
    server_cert, server_key = await make_cert(
        tmp_path, "server", "urn:plantbus:sim", ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_cert, client_key = await make_cert(
        tmp_path, "client", "urn:plantbus:client", ExtendedKeyUsageOID.CLIENT_AUTH
    )
    async with serve_opcua(
        line(),
        time.monotonic,
        certificate=server_cert,
        private_key=server_key,
        users={"op": "s3cret"},
    ) as url:
        secure = {
            "security_policy": "Basic256Sha256",
            "certificate": str(client_cert),
            "private_key": str(client_key),
            "username": "op",
        }
        driver = await connected(url, **secure, password="s3cret")
        (temp,) = await driver.read([TEMP])
        assert temp.quality == Quality.GOOD
        await driver.close()
        with pytest.raises(DeviceAuthFailed):
            await connected(url, **secure, password="wrong")


async def test_unreachable_server_is_unavailable() -> None:
    async with serve_opcua(line(), time.monotonic) as url:
        pass
    with pytest.raises(DeviceUnavailable, match=r"opc\.tcp"):
        await connected(url, timeout_s=2)
    await asyncio.sleep(0)
