"""Tamper evidence and fail-closed actions on a nats-server without auth (so the test can
do what an attacker with the server's keys could): forged config versions are refused by
every service and reported; audit chains verify and a tampered record is named by
`plantbus audit verify`; with the audit stream unavailable a write does not reach the PLC
(a real Modbus server) and a config apply is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.json_format import ParseDict

from plantbus.cli.main import cli
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.runner import Runner
from plantbus.kit.signing import Signer
from plantbus.sim.model import MachineSim
from plantbus.sim.server import ModbusSim, serve_modbus
from plantbus.testing.config import put_document
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import (
    device_pb2,
    device_pb2_grpc,
    governance_pb2,
    governance_pb2_grpc,
    service_pb2,
    telemetry_pb2,
)

PLANT = """\
sites:
  - name: s
    areas: [{name: a, lines: [{name: l, machines: [{name: m1}]}]}]
roles: [{name: engineer, permissions: [tag.write]}]
users: [{name: eve, roles: [engineer]}]
write_policies:
  - {name: speed, roles: [engineer], tags: [s/a/l/m1/speed], min: 0, max: 6000}
"""


def devices(port: int) -> str:
    return f"""\
devices:
  - name: plc
    driver: modbus
    endpoint: modbus://127.0.0.1:{port}
    machine: s/a/l/m1
    poll_interval_s: 0.2
    tags:
      - {{name: speed, address: 'holding:10', data_type: uint16, access: read_write}}
"""


@pytest.fixture
async def machine() -> AsyncIterator[tuple[MachineSim, int]]:
    sim = MachineSim("m1", cycle_time_s=5.0, seed=1)
    async with serve_modbus(ModbusSim([sim])) as port:
        yield sim, port


@pytest.fixture
async def hub(
    machine: tuple[MachineSim, int], nats_url: str, tmp_path: Path
) -> AsyncIterator[Runner]:
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    (plant / "devices.yaml").write_text(devices(machine[1]))
    async with hosted(
        ["governance", "device", "oee"],
        nats_url=nats_url,
        data_dir=tmp_path / "hub",
        options={"governance": {"bootstrap_config": str(plant)}},
    ) as runner:
        await wait_until(
            lambda: runner.services["device"].config_version == 1, message="version 1 applied"
        )
        yield runner


async def cli_run(nats_url: str, *args: str) -> Result:
    """The CLI in a thread (it runs its own event loop), pointed at the test server."""
    return await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--nats-url", nats_url])


async def write(runner: Runner, value: int) -> device_pb2.WriteTagResponse:
    """As eve, through the local operator."""
    async with operator_channel(runner) as chan:
        return await device_pb2_grpc.DeviceServiceStub(chan).WriteTag(
            device_pb2.WriteTagRequest(
                device="plc", tag="speed", value=telemetry_pb2.TagValue(int_value=value)
            ),
            metadata=(("x-plantbus-user", "eve"),),
        )


async def apply(runner: Runner, port: int) -> governance_pb2.ApplyConfigResponse:
    """Apply a changed config (user eve renamed eva)."""
    files = [
        governance_pb2.ConfigFile(name="plant.yaml", content=PLANT.replace("eve", "eva")),
        governance_pb2.ConfigFile(name="devices.yaml", content=devices(port)),
    ]
    async with operator_channel(runner) as chan:
        return await governance_pb2_grpc.GovernanceServiceStub(chan).ApplyConfig(
            governance_pb2.ApplyConfigRequest(files=files)
        )


async def test_forged_versions_are_refused_by_every_service_and_reported(
    hub: Runner, bus: Bus, machine: tuple[MachineSim, int]
) -> None:
    forged_audits = await collected(bus, "plantbus.v1.audit.governance", service_pb2.AuditRecord)
    stranger = Signer(Ed25519PrivateKey.generate())
    doc: dict[str, Any] = {
        "version": 2,
        "author": "mallory",
        "time": "2026-01-01T00:00:00+00:00",
        "message": "forged",
        "config": {"users": [{"name": "mallory", "roles": ["engineer"]}]},
    }
    await put_document(bus, doc)  # unsigned
    device, oee = hub.services["device"], hub.services["oee"]
    await wait_until(lambda: "not signed" in hub._watch.refused, message="unsigned refused")  # type: ignore[union-attr]
    await put_document(bus, stranger.sign({**doc, "version": 3}))  # another key
    await wait_until(lambda: "signed by key" in hub._watch.refused, message="wrong key refused")  # type: ignore[union-attr]
    signed = await stored_doc(bus, "history.1")  # governance's own, then edited
    await put_document(bus, {**signed, "version": 4, "message": "edited"})
    await wait_until(
        lambda: "does not match its content" in hub._watch.refused,  # type: ignore[union-attr]
        message="altered copy refused",
    )
    assert device.config_version == 1 and oee.config_version == 1  # nothing applied
    beat = hub.heartbeat.build(device)  # type: ignore[union-attr]
    assert "refused" in beat.health_detail and "running version 1" in beat.health_detail
    await wait_until(
        lambda: len([a for a in forged_audits if a.action == "config.forged"]) >= 3,
        message="governance audits every forged version",
    )
    assert "was not written by governance" in hub.services["governance"].health()[1]
    # governance never serves or restores a forgery, and the next real version wins
    reply = await apply(hub, machine[1])
    assert reply.version == 2 and reply.previous_version == 1
    await wait_until(lambda: device.config_version == 2, message="signed version 2 applied")
    assert hub.heartbeat.build(device).health_detail == ""  # type: ignore[union-attr]


async def stored_doc(bus: Bus, key: str) -> dict[str, Any]:
    kv = await streams.open_bucket(bus, streams.CONFIG)
    return dict(json.loads((await kv.get(key)).value or b"{}"))


async def test_audit_chain_verifies_and_a_tampered_record_is_named(
    hub: Runner, bus: Bus, nats_url: str
) -> None:
    await write(hub, 4000)
    intact = await cli_run(nats_url, "audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "every chain is intact" in intact.output
    assert "device/" in intact.output and "governance/" in intact.output
    # rewrite history: a copy of the write's record that names another actor
    listed = await cli_run(nats_url, "audit", "--json")
    stored = [json.loads(line) for line in listed.output.splitlines()]
    success = next(r for r in stored if r["action"] == "tag.write" and "SUCCESS" in r["outcome"])
    forged = ParseDict({**success, "actor": "nobody", "id": "f" * 32}, service_pb2.AuditRecord())
    await bus.js_publish("plantbus.v1.audit.device", forged)
    broken = await cli_run(nats_url, "audit", "verify")
    assert broken.exit_code == 1
    assert f"BROKEN record {'f' * 32}" in broken.output
    assert "content does not match its hash" in broken.output


async def test_without_the_audit_stream_no_write_reaches_the_plc_and_no_config_applies(
    hub: Runner, bus: Bus, machine: tuple[MachineSim, int]
) -> None:
    sim, _port = machine
    assert (await write(hub, 4000)).read_back.value.int_value == 4000
    assert sim.speed_setpoint == 4000
    # the audit stream now takes governance's records only: the device's cannot be stored
    await bus.js.delete_stream(streams.AUDIT.name)
    await bus.js.add_stream(name=streams.AUDIT.name, subjects=["plantbus.v1.audit.governance"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await write(hub, 5000)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "audit record of tag.write" in (refused.value.details() or "")
    assert sim.speed_setpoint == 4000  # the PLC never saw the write
    # and nothing at all can be audited: a config change is refused, the version stays
    await bus.js.delete_stream(streams.AUDIT.name)
    with pytest.raises(grpc.aio.AioRpcError) as apply_refused:
        await apply(hub, machine[1])
    assert apply_refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "audit record of config.apply" in (apply_refused.value.details() or "")
    assert (await stored_doc(bus, "current"))["version"] == 1
