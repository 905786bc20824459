"""How ``plantbus up`` waits until the hub serves, and what it says then: the runtime file's
content (addresses from the services' heartbeats) and the lines it prints."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from plantbus.cli.dashboard import login_link
from plantbus.cli.hub import Hub
from plantbus.cli.supervisor import Supervisor
from plantbus.kit.bus import NatsSettings
from plantbus.kit.discovery import wait_serving
from plantbus.kit.natsconnect import connect
from plantbus.sdk.errors import ConfigError, DeviceUnavailable
from plantbus.v1 import service_pb2

__all__ = ["first_login", "print_ready", "runtime_of", "wait_ready"]


def wait_ready(
    hub: Hub, nats_url: str, expected: list[str], timeout: float, supervisor: Supervisor
) -> dict[str, service_pb2.ServiceHeartbeat]:
    """Wait until every expected service beats SERVING; return service -> heartbeat. A
    timeout names the children that died, with the end of their logs."""
    settings = hub.nats_settings("plantbus-up", url=nats_url)
    logs = hub.data_dir / "logs"
    try:
        return asyncio.run(_wait_serving(settings, expected, timeout))
    except ConfigError as err:
        details = "\n".join(
            f"  {c.name}: {c.log_tail(3)}" for c in supervisor.children if not c.alive
        )
        raise ConfigError(f"{err}; logs in {logs}\n{details}".rstrip()) from err


async def _wait_serving(
    settings: NatsSettings, expected: list[str], timeout: float
) -> dict[str, service_pb2.ServiceHeartbeat]:
    bus = await connect(settings)
    try:
        return await wait_serving(bus, expected, timeout)
    except DeviceUnavailable as err:
        raise ConfigError(str(err)) from None
    finally:
        await bus.close()


def runtime_of(
    nats_url: str,
    mqtt_url: str,
    beats: dict[str, service_pb2.ServiceHeartbeat],
    data_dir: Path,
    sim_ports: dict[str, int],
    insecure: bool,
) -> dict[str, Any]:
    """What the runtime file says about the running hub."""
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
        "mqtt_url": mqtt_url,
    }


def first_login(dashboard: str, token: str) -> str:
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


def print_ready(runtime: dict[str, Any], logs: Path, dashboard: str) -> None:
    """Where everything is, once the hub serves."""
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
