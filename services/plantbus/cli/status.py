"""``plantbus status``: every running service instance from its heartbeat, config drift,
and the JetStream cluster the hub runs on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
import nats.errors
from nats.js.errors import KeyNotFoundError

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import json_option
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.config_watch import CURRENT_KEY, config_kv
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.v1 import service_pb2

__all__ = ["commands"]

_HEALTH = {
    service_pb2.HEALTH_SERVING: "serving",
    service_pb2.HEALTH_NOT_SERVING: "not_serving",
    service_pb2.HEALTH_STOPPING: "stopping",
}


async def _status(hub: Hub) -> dict[str, Any]:
    bus = await hub.connect()
    try:
        try:
            beats = await read_heartbeats(bus)
        except nats.errors.Error as err:
            raise click.ClickException(
                f"NATS at {hub.nats_url} did not list the services' heartbeats ({err!r}); "
                "it may be overloaded or restarting: try again"
            ) from err
        kv = await config_kv(bus)
        try:
            entry = await kv.get(CURRENT_KEY)
            current = int(json.loads(entry.value or b"{}").get("version", 0))
        except KeyNotFoundError:
            current = 0
        cluster = await _cluster(bus)
    finally:
        await bus.close()
    services = [
        {
            "service": hb.service,
            "instance": hb.instance,
            "version": hb.version,
            "health": _HEALTH.get(hb.health, "unknown"),
            "health_detail": hb.health_detail,
            "grpc": hb.grpc_address,
            "config_version": hb.config_version,
            "config_drift": bool(hb.follows_config and current and hb.config_version != current),
            "plugins": [p.name for p in hb.plugins if p.loaded],
            "pid": hb.pid,
        }
        for hb in beats
    ]
    mqtt = str(hub.runtime.get("mqtt_url", ""))  # the listener plantbus up started
    api = next((s["health_detail"] for s in services if s["service"] == "gateway"), "")
    return {
        "config_version": current,
        "mqtt_url": mqtt,
        "http_api": api,
        "nats_cluster": cluster,
        "services": services,
    }


async def _cluster(bus: Bus) -> dict[str, Any]:
    """The JetStream cluster as the telemetry stream sees it: its name, the stream's
    replicas and their nodes, leader first; {} on a single server (or no stream yet)."""
    try:
        info = await bus.js.stream_info(streams.CYCLES.name)
    except nats.errors.Error:
        return {}
    cluster = info.cluster
    if cluster is None or not cluster.name:
        return {}
    nodes = [{"name": cluster.leader or "", "leader": True, "current": bool(cluster.leader)}]
    nodes += [
        {
            "name": peer.name or "",
            "leader": False,
            "current": bool(peer.current and not peer.offline),
        }
        for peer in cluster.replicas or []
    ]
    replicas = info.config.num_replicas or 1
    return {"name": cluster.name, "stream": info.config.name, "replicas": replicas, "nodes": nodes}


def _cluster_line(cluster: dict[str, Any]) -> str:
    """``NATS cluster plantbus: plantbus-1 (leader), plantbus-2, ...; PLANTBUS_CYCLES R3``."""
    nodes = [
        n["name"] + (" (leader)" if n["leader"] else "" if n["current"] else " (behind)")
        for n in cluster["nodes"]
    ]
    where = f"{cluster['stream']} R{cluster['replicas']}"
    return f"NATS cluster {cluster['name']}: {', '.join(nodes)}; {where}"


@click.command()
@json_option
@hub_options
def status(as_json: bool, hub: Hub) -> None:
    """Every running service instance, from heartbeats, and any config drift."""
    report = asyncio.run(_status(hub))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    rows = report["services"]
    if not rows:
        click.echo(f"no service instance is beating on {hub.nats_url}")
        return
    mqtt = f", MQTT {report['mqtt_url']}" if report["mqtt_url"] else ""
    click.echo(f"config version {report['config_version']}  (NATS {hub.nats_url}{mqtt})")
    if report["nats_cluster"]:
        click.echo(_cluster_line(report["nats_cluster"]))
    header = ("SERVICE", "INSTANCE", "HEALTH", "GRPC", "CONFIG", "PLUGINS")
    table = [header] + [
        (
            r["service"],
            r["instance"],
            r["health"],
            r["grpc"],
            f"{r['config_version']}{' DRIFT' if r['config_drift'] else ''}",
            ",".join(r["plugins"]) or "-",
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if report["http_api"]:
        click.echo(
            f"HTTP API {report['http_api']}v1/ (OpenAPI: {report['http_api']}v1/openapi.json)"
        )


commands = [status]
