"""Options several commands take, declared once so they read and behave alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from plantbus.kit import natsconfig
from plantbus.sim.wear import DEMO_WEAR_SPEED, MAX_WEAR_SPEED

__all__ = [
    "int_option",
    "mqtt_port_option",
    "out_option",
    "plant_config_option",
    "wear_speed_option",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def mqtt_port_option(help: str) -> Decorator:
    """``--mqtt-port``: the nats-server's MQTT listener (default 1883, docs/mqtt.md)."""
    return click.option(
        "--mqtt-port", type=int, default=natsconfig.MQTT_PORT, show_default=True, help=help
    )


def out_option(help: str, *, directory: bool = False) -> Decorator:
    """``--out`` (required): the file, or with ``directory`` the directory, to write."""
    kind = (
        click.Path(file_okay=False, path_type=Path)
        if directory
        else click.Path(dir_okay=False, path_type=Path)
    )
    return click.option("--out", type=kind, required=True, help=help)


def plant_config_option(help: str, envvar: str | None = None) -> Decorator:
    """``--config`` (the ``config_path`` argument): an existing plant config file or dir."""
    kind = click.Path(exists=True, path_type=Path)
    return click.option("--config", "config_path", envvar=envvar, type=kind, help=help)


def int_option(flag: str, envvar: str, help: str) -> Decorator:
    """An optional whole-number option also read from ``envvar`` (ports of ``run``)."""
    return click.option(flag, envvar=envvar, type=int, help=help)


def wear_speed_option() -> Decorator:
    """``--wear-speed`` of ``plantbus up``: how much faster than the line m2's bearing
    wears, from real time (1) to :data:`~plantbus.sim.wear.MAX_WEAR_SPEED`."""
    return click.option(
        "--wear-speed",
        type=click.FloatRange(1.0, MAX_WEAR_SPEED),
        default=DEMO_WEAR_SPEED,
        show_default=True,
        help="How much faster than the line m2's bearing wears (120: a simulated day in "
        f"12 minutes, the failure after 48; {MAX_WEAR_SPEED:g}: a day in 36 s, the failure "
        "after 144 s); the plant config's maintenance windows and condition plans, "
        "written for 120, are scaled to it (docs/maintenance.md).",
    )
