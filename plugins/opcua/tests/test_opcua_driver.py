"""The OPC UA driver against a real asyncua server: secure by default (the strongest policy
offered, the hub's own certificate, the server's checked against the trust list), None only
when configured, pinned certificates, user/password, reads with status mapping, writes,
subscriptions, browse and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncua import ua
from cryptography import x509
from plantbus_opcua.driver import OpcUaDriver, OpcUaSettings
from pydantic import ValidationError

from plantbus.sdk.certificates import CertificateInfo, TrustList, ensure_self_signed, fingerprint
from plantbus.sdk.driver import DataType, DriverContext, Quality, Reading, TagRef
from plantbus.sdk.errors import DeviceAuthFailed, DeviceUnavailable, DriverConfigError
from plantbus.sim.certificate import sim_certificate
from plantbus.sim.model import line
from plantbus.sim.opcua_server import serve_opcua
from plantbus.testing.waiting import wait_until

TEMP = TagRef("temp", "ns=2;s=Line1.M1.Temperature", DataType.FLOAT64)
SPEED = TagRef("speed", "ns=2;s=Line1.M1.SpeedSetpoint", DataType.UINT16, writable=True)
GHOST = TagRef("ghost", "ns=2;s=Line1.M9.Nothing", DataType.FLOAT64)
BASIC_ONLY = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]


@contextlib.asynccontextmanager
async def secure_server(tmp: Path, **options: object) -> AsyncIterator[tuple[str, bytes]]:
    """The simulated line with its own certificate (signed and encrypted endpoints only);
    yields the URL and the certificate (DER)."""
    cert, key = sim_certificate(tmp / "server")
    async with serve_opcua(
        line(),
        time.monotonic,
        certificate=cert,
        private_key=key,
        **options,  # type: ignore[arg-type]
    ) as url:
        yield url, cert.read_bytes()


@pytest.fixture
async def trusted(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A secure server whose certificate the hub's data dir trusts: URL and data dir."""
    async with secure_server(tmp_path) as (url, der):
        TrustList.of(tmp_path / "hub", "opcua").add(der)
        yield url, tmp_path / "hub"


def driver_for(url: str, data_dir: Path | None, **settings: object) -> OpcUaDriver:
    driver = OpcUaDriver(url, OpcUaSettings.model_validate({"timeout_s": 3, **settings}))
    driver.context = DriverContext("press-1", data_dir)
    return driver


async def connected(url: str, data_dir: Path | None, **settings: object) -> OpcUaDriver:
    driver = driver_for(url, data_dir, **settings)
    await driver.connect()
    return driver


async def test_default_is_the_strongest_policy_with_the_hubs_own_certificate(
    trusted: tuple[str, Path],
) -> None:
    url, data_dir = trusted
    driver = await connected(url, data_dir)
    assert driver.security() == "Aes256_Sha256_RsaPss SignAndEncrypt"
    (temp,) = await driver.read([TEMP])
    assert temp.quality == Quality.GOOD
    await driver.close()
    own = data_dir / "pki" / "opcua" / "own"
    info = CertificateInfo.of((own / "cert.der").read_bytes())
    assert info.uris and info.uris[0].startswith("urn:"), "OPC UA wants the URI in the SAN"
    assert (own / "key.pem").stat().st_mode & 0o077 == 0, "the key is private"
    again = await connected(url, data_dir)
    assert CertificateInfo.of((own / "cert.der").read_bytes()) == info, "made once, then kept"
    await again.close()


async def test_a_data_dir_it_cannot_write_to_is_a_config_error(
    trusted: tuple[str, Path],
) -> None:
    url, data_dir = trusted
    (data_dir / "pki" / "opcua" / "own").write_text("a file where the directory should be")
    with pytest.raises(DriverConfigError, match="cannot keep the client certificate in"):
        await connected(url, data_dir)


async def test_basic256sha256_when_it_is_the_best_the_server_offers(tmp_path: Path) -> None:
    async with secure_server(tmp_path, policies=BASIC_ONLY) as (url, der):
        TrustList.of(tmp_path, "opcua").add(der)
        driver = await connected(url, tmp_path)
        assert driver.security() == "Basic256Sha256 SignAndEncrypt"
        await driver.close()
        with pytest.raises(DriverConfigError, match="offers Basic256Sha256 SignAndEncrypt, not"):
            await connected(url, tmp_path, security="Aes256_Sha256_RsaPss")


async def test_an_untrusted_server_is_refused_until_trusted(tmp_path: Path) -> None:
    async with secure_server(tmp_path) as (url, der):
        with pytest.raises(DeviceAuthFailed) as refused:
            await connected(url, tmp_path)
        message = str(refused.value)
        assert f"device 'press-1' ({url})" in message
        assert fingerprint(der) in message and "not trusted" in message
        assert "plantbus devices trust press-1" in message
        TrustList.of(tmp_path, "opcua").add(der)
        driver = await connected(url, tmp_path)
        assert (await driver.read([TEMP]))[0].quality == Quality.GOOD
        await driver.close()


async def test_a_server_with_another_certificate_is_refused(tmp_path: Path) -> None:
    """Trust is by fingerprint: the same name and URI with another key is someone else."""
    trusted = sim_certificate(tmp_path / "genuine")[0].read_bytes()
    TrustList.of(tmp_path, "opcua").add(trusted)
    async with secure_server(tmp_path / "impostor") as (url, der):
        assert der != trusted
        with pytest.raises(DeviceAuthFailed, match=fingerprint(der)):
            await connected(url, tmp_path)


async def test_security_none_only_when_configured(tmp_path: Path) -> None:
    async with serve_opcua(line(), time.monotonic) as url:
        with pytest.raises(DriverConfigError, match=r"offers None, not Aes256_Sha256_RsaPss or"):
            await connected(url, tmp_path)
        driver = await connected(url, None, security="none")
        assert driver.security() == "None"
        assert (await driver.read([TEMP]))[0].quality == Quality.GOOD
        await driver.close()
    async with secure_server(tmp_path) as (url, _):
        with pytest.raises(DriverConfigError, match="not None; remove security: None"):
            await connected(url, tmp_path, security="None")
    with pytest.raises(ValidationError, match="'auto', 'None', 'Aes256_Sha256_RsaPss'"):
        OpcUaSettings.model_validate({"security": "basic"})
    with pytest.raises(ValidationError, match="certificate and private_key go together"):
        OpcUaSettings.model_validate({"certificate": "/c.der"})


async def test_pinned_certificates_and_password_need_no_data_dir(tmp_path: Path) -> None:
    client_cert, client_key = tmp_path / "client.der", tmp_path / "client.pem"
    ensure_self_signed(client_cert, client_key, name="c", uri="urn:test:c", hosts=["localhost"])
    server_cert, _ = sim_certificate(tmp_path / "server")
    async with secure_server(tmp_path, users={"op": "s3cret"}) as (url, _):
        pinned = {
            "security": "Basic256Sha256",
            "certificate": str(client_cert),
            "private_key": str(client_key),
            "server_certificate": str(server_cert),
            "username": "op",
        }
        driver = await connected(url, None, **pinned, password="s3cret")
        assert driver.security() == "Basic256Sha256 SignAndEncrypt"
        (temp,) = await driver.read([TEMP])
        assert temp.quality == Quality.GOOD
        await driver.close()
        with pytest.raises(DeviceAuthFailed):
            await connected(url, None, **pinned, password="wrong")
        with pytest.raises(DeviceAuthFailed, match="not the one pinned in server_certificate"):
            await connected(url, None, **{**pinned, "server_certificate": str(client_cert)})
        with pytest.raises(DriverConfigError, match="no data dir to keep the client certificate"):
            await connected(url, None, server_certificate=str(server_cert))


async def test_read_write_and_status_mapping(trusted: tuple[str, Path]) -> None:
    driver = await connected(*trusted)
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
    assert driver.security() == ""


async def test_subscription_delivers_changes(trusted: tuple[str, Path]) -> None:
    driver = await connected(*trusted)
    seen: list[Reading] = []
    await driver.subscribe([TEMP], seen.append, sampling_interval_s=0.1)
    await wait_until(lambda: len(seen) >= 2, timeout=10, message="two notifications")
    assert seen[0].tag == "temp" and seen[0].quality == Quality.GOOD
    await driver.close()


async def test_browse_finds_the_line(trusted: tuple[str, Path]) -> None:
    driver = await connected(*trusted)
    top = await driver.browse(None)
    line1 = next(n for n in top if n.name == "Line1")
    machines = await driver.browse(line1.address, depth=2)
    m1 = next(n for n in machines if n.name == "M1")
    assert any(c.address == TEMP.address and c.data_type == "Double" for c in m1.children)
    await driver.close()


async def test_server_certificate_is_the_one_connect_checks(trusted: tuple[str, Path]) -> None:
    url, data_dir = trusted
    der = await driver_for(url, data_dir).server_certificate()
    assert TrustList.of(data_dir, "opcua").contains(der)
    assert x509.load_der_x509_certificate(der).subject.rfc4514_string() == (
        "CN=Plantbus simulated line"
    )
    with pytest.raises(DriverConfigError, match="security None uses no server certificate"):
        await driver_for(url, data_dir, security="None").server_certificate()


async def test_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    async with secure_server(tmp_path) as (url, _):
        pass
    with pytest.raises(DeviceUnavailable, match=r"device 'press-1' \(opc\.tcp"):
        await connected(url, tmp_path)
    with pytest.raises(DeviceUnavailable):
        await driver_for(url, tmp_path).server_certificate()
    await asyncio.sleep(0)
