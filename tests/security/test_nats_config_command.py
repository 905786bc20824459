"""`plantbus security nats-config` writes the config `plantbus up` runs: a server started
with it enforces least privilege per service."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg

from plantbus.kit.bus import inbox_prefix
from plantbus.kit.natsauth import IT_READER, MQTT_READER, MQTT_WRITER, OPERATOR, SERVICE_USERS
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.ports import free_port
from plantbus.testing.waiting import wait_until


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[NatsServer, dict[str, str]]]:
    config = tmp_path / "nats.conf"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "plantbus.cli",
            "security",
            "nats-config",
            "--out",
            str(config),
            "--store-dir",
            str(tmp_path / "js"),
            "--mqtt-port",
            str(free_port()),  # the listener needs a port of its own
        ],
        check=True,
        capture_output=True,
    )
    passwords = {p.stem: p.read_text().strip() for p in tmp_path.glob("*.password")}
    assert set(passwords) == {*SERVICE_USERS, OPERATOR, IT_READER, MQTT_READER, MQTT_WRITER}
    assert oct(config.stat().st_mode)[-3:] == "600"
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in tmp_path.glob("*.password"))
    assert not any(password in config.read_text() for password in passwords.values())
    server = NatsServer(store_dir=tmp_path / "srv", config_file=config).start()
    try:
        yield server, passwords
    finally:
        server.stop()


async def test_each_service_publishes_only_its_own_subjects(
    secured: tuple[NatsServer, dict[str, str]],
) -> None:
    server, passwords = secured
    errors: list[Exception] = []

    async def on_error(err: Exception) -> None:
        errors.append(err)

    def url(user: str) -> str:
        return server.url.replace("nats://", f"nats://{user}:{passwords[user]}@")

    watcher = await nats.connect(url(OPERATOR), inbox_prefix=inbox_prefix(OPERATOR))
    seen: list[str] = []

    async def record(msg: Msg) -> None:
        seen.append(msg.subject)

    await watcher.subscribe("plantbus.v1.>", cb=record)
    device = await nats.connect(url("device"), error_cb=on_error)
    await device.publish("plantbus.v1.telemetry.s.a.l.m.t", b"ok")
    await device.publish("plantbus.v1.alarm.s.a.l.m.r", b"forged alarm")
    await device.flush()
    await wait_until(lambda: errors and seen, timeout=5, message="error and delivery")
    assert seen == ["plantbus.v1.telemetry.s.a.l.m.t"]
    assert "permissions violation" in str(errors[0]).lower()
    with pytest.raises(Exception, match="uthoriz"):
        await nats.connect(
            server.url.replace("nats://", "nats://device:wrong@"),
            max_reconnect_attempts=0,
            allow_reconnect=False,
        )
    await device.close()
    await watcher.close()
