"""The embedded NATS of ``plantbus up``: a nats-server with JetStream, a least-privilege
user per service and an MQTT listener, supervised like the services, and every stream and
bucket provisioned before any service starts.

With ``--cluster N`` it is N nats-servers on loopback joined by routes into one JetStream
cluster (each its own store, the MQTT listener on the first), and every stream and bucket
is created with N replicas: the replicated layout of a deployment, on one machine."""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Final

import nats.errors
from pydantic import SecretStr

from plantbus.cli.supervisor import Child, Supervisor
from plantbus.kit import natsauth, natsconfig, streams
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.net import free_port
from plantbus.sdk.errors import ConfigError

__all__ = ["start_nats"]


CLUSTER: Final = "plantbus"
"""The JetStream cluster's name; its nodes are ``plantbus-1`` and so on."""
_FORMING_S = 30.0
"""How long a new cluster may take to elect its meta leader and know every peer."""


def start_nats(
    infra: Supervisor,
    data_dir: Path,
    ports: tuple[int, int],
    random_ports: bool,
    single_process: bool,
    cluster: int = 1,
) -> tuple[str, str]:
    """Start the embedded NATS under ``infra`` on ``ports`` (NATS, MQTT; free ones with
    ``random_ports``), ``cluster`` nodes of it, and provision it with a replica per node;
    returns its URL (every node's, comma-separated) and its MQTT listener's URL."""
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
    nodes, provisioner = _secure_nats(data_dir, port, mqtt, single_process, cluster)
    for i, node in enumerate(nodes, 1):
        infra.add(_nats_child(node, "nats" if cluster == 1 else f"nats-{i}"))  # starts it
    url = ",".join(node.url for node in nodes)
    asyncio.run(_provision(url, provisioner, cluster))
    return url, f"mqtt://{nodes[0].host}:{mqtt}"


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _secure_nats(
    data_dir: Path, port: int, mqtt_port: int, single_process: bool, size: int
) -> tuple[list[NatsServer], str]:
    """The embedded nats-server with a user per service, ``operator``, ``it-reader`` and
    ``mqtt-reader`` (:mod:`plantbus.kit.natsauth`; passwords in 0600 files, bcrypt hashes in
    the server config), its MQTT listener on ``mqtt_port`` of the same host, and the
    provisioning user of this process, whose password is only in memory; ``size`` > 1
    servers clustered (:func:`_clustered`). Returns the servers (not started yet) and
    that password."""
    directory = natsconfig.credentials_dir(data_dir)
    users = natsauth.grants(single_process=single_process, provisioner=True)
    stored = [user for user in users if user != natsauth.PROVISIONER]
    passwords = natsconfig.user_passwords(directory, stored)
    provisioner = secrets.token_urlsafe(32)
    passwords[natsauth.PROVISIONER] = provisioner
    servers = (
        [NatsServer(store_dir=directory, port=port)]
        if size == 1
        else _clustered(directory, port, size)
    )
    for i, server in enumerate(servers):
        store, mqtt = server.store_dir, mqtt_port if i == 0 else None
        text = natsconfig.server_config(
            users, passwords, str(store / "jetstream"), mqtt_port=mqtt, mqtt_host=server.host
        )
        server.config_file = natsconfig.write_config(store / "nats-server.conf", text)
    return servers, provisioner


def _clustered(directory: Path, port: int, size: int) -> list[NatsServer]:
    """``size`` servers (the first on ``port``, the others on free ports), each with its
    store in ``directory/<node>``, joined by routes on loopback ports."""
    routes = [free_port() for _ in range(size)]
    seeds = ",".join(f"nats://127.0.0.1:{route}" for route in routes)
    servers = []
    for i, route in enumerate(routes, 1):
        node = f"{CLUSTER}-{i}"
        args = ["-n", node, "--cluster_name", CLUSTER, "--cluster", f"nats://127.0.0.1:{route}"]
        args += ["--routes", seeds]
        store = directory / node
        store.mkdir(mode=0o700, exist_ok=True)  # its config holds the users' password hashes
        servers.append(NatsServer(store, port if i == 1 else -1, extra_args=args))
    return servers


async def _provision(url: str, password: str, replicas: int) -> None:
    """Create or bring up to date every stream and bucket before any service starts (no
    service may update a stream it does not own, and nobody the audit stream), with
    ``replicas`` replicas; a new cluster is given time to form."""
    secret = SecretStr(password)
    settings = NatsSettings(url=url, name="plantbus-up", user=natsauth.PROVISIONER, password=secret)
    bus = await connect(settings.model_copy(update={"js_replicas": replicas}))
    deadline = time.monotonic() + (_FORMING_S if replicas > 1 else 0.0)
    try:
        while True:
            try:
                return await streams.provision(bus)
            except (nats.errors.Error, ConfigError):
                # a cluster without a meta leader yet, or not knowing every peer yet
                # ("insufficient resources"): tried again until it has formed
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.5)
    finally:
        await bus.close()


def _nats_child(nats: NatsServer, name: str) -> Child:
    """The embedded NATS as a supervised child; when it dies it is started again on the
    same port and JetStream store, so services reconnect to the URL they know and find
    their streams, consumers and KV buckets."""

    def launch() -> subprocess.Popen[bytes]:
        nats.restart()
        assert nats.process is not None
        return nats.process

    return Child(name, [], nats.store_dir / "nats-server.log", launch=launch)
