"""``plantbus maintenance``: usage counters, plans, condition indicators; record work done."""

from __future__ import annotations

import click

from plantbus.cli.alarms import user_option
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.rpc import call
from plantbus.v1 import maintenance_pb2

__all__ = ["commands", "status_lines"]


def _usage_line(u: maintenance_pb2.ComponentUsage) -> str:
    return (
        f"{u.machine}  {u.component}: {u.running_hours:.1f} h running, {u.cycles} cycles, "
        f"{u.starts} starts, {u.stops} stops since {u.since.ToDatetime().date().isoformat()}"
        + (f" (last: {u.last_note!r} by {u.last_by})" if u.last_note else "")
    )


def _window_line(w: maintenance_pb2.ConditionWindow) -> str:
    score = f"score {w.score:.1f}/{w.threshold:g}" if w.HasField("score") else "learning"
    return (
        f"{w.tag} ({w.state}, {w.count} samples): mean {w.mean:.4g} rms {w.rms:.4g} "
        f"std {w.std:.3g} peak {w.peak:.4g} slope {w.slope:+.3g}/h, {score}"
    )


def status_lines(reply: maintenance_pb2.GetMaintenanceStatusResponse) -> list[str]:
    """The status as the CLI prints it: counters, plans, latest windows."""
    lines = [_usage_line(u) for u in reply.usage]
    lines += [f"[{p.level}] {p.plan}: {p.message}" for p in reply.plans]
    lines += [_window_line(w) for w in reply.windows]
    return lines


@click.group()
def maintenance() -> None:
    """Usage counters, maintenance plans, condition monitoring (the maintenance service)."""


@maintenance.command()
@click.argument("machine", default="")
@hub_options
def status(machine: str, hub: Hub) -> None:
    """Counters, plans and the latest condition windows of MACHINE (site/area/line/machine;
    every machine without it)."""
    request = maintenance_pb2.GetMaintenanceStatusRequest(machine=machine)
    for line in status_lines(call(hub, "maintenance", "GetMaintenanceStatus", request)):
        click.echo(line)


@maintenance.command()
@click.argument("machine")
@click.argument("component", default="machine")
@click.option("-m", "--message", "note", required=True, help="What was done (audited).")
@user_option
@hub_options
def done(machine: str, component: str, note: str, user: str | None, hub: Hub) -> None:
    """Record maintenance of COMPONENT of MACHINE (default: the machine itself): its
    counters restart from zero, and so do the baselines and trends of its condition plans."""
    request = maintenance_pb2.RecordMaintenanceRequest(
        machine=machine, component=component, note=note
    )
    before = call(hub, "maintenance", "RecordMaintenance", request, user=user).before
    click.echo(f"recorded: {note}; counters before the reset:")
    click.echo(_usage_line(before))


commands = [maintenance]
