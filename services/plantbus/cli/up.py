"""``plantbus up``: the whole hub on one machine (embedded NATS, services, simulated plant).

What it starts is in :mod:`plantbus.cli.up_nats` (NATS) and :mod:`plantbus.cli.up_children`
(the services and the simulator); how it waits and what it prints, in
:mod:`plantbus.cli.up_ready`. This module holds the command and the supervision loop.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path
from types import FrameType

import click
import psutil

from plantbus import sim
from plantbus.cli.dashboard import remove_token, write_token
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.options import mqtt_port_option, plant_config_option, wear_speed_option
from plantbus.cli.supervisor import Supervisor
from plantbus.cli.up_children import (
    Services,
    grpc_security,
    renew_pki,
    require_sim,
    service_options,
    sim_ports,
    start_sim,
    wear_config,
)
from plantbus.cli.up_nats import start_nats
from plantbus.cli.up_ready import first_login, print_ready, runtime_of, wait_ready
from plantbus.kit.registry import SERVICES
from plantbus.sim.wear import DEMO_WEAR_SPEED

__all__ = ["up"]

PKI_CHECK_S = 24 * 3600.0
"""How often a running hub renews certificates that have less than 30 days left."""


def _refuse(hub: Hub, cluster: int, wear_without_sim: bool) -> None:
    """A second hub on the same data dir, a cluster of an outside NATS, a wear speed
    without the simulator."""
    if wear_without_sim:
        raise click.UsageError("--wear-speed is the simulated plant's: leave out --no-sim")
    if cluster > 1 and hub.nats_url_override:
        raise click.UsageError("--cluster starts the embedded NATS: leave out --nats-url")
    pid = hub.runtime.get("pid")
    if pid and psutil.pid_exists(int(pid)):
        raise click.ClickException(
            f"a hub is already running from {hub.data_dir} (pid {pid}); stop it with Ctrl-C "
            "or kill, or start another with --data-dir"
        )


def _demo_plant() -> Path | None:
    """The demo plant's config, where this install has it."""
    demo = sim.demo_plant()
    return demo if demo.is_dir() else None


class _Stop:
    """Turns SIGINT/SIGTERM into a flag the supervision loop checks."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._handler)
        signal.signal(signal.SIGTERM, self._handler)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


@click.command()
@click.option(
    "--nats-port",
    type=int,
    default=4222,
    show_default=True,
    help="Port of the embedded nats-server.",
)
@mqtt_port_option("Port of the embedded nats-server's MQTT listener (docs/mqtt.md).")
@click.option(
    "--single-process", is_flag=True, help="Host every service in one process (small edge boxes)."
)
@click.option("--no-sim", is_flag=True, help="Do not start the simulated plant.")
@wear_speed_option()
@click.option(
    "--random-ports",
    is_flag=True,
    help="Pick free ports for everything (several hubs on one machine, tests).",
)
@plant_config_option("Plant config for the first start (default: the demo plant).")
@click.option("--dashboard-port", type=int, default=8080, show_default=True)
@click.option("--api-port", type=int, default=8443, show_default=True, help="The HTTPS/JSON API.")
@click.option("--ready-timeout", type=float, default=60.0, show_default=True)
@click.option(
    "--insecure",
    is_flag=True,
    help="Development only, on loopback: plaintext gRPC where every caller is the local "
    "operator (no certificates, no tokens).",
)
@click.option(
    "--cluster",
    type=click.IntRange(1, 5),
    default=1,
    show_default=True,
    help="Embedded NATS as this many clustered nodes, every stream and bucket with a "
    "replica on each (try the replicated layout on one machine; docs/deploy.md).",
)
@hub_options
def up(
    nats_port: int,
    mqtt_port: int,
    single_process: bool,
    no_sim: bool,
    wear_speed: float,
    random_ports: bool,
    config_path: Path | None,
    dashboard_port: int,
    api_port: int,
    ready_timeout: float,
    insecure: bool,
    cluster: int,
    hub: Hub,
) -> None:
    """Start the whole hub: embedded NATS with JetStream, every service, a simulated plant."""
    _refuse(hub, cluster, no_sim and wear_speed != DEMO_WEAR_SPEED)
    if not no_sim:
        require_sim()
    data_dir = hub.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    processes = ["all"] if single_process else list(SERVICES)
    grpc_env = grpc_security(data_dir, processes, insecure, hub.nats_url_override)
    logs = data_dir / "logs"
    config_path = wear_config(config_path or _demo_plant(), data_dir, wear_speed)
    stop = _Stop()
    infra = Supervisor()  # the embedded NATS: restarted like the services, stopped after them
    supervisor = Supervisor()
    try:
        nats_url, mqtt_url = hub.nats_url_override or "", ""  # outside: MQTT is the user's
        if not nats_url:
            ports = (nats_port, mqtt_port)
            nats_url, mqtt_url = start_nats(
                infra, data_dir, ports, random_ports, single_process, cluster
            )
        env_ports = sim_ports(random_ports)
        token = _export(data_dir, env_ports, cluster)
        web_ports = (dashboard_port, api_port)
        options = service_options(config_path, mqtt_url, web_ports, random_ports)
        if not no_sim:
            start_sim(supervisor, data_dir, env_ports, config_path, wear_speed)
        secure = not hub.nats_url_override  # an outside NATS: its credentials are the user's
        services = Services.of(data_dir, nats_url, secure, grpc_env, options, random_ports)
        for child in services.children(single_process):
            supervisor.add(child)
        # an outside NATS may have no MQTT listener: uns then waits for one (its health
        # says so) without holding back the rest of the hub
        expected = [n for n in SERVICES if mqtt_url or n != "uns"]
        beats = wait_ready(hub, nats_url, expected, ready_timeout, supervisor)
        runtime = runtime_of(nats_url, mqtt_url, beats, data_dir, env_ports, insecure)
        hub.write_runtime(runtime)
        print_ready(runtime, logs, first_login(runtime["dashboard"], token))
        _supervise(stop, [infra, supervisor], data_dir, processes)
        click.echo("stopping the hub ...", err=True)
    finally:
        supervisor.stop()
        infra.stop()
        hub.clear_runtime()
        remove_token(data_dir)
    click.echo("hub stopped", err=True)


def _export(data_dir: Path, ports: dict[str, int], replicas: int) -> str:
    """Put what every child reads in this process's environment (inherited, never on a
    command line) and write the dashboard token for ``plantbus dashboard login``; returns
    the token."""
    os.environ.update({f"PLANTBUS_SIM_{k.upper()}_PORT": str(v) for k, v in ports.items()})
    os.environ["PLANTBUS_DATA_DIR"] = str(data_dir.resolve())  # config paths use it
    if replicas > 1:  # what the services create or open: as many replicas as nodes
        os.environ["PLANTBUS_JS_REPLICAS"] = str(replicas)
    token = secrets.token_urlsafe(32)
    os.environ["PLANTBUS_DASHBOARD_TOKEN"] = token  # in the environment, not in `ps`
    write_token(data_dir, token)  # for plantbus dashboard login, while the hub runs
    return token


def _supervise(
    stop: _Stop, supervisors: list[Supervisor], data_dir: Path, processes: list[str]
) -> None:
    """Restart what dies and renew certificates daily, until Ctrl-C or SIGTERM."""
    next_pki_check = time.monotonic() + PKI_CHECK_S
    while not stop.requested:
        for event in [e for s in supervisors for e in s.check()]:
            click.echo(event, err=True)
        if time.monotonic() >= next_pki_check:
            renew_pki(data_dir, processes)  # services pick up renewed files themselves
            next_pki_check += PKI_CHECK_S
        time.sleep(0.25)
