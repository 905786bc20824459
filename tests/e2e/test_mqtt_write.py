"""A Node-RED-style flow writes through a real `plantbus up` over MQTT: mosquitto_pub
(Debian's mosquitto-clients) as ``mqtt-writer`` asks for writes on its own tree of the JSON
namespace, mosquitto_sub reads the outcomes and the live value; the allowed write reaches
the simulator's Modbus register, the refused one does not, both are audited by the device
service and the uns service as the plant user ``uns.writers`` names. A reader cannot write,
a writer cannot write under another's name, an anonymous client cannot connect."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymodbus.client import AsyncModbusTcpClient

from plantbus.kit import natsauth, natsconfig
from plantbus.testing.waiting import wait_until
from tests.hub import demo_plant, plantbus, running_hub, status
from tests.integration.uns.conftest import mosquitto

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("mosquitto_sub") and shutil.which("mosquitto_pub")),
        reason="mosquitto_sub and mosquitto_pub not installed: apt-get install mosquitto-clients",
    ),
]
WRITER = natsauth.MQTT_WRITER
M1 = "demo/machining/line1/m1/speed_setpoint"
M2 = "demo/machining/line1/m2/speed_setpoint"
REGISTER = {M1: 10, M2: 110}  # holding registers of the demo plant's setpoints (unit 1)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`plantbus up` with the demo plant, whose MQTT writer acts as engineer."""
    tmp = tmp_path_factory.mktemp("mqtt-write")
    plant = demo_plant(tmp)
    uns = yaml.safe_load((plant / "uns.yaml").read_text())
    uns["uns"]["writers"] = {WRITER: "engineer"}
    (plant / "uns.yaml").write_text(yaml.safe_dump(uns, sort_keys=False))
    data = tmp / "hub"
    with running_hub(data, "--config", str(plant)):
        yield data


@pytest.fixture
async def serving(hub: Path) -> Path:
    await wait_until(
        lambda: status(hub).get("uns", {}).get("health") == "serving", 60, message="uns serving"
    )
    return hub


def _runtime(data: Path) -> dict[str, Any]:
    return dict(json.loads((data / "runtime.json").read_text()))


def _login(data: Path, user: str | None) -> list[str]:
    port = _runtime(data)["mqtt_url"].rsplit(":", 1)[1]
    login = []
    if user:
        secret = natsconfig.password_file(natsconfig.credentials_dir(data), user).read_text()
        login = ["-u", user, "-P", secret.strip()]
    return ["-h", "127.0.0.1", "-p", port, "-V", "mqttv311", *login]


class Sub:
    """mosquitto_sub as the writer on the retained value of ``tag`` (its first line says it
    is subscribed) and on ``topics``; ``first(topic, match)`` is the first message seen on
    ``topic`` whose payload ``match`` accepts."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    async def start(cls, data: Path, tag: str, *topics: str) -> Sub:
        args = [a for topic in (f"uns/{tag}", *topics) for a in ("-t", topic)]
        proc = await asyncio.create_subprocess_exec(
            "mosquitto_sub", *_login(data, WRITER), *args, "-v", stdout=asyncio.subprocess.PIPE
        )
        sub = cls(proc)
        await sub.first(f"uns/{tag}")
        return sub

    async def first(
        self, topic: str, match: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        assert self.proc.stdout is not None
        at = 0
        while True:
            for got, payload in self.seen[at:]:
                if got == topic and match(payload):
                    return payload
            at = len(self.seen)
            raw = await asyncio.wait_for(self.proc.stdout.readline(), 30)
            got, _, text = raw.decode().strip().partition(" ")
            self.seen.append((got, json.loads(text)))

    def close(self) -> None:
        self.proc.terminate()


async def _pub(data: Path, user: str | None, topic: str, payload: dict[str, Any]) -> None:
    code, _, err = await mosquitto(
        "mosquitto_pub", *_login(data, user), "-q", "1", "-t", topic, "-m", json.dumps(payload)
    )
    assert code == 0, err


async def _register(data: Path, path: str) -> int:
    host, port = _runtime(data)["sim"]["modbus"].rsplit(":", 1)
    client = AsyncModbusTcpClient(host, port=int(port))
    await client.connect()
    try:
        reply = await client.read_holding_registers(REGISTER[path], count=1, device_id=1)
        return int(reply.registers[0])
    finally:
        client.close()


def _audit(data: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = plantbus("audit", "--who", "engineer", "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    return {(r["action"], r["target"], r["outcome"]): r for r in records}


async def test_a_flow_writes_under_the_policies_reads_it_back_and_both_are_audited(
    serving: Path,
) -> None:
    data = serving
    sub = await Sub.start(data, M1, f"uns/_set/{WRITER}/#")
    try:
        await _pub(data, WRITER, f"uns/_set/{WRITER}/{M1}", {"value": 1234, "id": "allowed"})
        await _pub(data, WRITER, f"uns/_set/{WRITER}/{M2}", {"value": 999, "id": "refused"})
        allowed = await sub.first(f"uns/_set/{WRITER}/{M1}/_result")
        refused = await sub.first(f"uns/_set/{WRITER}/{M2}/_result")
        await sub.first(f"uns/{M1}", lambda value: value["value"] == 1234)  # read back live
    finally:
        sub.close()
    assert (allowed["outcome"], allowed["id"]) == ("written", "allowed"), allowed
    assert "policy m1-speed" in allowed["detail"]
    assert (refused["outcome"], refused["id"]) == ("refused", "refused"), refused
    assert "no write policy" in refused["detail"]
    assert await _register(data, M1) == 1234  # the simulated PLC's register
    assert await _register(data, M2) != 999
    wanted = {
        ("tag.write", M1, "AUDIT_OUTCOME_SUCCESS"),
        ("uns.write", M1, "AUDIT_OUTCOME_SUCCESS"),
        ("tag.write", M2, "AUDIT_OUTCOME_DENIED"),
        ("uns.write", M2, "AUDIT_OUTCOME_DENIED"),
    }
    await wait_until(lambda: wanted <= set(_audit(data)), 30, message="both writes audited")
    found = _audit(data)
    write = found[("tag.write", M1, "AUDIT_OUTCOME_SUCCESS")]
    assert write["service"] == "device" and write["attributes"]["via"] == "uns"
    assert found[("uns.write", M1, "AUDIT_OUTCOME_SUCCESS")]["attributes"]["mqtt_user"] == WRITER


async def test_a_reader_or_another_name_cannot_write_and_anonymous_cannot_connect(
    serving: Path,
) -> None:
    data = serving
    before = await _register(data, M1)
    value = 4321 if before != 4321 else 4322
    sub = await Sub.start(data, M1, f"uns/_set/{WRITER}/{M1}/_result")
    try:
        # a reader on the writer's tree, the writer under the reader's name: the server
        # drops both; then the writer's own request, whose outcome is the first to come
        await _pub(data, natsauth.MQTT_READER, f"uns/_set/{WRITER}/{M1}", {"value": value})
        await _pub(data, WRITER, f"uns/_set/{natsauth.MQTT_READER}/{M1}", {"value": value})
        await _pub(data, WRITER, f"uns/_set/{WRITER}/{M1}", {"value": before, "id": "after"})
        outcome = await sub.first(f"uns/_set/{WRITER}/{M1}/_result")
    finally:
        sub.close()
    assert outcome["id"] == "after", outcome
    assert await _register(data, M1) == before
    log = (natsconfig.credentials_dir(data) / "nats-server.log").read_text()
    for user in (WRITER, natsauth.MQTT_READER):
        subject = f"uns._set.{user}.{M1.replace('/', '.')}"
        assert f'Publish Violation - Subject "{subject}"' in log
    assert not [r for r in _audit(data).values() if repr(value) in r["detail"]]
    code, _, err = await mosquitto(
        "mosquitto_pub", *_login(data, None), "-t", f"uns/_set/{WRITER}/{M1}", "-m", "{}"
    )
    assert code != 0 and "not authorised" in err.lower()
