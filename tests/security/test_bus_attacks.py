"""Attacks on the bus of a running `plantbus up`, from outside: connecting without a
credential, reading and writing as the IT reader, forging heartbeats and config as a
service, deleting or purging the audit stream as anyone; each refused by the server, and
a forged config version refused by every service; the operator's CLI still works."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from pydantic import SecretStr

from plantbus.kit import natsauth, natsconfig, streams
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.codec import now
from plantbus.kit.natsconnect import connect
from plantbus.sdk.errors import ConfigError
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2
from tests.hub import demo_plant, plantbus, running_hub, status

pytestmark = pytest.mark.slow
_REFUSED = 0.5  # seconds to wait for an answer the server never gives a refused request


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("attacks")
    data = tmp / "hub"
    with running_hub(data, "--config", str(demo_plant(tmp))):
        yield data


def runtime(data: Path) -> dict[str, Any]:
    return dict(json.loads((data / "runtime.json").read_text()))


def password(data: Path, user: str) -> str:
    return natsconfig.password_file(natsconfig.credentials_dir(data), user).read_text().strip()


class Session:
    """A connection as one NATS user that records the server's permission errors."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.js: JetStreamContext = bus.nc.jetstream(timeout=_REFUSED)
        self.errors: list[str] = []


@pytest.fixture
async def login(hub: Path) -> AsyncIterator[Any]:
    sessions: list[Session] = []

    async def open_as(user: str) -> Session:
        settings = NatsSettings(
            url=runtime(hub)["nats_url"], user=user, password=SecretStr(password(hub, user))
        )
        session = Session(await connect(settings))
        original = session.bus.nc._error_cb

        async def on_error(err: Exception) -> None:
            session.errors.append(str(err))
            await original(err)

        session.bus.nc._error_cb = on_error
        sessions.append(session)
        return session

    yield open_as
    for session in sessions:
        await session.bus.close()


async def refused(call: Any) -> bool:
    """True when the server does not carry out a JetStream request (no answer within
    ``_REFUSED``, or an error); bounded here because some nats-py calls wait 5 s."""
    try:
        await asyncio.wait_for(call, _REFUSED)
    except Exception:  # noqa: BLE001 - a timeout or an API error: either way, not done
        return True
    return False


async def test_outsider_without_credential_is_refused(hub: Path) -> None:
    url = runtime(hub)["nats_url"]
    for settings in (
        NatsSettings(url=url, connect_timeout_s=2),
        NatsSettings(url=url, user="device", password=SecretStr("guessed"), connect_timeout_s=2),
    ):
        with pytest.raises(ConfigError, match="uthoriz"):
            await connect(settings)


async def test_it_reader_reads_plant_data_and_changes_nothing(hub: Path, login: Any) -> None:
    reader = await login(natsauth.IT_READER)
    seen: list[str] = []

    async def on_sample(msg: Any) -> None:
        seen.append(msg.subject)

    await reader.bus.nc.subscribe("plantbus.v1.telemetry.>", cb=on_sample)
    await reader.bus.nc.subscribe("plantbus.v1.cycle.>", cb=on_sample)
    durable = await reader.js.pull_subscribe(
        "plantbus.v1.cycle.>", durable="it-test", stream=streams.CYCLES.name
    )
    (from_stream,) = await durable.fetch(1, timeout=10)
    assert from_stream.subject.startswith("plantbus.v1.cycle.demo.")
    await wait_until(
        lambda: {s.split(".")[2] for s in seen} == {"telemetry", "cycle"},
        timeout=10,
        message="live telemetry and device cycles for the IT reader",
    )
    await reader.bus.nc.publish("plantbus.v1.telemetry.demo.machining.line1.m1.parts", b"x")
    await reader.bus.nc.publish("plantbus.v1.svc.governance.local", b"x")
    await reader.bus.nc.publish("plantbus.v1.cycle.demo.machining.line1.m1.m1-plc", b"x")
    await reader.bus.nc.flush()
    await wait_until(
        lambda: (
            sum("ermissions violation" in e.lower().replace("p", "p") for e in reader.errors) >= 3
        ),
        message="the three publishes refused",
    )
    assert await refused(reader.js.publish("$KV.plantbus_config.current", b"{}"))
    assert await refused(reader.js.delete_stream(streams.AUDIT.name))
    assert await refused(reader.js.purge_stream(streams.AUDIT.name))
    assert await refused(reader.js.get_msg(streams.AUDIT.name, 1))  # audit is not IT's


async def test_only_the_device_service_publishes_device_cycles(hub: Path, login: Any) -> None:
    """The cycle subject carries every sample to uns, dashboard and maintenance: another
    service user's forged cycle is refused by the server and never reaches them."""
    listener = await login("uns")
    heard: list[tuple[str, bytes]] = []

    async def on_cycle(msg: Any) -> None:
        heard.append((msg.subject, msg.data))

    await listener.bus.nc.subscribe("plantbus.v1.cycle.>", cb=on_cycle)
    await wait_until(lambda: heard, timeout=10, message="the demo's device cycles")
    forged = b"forged cycle"
    others = [user for user in natsauth.SERVICE_USERS if user != "device"]
    sessions = [await login(user) for user in others]
    for session in sessions:
        await session.bus.nc.publish("plantbus.v1.cycle.m1-plc", forged)
        await session.bus.nc.flush()
    await wait_until(
        lambda: all(any("ermissions violation" in e.lower() for e in s.errors) for s in sessions),
        message="every other service user refused",
    )
    device = await login("device")
    await device.bus.nc.publish("plantbus.v1.cycle.m1-plc", forged)
    await wait_until(lambda: ("plantbus.v1.cycle.m1-plc", forged) in heard, message="device's")
    assert heard.count(("plantbus.v1.cycle.m1-plc", forged)) == 1  # the device's alone


async def test_nobody_can_delete_purge_or_edit_the_audit_stream(hub: Path, login: Any) -> None:
    before = await (await login(natsauth.OPERATOR)).js.stream_info(streams.AUDIT.name)
    assert before.config.deny_delete and before.config.deny_purge
    weaker = before.config.evolve(max_age=1.0)  # would drop every record older than 1 s
    users = [*natsauth.SERVICE_USERS, natsauth.OPERATOR, natsauth.IT_READER]
    attempts = []
    for user in users:
        js = (await login(user)).js
        attempts += [
            (f"{user} deletes", js.delete_stream(streams.AUDIT.name)),
            (f"{user} purges", js.purge_stream(streams.AUDIT.name)),
            (f"{user} shortens max_age", js.update_stream(weaker)),
            (f"{user} deletes record 1", js.delete_msg(streams.AUDIT.name, 1)),
        ]
    outcomes = await asyncio.gather(*(refused(call) for _, call in attempts))
    assert [what for (what, _), no in zip(attempts, outcomes, strict=True) if not no] == []
    after = await (await login(natsauth.OPERATOR)).js.stream_info(streams.AUDIT.name)
    assert after.state.first_seq == 1 and after.state.messages >= before.state.messages
    assert after.config.max_age == before.config.max_age


async def test_a_service_cannot_forge_another_services_heartbeat_or_the_config(
    hub: Path, login: Any
) -> None:
    device = await login("device")
    kv = await streams.open_bucket(device.bus, streams.SERVICES)
    governance_before = await kv.get("governance.local")
    forged = service_pb2.ServiceHeartbeat(
        service="governance",
        instance="local",
        grpc_address="127.0.0.1:1",
        health=service_pb2.HEALTH_SERVING,
        time=now(),
        interval_seconds=60,
    )
    assert await refused(device.js.publish("$KV.plantbus_services.governance.local", b"x"))
    assert await refused(
        device.js.publish("$KV.plantbus_services.governance.evil", forged.SerializeToString())
    )
    await device.bus.publish("plantbus.v1.svc.governance.local", forged)
    assert await refused(device.js.publish("$KV.plantbus_config.current", b"{}"))
    assert await refused(device.js.publish("plantbus.v1.audit.governance", b"x"))
    after = await kv.get("governance.local")
    assert after.revision >= governance_before.revision  # still governance's own beats
    beat = service_pb2.ServiceHeartbeat.FromString(after.value or b"")
    assert beat.grpc_address == runtime(hub)["services"]["governance"]["grpc"]
    assert await refused(kv.get("governance.evil"))
    # its own heartbeat is the one it may write
    await kv.put("device.extra", forged.SerializeToString())
    await kv.delete("device.extra")


async def test_forged_config_is_refused_by_every_service_and_reported(
    hub: Path, login: Any
) -> None:
    governance = await login("governance")  # the one credential that may write the bucket
    forged = {
        "version": 99,
        "author": "mallory",
        "time": "2026-01-01T00:00:00+00:00",
        "message": "open every write",
        "config": {"users": [{"name": "mallory", "roles": ["engineer"]}]},
    }
    kv = await streams.open_bucket(governance.bus, streams.CONFIG)
    await kv.put("current", json.dumps(forged).encode())
    followers = ("device", "oee", "alerting", "erp")

    def refused_by_all() -> bool:
        beats = status(hub)
        return all(
            "config version 99 refused" in beats.get(name, {}).get("health_detail", "")
            and beats[name]["config_version"] == 1
            for name in followers
        )

    await wait_until(refused_by_all, timeout=20, message="every follower refuses version 99")
    audit = plantbus("audit", "--json", data_dir=hub)
    forged_records = [
        json.loads(line)
        for line in audit.stdout.splitlines()
        if json.loads(line)["action"] == "config.forged"
    ]
    assert forged_records and "version 99" in forged_records[0]["detail"]
    shown = plantbus("config", "show", data_dir=hub)  # never the forgery
    assert shown.returncode == 0 and "mallory" not in shown.stdout
    restored = plantbus("config", "rollback", "1", "-m", "replace the forgery", data_dir=hub)
    assert restored.returncode == 0, restored.stderr
    await wait_until(
        lambda: all(status(hub).get(name, {}).get("config_version") == 2 for name in followers),
        timeout=20,
        message="the signed version 2 applied everywhere",
    )
    assert all(not status(hub)[name]["health_detail"] for name in ("device", "oee"))


def test_operator_cli_reads_the_hub_and_the_audit_verifies(hub: Path) -> None:
    assert all(s["health"] == "serving" for s in status(hub).values())
    tail = plantbus("tail", "plantbus.v1.oee.>", "--count", "1", "--timeout", "20", data_dir=hub)
    assert tail.returncode == 0, tail.stderr
    verify = plantbus("audit", "verify", data_dir=hub)
    assert verify.returncode == 0, verify.stderr
    assert "every chain is intact" in verify.stdout
    runtime_text = (hub / "runtime.json").read_text()
    for user in natsauth.grants():
        assert password(hub, user) not in runtime_text
    config = (natsconfig.credentials_dir(hub) / "nats-server.conf").read_text()
    assert password(hub, "device") not in config  # only bcrypt hashes
    assert oct((natsconfig.credentials_dir(hub) / "device.password").stat().st_mode)[-3:] == "600"
