"""``plantbus oee``: the KPI engine offline over a JSON Lines file of events, the live
figures, and corrections by people (counts, stop reasons)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plantbus.cli.alarms import user_option
from plantbus.cli.history import when
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


_CORRECTIONS = {
    "scrap": oee_pb2.COUNT_CORRECTION_SCRAP,
    "rework": oee_pb2.COUNT_CORRECTION_REWORK,
    "total": oee_pb2.COUNT_CORRECTION_TOTAL,
}


@oee.command(context_settings={"ignore_unknown_options": True})
@click.argument("machine")
@click.argument("correction", type=click.Choice(sorted(_CORRECTIONS)))
@click.argument("quantity", type=int)
@click.option("--at", "at", default="now", show_default=True, help="When: now, 30m, 2h, ISO.")
@click.option("-m", "--comment", required=True, help="Why (required, audited).")
@user_option
@hub_options
def correct(
    machine: str,
    correction: str,
    quantity: int,
    at: str,
    comment: str,
    user: str | None,
    hub: Hub,
) -> None:
    """Enter QUANTITY parts of MACHINE as scrap or rework found later, or correct its part
    count (total; negative takes parts back), at the time they belong to; the figures from
    then on are recomputed."""
    request = oee_pb2.CorrectCountsRequest(
        machine=machine,
        correction=_CORRECTIONS[correction],
        quantity=quantity,
        comment=comment,
    )
    request.time.FromDatetime(when(at, "--at"))
    snap = call(hub, "oee", "CorrectCounts", request, user=user).snapshot
    click.echo(
        f"{snap.scope}: parts {snap.total_count} (good {snap.good_count}, scrap "
        f"{snap.kpis.scrap_count}, rework {snap.kpis.rework_count}), Q {_pct(snap, 'quality')}"
        f", OEE {_pct(snap, 'oee')}, revision {snap.revision}"
    )


@oee.command()
@click.option("--machine", default="", help="Only this site/area/line/machine.")
@hub_options
def downtimes(machine: str, hub: Hub) -> None:
    """Recent downtime episodes with their ids and reasons (to classify)."""
    reply = call(hub, "oee", "ListDowntimes", oee_pb2.ListDowntimesRequest(machine=machine))
    for d in reply.downtimes:
        start = d.start.ToDatetime().isoformat(timespec="seconds")
        by = f" (by {d.classified_by})" if d.classified_by else ""
        click.echo(f"{d.id}  {start}Z  {d.machine}  {d.reason or 'unspecified'}{by}")


@oee.command()
@click.argument("downtime_id")
@click.argument("reason")
@user_option
@hub_options
def classify(downtime_id: str, reason: str, user: str | None, hub: Hub) -> None:
    """Give the stop DOWNTIME_ID its REASON (again, to reclassify it): the figures of every
    shift and order it touched are recomputed."""
    request = oee_pb2.ClassifyDowntimeRequest(id=downtime_id, reason=reason)
    d = call(hub, "oee", "ClassifyDowntime", request, user=user).downtime
    click.echo(f"{d.id}  {d.machine}  {d.reason} (by {d.classified_by})")


commands = [oee]
