"""OPC UA security from the command line, against a real asyncua server: ``plantbus probe``
says which policy and mode it used and refuses an untrusted server with its fingerprint;
``plantbus devices trust`` shows the certificate, asks, adds it to the trust list and logs
it; a configured device run by the device service connects once it is trusted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

from click.testing import CliRunner, Result

from plantbus.cli.main import cli
from plantbus.device.service import DeviceService
from plantbus.kit.bus import Bus
from plantbus.sdk.certificates import TrustList, fingerprint
from plantbus.sim.certificate import sim_certificate
from plantbus.sim.model import line
from plantbus.sim.opcua_server import serve_opcua
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2

TEMP = "ns=2;s=Line1.M1.Temperature"


@contextlib.asynccontextmanager
async def secure_sim(tmp: Path) -> AsyncIterator[tuple[str, bytes]]:
    """The simulated line, signed and encrypted only; its URL and certificate."""
    cert, key = sim_certificate(tmp / "sim")
    async with serve_opcua(line(), time.monotonic, certificate=cert, private_key=key) as url:
        yield url, cert.read_bytes()


async def plantbus(*args: str, data_dir: Path, answer: str = "") -> Result:
    """The CLI in a thread (it runs its own event loop), ``answer`` on its stdin."""
    argv = [*args, "--data-dir", str(data_dir)]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, input=answer)


async def test_probe_refuses_an_untrusted_server_until_devices_trust(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    async with secure_sim(tmp_path) as (url, der):
        refused = await plantbus("probe", url, "--read", TEMP, data_dir=data)
        assert refused.exit_code == 1
        assert fingerprint(der) in refused.output
        assert f"plantbus devices trust {url}" in refused.output

        declined = await plantbus("devices", "trust", url, data_dir=data, answer="n\n")
        assert declined.exit_code != 0
        assert (
            fingerprint(der) in declined.output and "CN=Plantbus simulated line" in declined.output
        )
        assert not TrustList.of(data, "opcua").contains(der)

        trusted = await plantbus("devices", "trust", url, data_dir=data, answer="y\n")
        assert trusted.exit_code == 0, trusted.output
        assert TrustList.of(data, "opcua").contains(der)
        (record,) = [json.loads(x) for x in (data / "trust.log").read_text().splitlines()]
        assert record["fingerprint"] == fingerprint(der) and record["endpoint"] == url
        assert record["user"] and record["time"]

        again = await plantbus("devices", "trust", url, data_dir=data)
        assert again.exit_code == 0 and "already trusted" in again.output

        read = await plantbus("probe", url, "--read", TEMP, data_dir=data)
        assert read.exit_code == 0, read.output
        assert f"{TEMP} = " in read.stdout and "[good]" in read.stdout
        assert f"{url}: security Aes256_Sha256_RsaPss SignAndEncrypt" in read.stderr


async def test_probe_security_option(tmp_path: Path) -> None:
    async with secure_sim(tmp_path) as (url, der):
        TrustList.of(tmp_path, "opcua").add(der)
        basic = await plantbus(
            "probe", url, "--security", "basic256sha256", "--read", TEMP, data_dir=tmp_path
        )
        assert basic.exit_code == 0, basic.output
        assert "security Basic256Sha256 SignAndEncrypt" in basic.stderr
        none = await plantbus("probe", url, "--security", "none", "--read", TEMP, data_dir=tmp_path)
        assert none.exit_code == 1
        assert "not None; remove security: None" in none.output
    async with serve_opcua(line(), time.monotonic) as url:
        auto = await plantbus("probe", url, "--browse", data_dir=tmp_path)
        assert auto.exit_code == 1 and "the server offers None, not" in auto.output
        insecure = await plantbus("probe", url, "--security", "none", "--browse", data_dir=tmp_path)
        assert insecure.exit_code == 0, insecure.output
        assert "ns=2;s=Line1" in insecure.stdout
        assert "security None (neither signed nor encrypted)" in insecure.stderr
    bad = await plantbus("probe", url, "--security", "basic", "--browse", data_dir=tmp_path)
    assert bad.exit_code == 1 and "'auto', 'None', 'Aes256_Sha256_RsaPss'" in bad.output
    modbus = await plantbus(
        "probe",
        "modbus://127.0.0.1:1",
        "--security",
        "none",
        "--read",
        "holding:0",
        data_dir=tmp_path,
    )
    assert modbus.exit_code == 1 and "driver 'modbus' has no security setting" in modbus.output


def _config(endpoint: str) -> dict[str, object]:
    return {
        "sites": [{"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [
            {"name": "m1"}]}]}]}],
        "devices": [
            {
                "name": "press-1",
                "driver": "opcua",
                "endpoint": endpoint,
                "machine": "s/a/l/m1",
                "poll_interval_s": 0.2,
                "tags": [{"name": "temp", "address": TEMP, "data_type": "float64"}],
            },
            {
                "name": "plc",
                "driver": "memory",
                "endpoint": "memory://trust-cli",
                "machine": "s/a/l/m1",
                "tags": [{"name": "count", "address": "c", "data_type": "uint32"}],
            },
        ],
    }  # fmt: skip


async def test_a_configured_device_connects_once_trusted(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    async with secure_sim(tmp_path) as (url, der):
        await put_config(bus, _config(url))
        options = {"device": {"backoff": {"initial_s": 0.1, "max_s": 0.3, "demote_after": 100}}}
        async with hosted(
            ["governance", DeviceService], nats_url=nats_url, data_dir=tmp_path, options=options
        ) as running:
            service = running.services["device"]
            assert isinstance(service, DeviceService)
            await wait_until(
                lambda: "press-1" in service.runners and service.runners["press-1"].last_error
            )
            press = service.runners["press-1"]
            assert fingerprint(der) in press.last_error
            assert "device 'press-1'" in press.last_error
            assert "plantbus devices trust press-1" in press.last_error

            hub = ("--nats-url", nats_url)
            not_opcua = await plantbus("devices", "trust", "plc", *hub, data_dir=tmp_path)
            assert not_opcua.exit_code == 1 and "uses no server certificates" in not_opcua.output
            missing = await plantbus("devices", "trust", "nope", *hub, data_dir=tmp_path)
            assert missing.exit_code == 3 and "no device 'nope' in config version" in missing.output

            trusted = await plantbus(
                "devices", "trust", "press-1", "--yes", *hub, data_dir=tmp_path
            )
            assert trusted.exit_code == 0, trusted.output
            assert f"press-1 ({url}) presents:" in trusted.output
            await wait_until(
                lambda: press.state == device_pb2.CONNECTION_STATE_CONNECTED,
                timeout=15,
                message="press-1 connected after trust",
            )
            assert press.driver.security() == "Aes256_Sha256_RsaPss SignAndEncrypt"  # type: ignore[attr-defined]
