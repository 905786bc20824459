"""``plantbus oee compute``: the KPI engine offline over a JSON Lines file of events."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.oee.engine import EngineSettings
from plantbus.oee.jsonl import read_events
from plantbus.oee.report import compute, render_table
from plantbus.v1 import oee_pb2

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


def _pct(snap: oee_pb2.OeeSnapshot, name: str) -> str:
    return f"{getattr(snap, name) * 100:.1f}%" if snap.HasField(name) else "-"


@oee.command()
@click.argument("scope")
@click.option("--shift", default="", help="A past shift key such as early@2026-11-23.")
@json_option
@hub_options
def show(scope: str, shift: str, as_json: bool, hub: Hub) -> None:
    """Live OEE of SCOPE (site/area/line or site/area/line/machine) from the OEE service."""
    reply = call(hub, "oee", "GetOee", oee_pb2.GetOeeRequest(scope=scope, shift=shift))
    if as_json:
        echo_json(reply.snapshot)
        return
    snap = reply.snapshot
    click.echo(f"{snap.scope}  shift {snap.shift or '-'}  {snap.state} {snap.reason}".rstrip())
    click.echo(
        "  ".join(
            f"{label} {_pct(snap, name)}"
            for label, name in (
                ("A", "availability"),
                ("P", "performance"),
                ("Q", "quality"),
                ("OEE", "oee"),
            )
        )
    )
    click.echo(
        f"parts {snap.total_count} (good {snap.good_count}), down "
        f"{snap.downtime_s / 60:.1f} min: "
        + ", ".join(
            f"{r} {s / 60:.1f} min"
            for r, s in sorted(snap.downtime_by_reason.items(), key=lambda kv: -kv[1])
        )
    )


commands = [oee]
