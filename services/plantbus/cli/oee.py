"""``plantbus oee compute``: the KPI engine offline over a JSON Lines file of events."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plantbus.oee.engine import EngineSettings
from plantbus.oee.jsonl import read_events
from plantbus.oee.report import compute, render_table

__all__ = ["commands"]


@click.group()
def oee() -> None:
    """OEE per ISO 22400."""


@oee.command("compute")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--minor-stop",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds below which an unplanned stop is a minor stop.",
)
@click.option(
    "--tolerance",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds within which out-of-order events are put back in order.",
)
def compute_command(events: Path, as_json: bool, minor_stop: float, tolerance: float) -> None:
    """Compute OEE from EVENTS, a JSON Lines file with one machine event per line."""
    with events.open(encoding="utf-8") as lines:
        report = compute(read_events(lines), EngineSettings(minor_stop_s=minor_stop), tolerance)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(render_table(report))
    for error in report.errors:
        click.echo(f"{events}: {error}", err=True)


commands = [oee]
