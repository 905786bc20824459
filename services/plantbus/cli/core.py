"""Core commands: run, plugins (``up`` lives in :mod:`plantbus.cli.up`, ``status`` in
:mod:`plantbus.cli.status`, ``tail`` in :mod:`plantbus.cli.tail`)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.options import int_option, plant_config_option
from plantbus.cli.output import json_option
from plantbus.cli.up import up
from plantbus.kit import runner as runner_mod
from plantbus.kit.logs import configure_logging
from plantbus.kit.registry import SERVICES, load_service_class
from plantbus.kit.settings import RunnerSettings, config_keys_from_env, from_env
from plantbus.plugins import discover_all, quality

__all__ = ["commands"]


def _parse_options(raw: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``svc.key=value`` pairs into per-service option dicts; values are JSON when they parse."""
    out: dict[str, dict[str, Any]] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        service, dot, name = key.partition(".")
        if not (sep and dot and service and name):
            raise click.BadParameter(f"{item!r}: expected SERVICE.KEY=VALUE", param_hint="--option")
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        out.setdefault(service, {})[name] = parsed
    return out


_YOUNG_DEFAULT = 20_000


def _tune_collector() -> None:
    """Collect the youngest generation every 20,000 net allocations instead of Python's
    700 (``PLANTBUS_GC_THRESHOLD`` sets another; 0 keeps Python's). A service makes a few
    short-lived objects per sample, which reference counting frees anyway; at plant scale
    the default ran a collection hundreds of times a second, 7% of the historian's CPU
    (docs/benchmarks.md)."""
    raw = os.environ.get("PLANTBUS_GC_THRESHOLD", "").strip()
    try:
        young = int(raw) if raw else _YOUNG_DEFAULT
    except ValueError:
        raise click.UsageError(
            f"PLANTBUS_GC_THRESHOLD={raw!r}: expected a whole number of allocations"
        ) from None
    if young > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, old)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (1-10% less CPU in the device service,
    docs/benchmarks.md), unless PLANTBUS_UVLOOP=0; None: asyncio's own."""
    if os.environ.get("PLANTBUS_UVLOOP", "1").strip().lower() in {"0", "false", "no", "off"}:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


@click.command()
@click.argument("service")
@click.option("--grpc-host", envvar="PLANTBUS_GRPC_HOST", default="127.0.0.1", show_default=True)
@int_option(
    "--grpc-port",
    "PLANTBUS_GRPC_PORT",
    "gRPC port (default: the service's own, see docs/architecture.md; 0 = any).",
)
@int_option(
    "--grpc-token-port",
    "PLANTBUS_GRPC_TOKEN_PORT",
    "Port for bearer-token callers (TLS without client certificates; "
    "default: the gRPC port + 100, any when that is 0).",
)
@click.option(
    "--insecure",
    envvar="PLANTBUS_INSECURE",
    is_flag=True,
    help="Plaintext gRPC, every caller the local operator: development on loopback only.",
)
@click.option("--instance", envvar="PLANTBUS_INSTANCE", help="Instance id (default: host name).")
@int_option("--metrics-port", "PLANTBUS_METRICS_PORT", "Serve Prometheus /metrics on this port.")
@plant_config_option(
    "Plant config governance applies as version 1 when none is stored yet.", "PLANTBUS_CONFIG"
)
@click.option(
    "--option",
    "raw_options",
    multiple=True,
    metavar="SERVICE.KEY=VALUE",
    help="A service option, for example dashboard.http_port=8080 (repeatable).",
)
@click.option("--heartbeat-interval", type=float, default=2.0, show_default=True)
@hub_options
def run(
    service: str,
    grpc_host: str,
    grpc_port: int | None,
    grpc_token_port: int | None,
    insecure: bool,
    instance: str | None,
    metrics_port: int | None,
    config_path: Path | None,
    raw_options: tuple[str, ...],
    heartbeat_interval: float,
    hub: Hub,
) -> None:
    """Run one SERVICE (what a Kubernetes pod runs), or 'all' in one process.

    SERVICE is a service of the hub (an unknown name gets the list) or all.
    """
    names = list(SERVICES) if service == "all" else [service]
    classes = [load_service_class(name) for name in names]
    port = grpc_port if grpc_port is not None else SERVICES[names[0]].grpc_port
    token_port = grpc_token_port if grpc_token_port is not None else (port + 100 if port else 0)
    options = _parse_options(raw_options)
    if config_path is not None:
        options.setdefault("governance", {})["bootstrap_config"] = str(config_path)
    nats, grpc_settings = from_env(hub.nats_url_override or hub.runtime.get("nats_url"))
    pubkey, signing_key = config_keys_from_env()
    settings = RunnerSettings(
        services=names,
        nats=nats,
        grpc=grpc_settings.model_copy(
            update={
                "host": grpc_host,
                "port": port,
                "token_port": token_port,
                "insecure": insecure,
            }
        ),
        data_dir=hub.data_dir,
        heartbeat_interval_s=heartbeat_interval,
        metrics_port=metrics_port,
        options=options,
        config_pubkey=pubkey,
        config_signing_key=signing_key,
        **({"instance": instance} if instance else {}),
    )
    level_name = os.environ.get("PLANTBUS_LOG_LEVEL", "INFO").upper()
    configure_logging(
        service, settings.instance, logging.getLevelNamesMapping().get(level_name, logging.INFO)
    )
    _tune_collector()
    with asyncio.Runner(loop_factory=_loop_factory()) as loop:
        loop.run(runner_mod.run(settings, classes))


@click.command()
@json_option
def plugins(as_json: bool) -> None:
    """Every installed plugin and whether it loads, with the reason when not."""
    records = [r for registry in discover_all() for r in registry.records.values()]
    rows: list[dict[str, Any]] = []
    for r in records:
        declared = quality(r.cls) if r.cls else None
        rows.append(
            {
                "group": r.group,
                "name": r.name,
                "version": r.version,
                "distribution": r.distribution,
                "api_version": r.api_version,
                "loaded": r.loaded,
                "error": r.error,
                "tier": declared.tier if declared else "",
                "todo": list(declared.todo) if declared else [],
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
    for row in rows:
        state = "ok" if row["loaded"] else f"NOT LOADED: {row['error']}"
        tier = row["tier"] or "no quality file"
        todo = f" (todo: {', '.join(row['todo'])})" if row["todo"] else ""
        click.echo(
            f"{row['group']:<24} {row['name']:<12} {row['version']:<10} {tier:<8} {state}{todo}"
        )


commands = [run, plugins, up]
