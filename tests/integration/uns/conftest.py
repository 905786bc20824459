"""A real nats-server with the hub's users and its MQTT listener, the uns service on it, and
the MQTT clients of the tests: mosquitto_sub/mosquitto_pub (Debian's mosquitto-clients) and
paho-mqtt, none of them the project's."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from plantbus.config import PlantConfig
from plantbus.kit import natsauth, natsconfig
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.service import ServiceContext
from plantbus.testing.ports import free_port
from plantbus.testing.waiting import wait_until
from plantbus.uns.service import UnsService

PLANT: dict[str, Any] = {
    "sites": [
        {
            "name": "demo",
            "areas": [
                {
                    "name": "machining",
                    "lines": [{"name": "line1", "machines": [{"name": "m1"}, {"name": "m2"}]}],
                }
            ],
        }
    ],
    "uns": {"publish": [{"path": "demo/machining/line1/m1"}]},
}

needs_mosquitto = pytest.mark.skipif(
    not (shutil.which("mosquitto_sub") and shutil.which("mosquitto_pub")),
    reason="mosquitto_sub and mosquitto_pub not installed: apt-get install mosquitto-clients",
)


@dataclass
class Listener:
    """The server, its MQTT port, every user's password and its log."""

    server: NatsServer
    mqtt_port: int
    passwords: dict[str, str]
    log: Path

    def settings(self, user: str, password: str | None = None) -> NatsSettings:
        secret = SecretStr(password or self.passwords[user])
        return NatsSettings(url=self.server.url, user=user, password=secret, name=f"t-{user}")

    async def bus(self, user: str) -> Bus:
        return await connect(self.settings(user))

    def mosquitto(self, user: str | None) -> list[str]:
        """The connection arguments of a mosquitto client as ``user`` (None: anonymous)."""
        login = ["-u", user, "-P", self.passwords[user]] if user else []
        return ["-h", "127.0.0.1", "-p", str(self.mqtt_port), "-V", "mqttv311", *login]


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    users = natsauth.grants()
    passwords = natsconfig.user_passwords(tmp_path / "credentials", users)
    mqtt_port = free_port()
    server = NatsServer(store_dir=tmp_path / "nats")
    text = natsconfig.server_config(
        users,
        passwords,
        str(tmp_path / "nats" / "jetstream"),
        mqtt_port=mqtt_port,
        mqtt_host=server.host,
    )
    server.config_file = natsconfig.write_config(tmp_path / "nats-server.conf", text)
    server.start()
    try:
        yield Listener(server, mqtt_port, passwords, tmp_path / "nats" / "nats-server.log")
    finally:
        server.stop()


@dataclass
class Audit:
    records: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, **record: Any) -> None:
        self.records.append(record)

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


@pytest.fixture
def audit() -> Audit:
    return Audit()


@pytest.fixture
async def uns(listener: Listener, audit: Audit, tmp_path: Path) -> AsyncIterator[UnsService]:
    """The uns service as its own NATS user, publishing demo/machining/line1/m1."""
    bus = await listener.bus("uns")
    options = {"mqtt_url": f"mqtt://127.0.0.1:{listener.mqtt_port}"}
    svc = UnsService(ServiceContext("uns", "t1", bus, tmp_path, audit, options))
    await svc.start()
    await svc.apply_config(PlantConfig.model_validate(PLANT), 1)
    try:
        await wait_until(lambda: svc.health()[0], message="uns connected to MQTT")
        yield svc
    finally:
        await svc.stop()
        await bus.close()


async def mosquitto(*args: str, timeout: float = 20) -> tuple[int, str, str]:
    """Run a mosquitto client; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Paho:
    """A paho-mqtt client whose messages and connection result the test awaits."""

    def __init__(self, listener: Listener, user: str | None, password: str | None = None):
        self.messages: list[paho.MQTTMessage] = []
        self.connack: Any = None
        self.granted: list[Any] = []
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        if user:
            client.username_pw_set(user, password or listener.passwords[user])
        client.on_connect = lambda c, u, f, reason, p: setattr(self, "connack", reason)
        client.on_message = lambda c, u, msg: self.messages.append(msg)
        client.on_subscribe = lambda c, u, mid, codes, p: self.granted.extend(codes)
        self.client = client
        self.port = listener.mqtt_port

    async def connect(self) -> Any:
        self.client.connect_async("127.0.0.1", self.port)
        self.client.loop_start()
        return await wait_until(lambda: self.connack, message="CONNACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
