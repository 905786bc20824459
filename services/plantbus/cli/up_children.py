"""What ``plantbus up`` starts besides NATS: the simulated plant and the services (one
process each, or ``all`` in one), as supervised children with their environment (NATS
user, config keys, gRPC certificates: paths, never secrets) and options."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import click

from plantbus import sim
from plantbus.cli.supervisor import Child, Supervisor
from plantbus.config.loader import read_sources
from plantbus.kit import natsconfig
from plantbus.kit import pki as pki_mod
from plantbus.kit.grpc_settings import is_loopback
from plantbus.kit.net import free_port
from plantbus.kit.registry import SERVICES
from plantbus.kit.signing import ensure_signing_key
from plantbus.sdk.errors import ConfigError
from plantbus.sim.wear import DEMO_WEAR_SPEED, scaled_sources

__all__ = [
    "DEFAULT_SIM_PORTS",
    "Services",
    "grpc_security",
    "renew_pki",
    "require_sim",
    "service_options",
    "sim_child",
    "sim_ports",
    "start_sim",
    "wear_config",
]

DEFAULT_SIM_PORTS = {"modbus": 5020, "opcua": 4840}
SIM_WAIT_S = 60.0
"""How long ``plantbus up`` waits for the simulated plant to listen before the services."""


def _python_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "plantbus.cli", *args]


@dataclass(frozen=True)
class Services:
    """How the service children are started."""

    data_dir: Path
    nats_url: str
    secure: bool
    """The embedded NATS: each child gets its own NATS user (an outside one: the user's)."""
    pubkey: Path
    signing_key: Path
    grpc_env: dict[str, dict[str, str]]
    """Per process, what secures its gRPC (:func:`grpc_security`)."""
    options: list[str]
    random_ports: bool

    @classmethod
    def of(
        cls,
        data_dir: Path,
        nats_url: str,
        secure: bool,
        grpc_env: dict[str, dict[str, str]],
        options: list[str],
        random_ports: bool,
    ) -> Services:
        """The services of the hub in ``data_dir``, with its config-signing key pair."""
        signing_key, pubkey = ensure_signing_key(data_dir / "pki")
        return cls(data_dir, nats_url, secure, pubkey, signing_key, grpc_env, options, random_ports)

    def children(self, single_process: bool) -> list[Child]:
        """Every service as its own child, or ``all`` in one."""
        if single_process:
            return [self._child("all", "0" if self.random_ports else "50051")]
        return [
            self._child(name, str(0 if self.random_ports else SERVICES[name].grpc_port))
            for name in SERVICES
        ]

    def _child(self, name: str, grpc_port: str) -> Child:
        common = ["--nats-url", self.nats_url, "--data-dir", str(self.data_dir)]
        args = ["run", name, *common, "--instance", "local", "--grpc-port", grpc_port]
        return Child(
            name,
            _python_cmd(*args, *self.options),
            self.data_dir / "logs" / f"{name}.log",
            env=self._env(name) | self.grpc_env[name],
        )

    def _env(self, user: str) -> dict[str, str]:
        """A child's NATS user and password file, and the config keys: paths, not secrets."""
        env = {"PLANTBUS_CONFIG_PUBKEY": str(self.pubkey)}
        if user in ("governance", "all"):
            env["PLANTBUS_CONFIG_SIGNING_KEY"] = str(self.signing_key)
        if self.secure:
            directory = natsconfig.credentials_dir(self.data_dir)
            env["PLANTBUS_NATS_USER"] = user
            env["PLANTBUS_NATS_PASSWORD_FILE"] = str(natsconfig.password_file(directory, user))
        return env


def sim_child(
    data_dir: Path, ports: dict[str, int], config_path: Path | None, wear_speed: float
) -> Child:
    """The simulated plant on ``ports``, its OPC UA certificate trusted by this hub."""
    _trust_sim(data_dir)
    args = ["sim", "--modbus-port", str(ports["modbus"]), "--opcua-port", str(ports["opcua"])]
    args += ["--wear-speed", f"{wear_speed:g}", "--data-dir", str(data_dir)]
    plant = ["--plant", str(config_path)] if config_path else []
    return Child("sim", _python_cmd(*args, *plant), data_dir / "logs" / "sim.log")


def start_sim(
    supervisor: Supervisor,
    data_dir: Path,
    ports: dict[str, int],
    config_path: Path | None,
    wear_speed: float,
) -> None:
    """Start the simulated plant (:func:`sim_child`) and wait until it accepts connections
    on every one of ``ports`` (up to :data:`SIM_WAIT_S`, or until it dies), so that the
    devices' first poll reads the plant rather than a refused connection; says so when it
    does not listen."""
    child = supervisor.add(sim_child(data_dir, ports, config_path, wear_speed))
    deadline = time.monotonic() + SIM_WAIT_S
    waiting = set(ports.values())
    while waiting and child.alive and time.monotonic() < deadline:
        for port in list(waiting):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                waiting.discard(port)
        if waiting:
            time.sleep(0.1)
    if waiting:
        click.echo(f"the simulated plant is not listening yet: see {child.log_file}", err=True)


def wear_config(config_path: Path | None, data_dir: Path, wear_speed: float) -> Path | None:
    """The plant config to start from at ``wear_speed``: ``config_path`` itself at the
    demo's speed, else its files under ``<data_dir>/plant-wear/`` with the maintenance
    section scaled (:func:`plantbus.sim.wear.scaled_sources`), written again at every
    start."""
    if config_path is None or wear_speed == DEMO_WEAR_SPEED:
        return config_path
    sources = scaled_sources(read_sources(config_path), wear_speed)
    out = data_dir / "plant-wear"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for source in sources:
        (out / Path(source.name).name).write_text(source.text, encoding="utf-8")
    return out


def renew_pki(data_dir: Path, processes: list[str]) -> pki_mod.Pki:
    """Create or renew the hub's CA, a certificate per service process, the operator's
    certificate and the config-signing key (see plantbus.kit.pki); say what changed."""
    pki, done = pki_mod.ensure(data_dir / "pki", processes)
    for line in done:
        click.echo(f"pki: {line}", err=True)
    return pki


def grpc_security(
    data_dir: Path, processes: list[str], insecure: bool, nats_url: str | None
) -> dict[str, dict[str, str]]:
    """Per service process, the environment that secures its gRPC: the paths of its
    certificate, key and the CA (files; no secret is ever in an environment or command
    line); or, with --insecure, plaintext, refused unless every listener is on loopback."""
    pki = renew_pki(data_dir, processes)
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


def require_sim() -> None:
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


def sim_ports(random_ports: bool) -> dict[str, int]:
    """The simulator's Modbus and OPC UA ports (free ones with ``random_ports``)."""
    if random_ports:
        return {name: free_port() for name in DEFAULT_SIM_PORTS}
    return dict(DEFAULT_SIM_PORTS)


def service_options(
    config_path: Path | None, mqtt_url: str, web_ports: tuple[int, int], random_ports: bool
) -> list[str]:
    """The ``--option`` arguments of every service child; ``web_ports`` are the dashboard's
    and the HTTP API's, free ones with ``random_ports`` (chosen here, once, so a restarted
    dashboard keeps the URL in runtime.json)."""
    web_port, api_port = (free_port(), free_port()) if random_ports else web_ports
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
