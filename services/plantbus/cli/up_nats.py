"""The embedded NATS of ``plantbus up``: a nats-server with JetStream, a least-privilege
user per service and an MQTT listener, supervised like the services, and every stream and
bucket provisioned before any service starts."""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
from pathlib import Path

from pydantic import SecretStr

from plantbus.cli.supervisor import Child, Supervisor
from plantbus.kit import natsauth, streams
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.net import free_port
from plantbus.sdk.errors import ConfigError

__all__ = ["start_nats"]


def start_nats(
    infra: Supervisor,
    data_dir: Path,
    ports: tuple[int, int],
    random_ports: bool,
    single_process: bool,
) -> tuple[str, str]:
    """Start the embedded NATS under ``infra`` on ``ports`` (NATS, MQTT; free ones with
    ``random_ports``) and provision it; returns its URL and its MQTT listener's URL."""
    nats_port, mqtt_port = ports
    port = -1 if random_ports else nats_port
    if port > 0 and _port_taken(port):
        raise ConfigError(
            f"port {port} is in use: another NATS or hub is running; stop it, or use "
            "--nats-port, --random-ports or --nats-url"
        )
    mqtt = free_port() if random_ports else mqtt_port
    if _port_taken(mqtt):
        raise ConfigError(
            f"MQTT port {mqtt} is in use: another MQTT broker or hub is running; stop "
            "it, or use --mqtt-port or --random-ports"
        )
    nats, provisioner = _secure_nats(data_dir, port, mqtt, single_process)
    infra.add(_nats_child(nats))  # starts it
    asyncio.run(_provision(nats.url, provisioner))
    return nats.url, f"mqtt://{nats.host}:{mqtt}"


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _secure_nats(
    data_dir: Path, port: int, mqtt_port: int, single_process: bool
) -> tuple[NatsServer, str]:
    """The embedded nats-server with a user per service, ``operator``, ``it-reader`` and
    ``mqtt-reader`` (:mod:`plantbus.kit.natsauth`; passwords in 0600 files, bcrypt hashes in
    the server config), its MQTT listener on ``mqtt_port`` of the same host, and the
    provisioning user of this process, whose password is only in memory.
    Returns the server (not started yet) and that password."""
    directory = natsauth.credentials_dir(data_dir)
    users = natsauth.grants(single_process=single_process, provisioner=True)
    stored = [user for user in users if user != natsauth.PROVISIONER]
    passwords = natsauth.user_passwords(directory, stored)
    provisioner = secrets.token_urlsafe(32)
    passwords[natsauth.PROVISIONER] = provisioner
    server = NatsServer(store_dir=directory, port=port)
    text = natsauth.server_config(
        users, passwords, str(directory / "jetstream"), mqtt_port=mqtt_port, mqtt_host=server.host
    )
    server.config_file = natsauth.write_config(directory / "nats-server.conf", text)
    return server, provisioner


async def _provision(url: str, password: str) -> None:
    """Create or bring up to date every stream and bucket before any service starts (no
    service may update a stream it does not own, and nobody the audit stream)."""
    bus = await connect(
        NatsSettings(
            url=url, name="plantbus-up", user=natsauth.PROVISIONER, password=SecretStr(password)
        )
    )
    try:
        await streams.provision(bus)
    finally:
        await bus.close()


def _nats_child(nats: NatsServer) -> Child:
    """The embedded NATS as a supervised child; when it dies it is started again on the
    same port and JetStream store, so services reconnect to the URL they know and find
    their streams, consumers and KV buckets."""

    def launch() -> subprocess.Popen[bytes]:
        nats.restart()
        assert nats.process is not None
        return nats.process

    return Child("nats", [], nats.store_dir / "nats-server.log", launch=launch)
