"""``plantbus up``: the whole hub on one machine (embedded NATS, services, simulated plant)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

import click
import psutil
from pydantic import SecretStr

from plantbus import sim
from plantbus.cli.dashboard import login_link, remove_token, write_token
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.supervisor import Child, Supervisor
from plantbus.kit import natsauth, natsconfig, streams
from plantbus.kit import pki as pki_mod
from plantbus.kit.bus import NatsSettings
from plantbus.kit.discovery import wait_serving
from plantbus.kit.grpc_settings import is_loopback
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.net import free_port
from plantbus.kit.registry import SERVICES
from plantbus.kit.signing import ensure_signing_key
from plantbus.sdk.errors import ConfigError, DeviceUnavailable
from plantbus.v1 import service_pb2

__all__ = ["up"]

DEFAULT_SIM_PORTS = {"modbus": 5020, "opcua": 4840}
DEMO_WEAR_SPEED = 120
"""m2's bearing wears 120 times faster than the line runs (a simulated day in 12
minutes): it fails 48 minutes after the start (examples/plant/maintenance.yaml)."""
PKI_CHECK_S = 24 * 3600.0
"""How often a running hub renews certificates that have less than 30 days left."""


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _refuse_second_hub(hub: Hub) -> None:
    pid = hub.runtime.get("pid")
    if pid and psutil.pid_exists(int(pid)):
        raise click.ClickException(
            f"a hub is already running from {hub.data_dir} (pid {pid}); stop it with Ctrl-C "
            "or kill, or start another with --data-dir"
        )


async def _wait_ready(
    settings: NatsSettings, expected: list[str], timeout: float
) -> dict[str, service_pb2.ServiceHeartbeat]:
    """Wait until every expected service beats SERVING; return service -> heartbeat."""
    bus = await connect(settings)
    try:
        return await wait_serving(bus, expected, timeout)
    except DeviceUnavailable as err:
        raise ConfigError(str(err)) from None
    finally:
        await bus.close()


class _Stop:
    """Turns SIGINT/SIGTERM into a flag the supervision loop checks."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._handler)
        signal.signal(signal.SIGTERM, self._handler)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def _python_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "plantbus.cli", *args]


@click.command()
@click.option(
    "--nats-port",
    type=int,
    default=4222,
    show_default=True,
    help="Port of the embedded nats-server.",
)
@click.option(
    "--mqtt-port",
    type=int,
    default=natsconfig.MQTT_PORT,
    show_default=True,
    help="Port of the embedded nats-server's MQTT listener (docs/mqtt.md).",
)
@click.option(
    "--single-process", is_flag=True, help="Host every service in one process (small edge boxes)."
)
@click.option("--no-sim", is_flag=True, help="Do not start the simulated plant.")
@click.option(
    "--random-ports",
    is_flag=True,
    help="Pick free ports for everything (several hubs on one machine, tests).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Plant config for the first start (default: the demo plant).",
)
@click.option("--dashboard-port", type=int, default=8080, show_default=True)
@click.option("--api-port", type=int, default=8443, show_default=True, help="The HTTPS/JSON API.")
@click.option("--ready-timeout", type=float, default=60.0, show_default=True)
@click.option(
    "--insecure",
    is_flag=True,
    help="Development only, on loopback: plaintext gRPC where every caller is the local "
    "operator (no certificates, no tokens).",
)
@hub_options
def up(
    nats_port: int,
    mqtt_port: int,
    single_process: bool,
    no_sim: bool,
    random_ports: bool,
    config_path: Path | None,
    dashboard_port: int,
    api_port: int,
    ready_timeout: float,
    insecure: bool,
    hub: Hub,
) -> None:
    """Start the whole hub: embedded NATS with JetStream, every service, a simulated plant."""
    _refuse_second_hub(hub)
    if not no_sim:
        _require_sim()
    data_dir = hub.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    processes = ["all"] if single_process else list(SERVICES)
    grpc_env = _grpc_security(data_dir, processes, insecure, hub.nats_url_override)
    logs = data_dir / "logs"
    demo = sim.demo_plant()
    config_path = config_path or (demo if demo.is_dir() else None)
    stop = _Stop()
    infra = Supervisor()  # the embedded NATS: restarted like the services, stopped after them
    supervisor = Supervisor()
    mqtt_url = ""  # an outside NATS: its MQTT listener, if any, is the user's
    try:
        if hub.nats_url_override:
            nats_url = hub.nats_url_override
        else:
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
            nats_url, mqtt_url = nats.url, f"mqtt://{nats.host}:{mqtt}"
            asyncio.run(_provision(nats_url, provisioner))
        env_ports = _sim_ports(random_ports)
        os.environ.update({f"PLANTBUS_SIM_{k.upper()}_PORT": str(v) for k, v in env_ports.items()})
        os.environ["PLANTBUS_DATA_DIR"] = str(data_dir.resolve())  # config paths use it
        names = list(SERVICES)
        common = ["--nats-url", nats_url, "--data-dir", str(data_dir), "--instance", "local"]
        secure = not hub.nats_url_override  # an outside NATS: its credentials are the user's
        signing_key, pubkey = ensure_signing_key(data_dir / "pki")
        token = secrets.token_urlsafe(32)
        os.environ["PLANTBUS_DASHBOARD_TOKEN"] = token  # in the environment, not in `ps`
        write_token(data_dir, token)  # for plantbus dashboard login, while the hub runs
        # a fixed port even when random, so a restarted dashboard keeps runtime.json's URL
        web_port = free_port() if random_ports else dashboard_port
        api_port = free_port() if random_ports else api_port
        options = _service_options(config_path, web_port, mqtt_url, api_port)
        if not no_sim:
            _trust_sim(data_dir)
            supervisor.add(
                Child(
                    "sim",
                    _python_cmd(
                        "sim",
                        "--modbus-port",
                        str(env_ports["modbus"]),
                        "--opcua-port",
                        str(env_ports["opcua"]),
                        "--wear-speed",
                        str(DEMO_WEAR_SPEED),
                        "--data-dir",
                        str(data_dir),
                        *(["--plant", str(config_path)] if config_path else []),
                    ),
                    logs / "sim.log",
                )
            )
        if single_process:
            supervisor.add(
                Child(
                    "all",
                    _python_cmd(
                        "run",
                        "all",
                        *common,
                        "--grpc-port",
                        "0" if random_ports else "50051",
                        *options,
                    ),
                    logs / "all.log",
                    env=_service_env(data_dir, "all", secure, pubkey, signing_key)
                    | grpc_env["all"],
                )
            )
        else:
            for name in names:
                grpc_port = 0 if random_ports else SERVICES[name].grpc_port
                supervisor.add(
                    Child(
                        name,
                        _python_cmd("run", name, *common, "--grpc-port", str(grpc_port), *options),
                        logs / f"{name}.log",
                        env=_service_env(data_dir, name, secure, pubkey, signing_key)
                        | grpc_env[name],
                    )
                )
        try:
            ready = hub.nats_settings("plantbus-up", url=nats_url)
            # an outside NATS may have no MQTT listener: uns then waits for one (its health
            # says so) without holding back the rest of the hub
            expected = names if mqtt_url else [n for n in names if n != "uns"]
            beats = asyncio.run(_wait_ready(ready, expected, ready_timeout))
        except ConfigError as err:
            details = "\n".join(
                f"  {c.name}: {c.log_tail(3)}" for c in supervisor.children if not c.alive
            )
            raise ConfigError(f"{err}; logs in {logs}\n{details}".rstrip()) from err
        runtime = _runtime(nats_url, beats, data_dir, env_ports, insecure) | {"mqtt_url": mqtt_url}
        hub.write_runtime(runtime)
        _print_ready(runtime, logs, _first_login(runtime["dashboard"], token))
        next_pki_check = time.monotonic() + PKI_CHECK_S
        while not stop.requested:
            for event in [*infra.check(), *supervisor.check()]:
                click.echo(event, err=True)
            if time.monotonic() >= next_pki_check:
                _renew_pki(data_dir, processes)  # services pick up renewed files themselves
                next_pki_check += PKI_CHECK_S
            time.sleep(0.25)
        click.echo("stopping the hub ...", err=True)
    finally:
        supervisor.stop()
        infra.stop()
        hub.clear_runtime()
        remove_token(data_dir)
    click.echo("hub stopped", err=True)


def _secure_nats(
    data_dir: Path, port: int, mqtt_port: int, single_process: bool
) -> tuple[NatsServer, str]:
    """The embedded nats-server with a user per service, ``operator``, ``it-reader`` and
    ``mqtt-reader`` (:mod:`plantbus.kit.natsauth`; passwords in 0600 files, bcrypt hashes in
    the server config), its MQTT listener on ``mqtt_port`` of the same host, and the
    provisioning user of this process, whose password is only in memory.
    Returns the server (not started yet) and that password."""
    directory = natsconfig.credentials_dir(data_dir)
    users = natsauth.grants(single_process=single_process, provisioner=True)
    stored = [user for user in users if user != natsauth.PROVISIONER]
    passwords = natsconfig.user_passwords(directory, stored)
    provisioner = secrets.token_urlsafe(32)
    passwords[natsauth.PROVISIONER] = provisioner
    server = NatsServer(store_dir=directory, port=port)
    text = natsconfig.server_config(
        users, passwords, str(directory / "jetstream"), mqtt_port=mqtt_port, mqtt_host=server.host
    )
    server.config_file = natsconfig.write_config(directory / "nats-server.conf", text)
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


def _service_env(
    data_dir: Path, user: str, secure: bool, pubkey: Path, signing_key: Path
) -> dict[str, str]:
    """A child's NATS user and password file, and the config keys: paths, not secrets."""
    env = {"PLANTBUS_CONFIG_PUBKEY": str(pubkey)}
    if user in ("governance", "all"):
        env["PLANTBUS_CONFIG_SIGNING_KEY"] = str(signing_key)
    if secure:
        directory = natsconfig.credentials_dir(data_dir)
        env["PLANTBUS_NATS_USER"] = user
        env["PLANTBUS_NATS_PASSWORD_FILE"] = str(natsconfig.password_file(directory, user))
    return env


def _renew_pki(data_dir: Path, processes: list[str]) -> pki_mod.Pki:
    """Create or renew the hub's CA, a certificate per service process, the operator's
    certificate and the config-signing key (see plantbus.kit.pki); say what changed."""
    pki, done = pki_mod.ensure(data_dir / "pki", processes)
    for line in done:
        click.echo(f"pki: {line}", err=True)
    return pki


def _grpc_security(
    data_dir: Path, processes: list[str], insecure: bool, nats_url: str | None
) -> dict[str, dict[str, str]]:
    """Per service process, the environment that secures its gRPC: the paths of its
    certificate, key and the CA (files; no secret is ever in an environment or command
    line); or, with --insecure, plaintext, refused unless every listener is on loopback."""
    pki = _renew_pki(data_dir, processes)
    if not insecure:
        return {
            name: {
                "PLANTBUS_GRPC_TLS_CERT": str(pki.service(name).cert),
                "PLANTBUS_GRPC_TLS_KEY": str(pki.service(name).key),
                "PLANTBUS_GRPC_TLS_CA": str(pki.ca_cert),
            }
            for name in processes
        }
    hosts = {"gRPC": os.environ.get("PLANTBUS_GRPC_HOST", "127.0.0.1")}
    if nats_url:
        hosts["NATS"] = urlparse(nats_url).hostname or ""
    if off := [f"{what} on {host!r}" for what, host in hosts.items() if not is_loopback(host)]:
        raise ConfigError(
            f"--insecure is for development on this machine only, but {', '.join(off)} "
            "would be reachable from elsewhere: drop --insecure, or listen on 127.0.0.1"
        )
    click.echo(
        "WARNING: --insecure: gRPC is plaintext and every local caller is the operator "
        "(no certificates, no tokens); development only, never on a plant network",
        err=True,
    )
    return {name: {"PLANTBUS_INSECURE": "1"} for name in processes}


def _nats_child(nats: NatsServer) -> Child:
    """The embedded NATS as a supervised child; when it dies it is started again on the
    same port and JetStream store, so services reconnect to the URL they know and find
    their streams, consumers and KV buckets."""

    def launch() -> subprocess.Popen[bytes]:
        nats.restart()
        assert nats.process is not None
        return nats.process

    return Child("nats", [], nats.store_dir / "nats-server.log", launch=launch)


def _require_sim() -> None:
    """Refuse to start, saying what to install, when the simulator's libraries are missing
    (a core install without the ``sim`` extra or the modbus and opcua plugins)."""
    missing = sim.missing_libraries()
    if missing:
        raise ConfigError(
            f"the simulated plant needs {' and '.join(missing)}, not installed here: "
            f"{sim.INSTALL} brings them; or start the hub without it: "
            "plantbus up --no-sim --config YOUR_PLANT_DIR"
        )


def _trust_sim(data_dir: Path) -> None:
    """Make the simulator's OPC UA certificate and trust it: this hub made it."""
    from plantbus.sdk.certificates import TrustList
    from plantbus.sim.certificate import sim_certificate

    cert, _ = sim_certificate(data_dir)
    TrustList.of(data_dir, "opcua").add(cert.read_bytes())


def _sim_ports(random_ports: bool) -> dict[str, int]:
    if random_ports:
        return {name: free_port() for name in DEFAULT_SIM_PORTS}
    return dict(DEFAULT_SIM_PORTS)


def _service_options(
    config_path: Path | None, web_port: int, mqtt_url: str, api_port: int
) -> list[str]:
    opts = [
        f"dashboard.http_port={web_port}",
        f"gateway.https_port={api_port}",
        "erp.demo=true",
    ]
    if mqtt_url:
        opts.append(f"uns.mqtt_url={json.dumps(mqtt_url)}")
    if config_path is not None:
        opts.append(f"governance.bootstrap_config={json.dumps(str(config_path))}")
    return [arg for opt in opts for arg in ("--option", opt)]


def _runtime(
    nats_url: str,
    beats: dict[str, service_pb2.ServiceHeartbeat],
    data_dir: Path,
    sim_ports: dict[str, int],
    insecure: bool,
) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "nats_url": nats_url,
        "data_dir": str(data_dir),
        "insecure": insecure,
        "services": {
            name: {"grpc": hb.grpc_address, "grpc_token": hb.grpc_token_address}
            for name, hb in sorted(beats.items())
        },
        "dashboard": beats["dashboard"].health_detail if "dashboard" in beats else "",
        "http_api": beats["gateway"].health_detail if "gateway" in beats else "",
        "sim": {name: f"127.0.0.1:{port}" for name, port in sim_ports.items()},
    }


def _first_login(dashboard: str, token: str) -> str:
    """The dashboard line: a one-time login link, or why there is none."""
    if not dashboard:
        return ""
    try:
        link = asyncio.run(login_link(dashboard, token))
    except click.ClickException as err:
        return f"{dashboard} (no login link: {err.format_message()})"
    minutes = float(str(link["expires_in_s"])) / 60
    note = f"valid once, for {minutes:g} min; plantbus dashboard login prints a new one"
    return f"{link['url']}\n    (login link: {note})"


def _print_ready(runtime: dict[str, Any], logs: Path, dashboard: str) -> None:
    click.echo(f"Plantbus is up. NATS {runtime['nats_url']}")
    if runtime["mqtt_url"]:
        click.echo(f"  MQTT {runtime['mqtt_url']} (docs/mqtt.md)")
    for name, info in runtime["services"].items():
        tokens = f", bearer tokens {info['grpc_token']}" if info["grpc_token"] else ""
        click.echo(f"  {name:<11} gRPC {info['grpc']}{tokens}")
    if runtime["insecure"]:
        click.echo("  gRPC is PLAINTEXT, unauthenticated (--insecure)")
    else:
        click.echo(f"  gRPC: mTLS, CA and operator certificate in {runtime['data_dir']}/pki")
    sim = runtime["sim"]
    click.echo(f"  simulated plant: modbus://{sim['modbus']}, opc.tcp://{sim['opcua']}")
    click.echo(f"  logs: {logs}")
    if dashboard:
        click.echo(f"  dashboard: {dashboard}")
    if runtime["http_api"]:
        click.echo(f"  HTTP API: {runtime['http_api']}v1/ (docs/http-api.md)")
    click.echo("Press Ctrl-C to stop.")
