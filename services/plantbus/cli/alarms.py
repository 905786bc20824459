"""``plantbus alarms``: list, acknowledge, shelve, unshelve, reset, history, metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

import click

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.v1 import alerting_pb2

__all__ = ["commands"]

F = TypeVar("F", bound=Callable[..., None])


def user_option(command: F) -> F:
    """``--user``: the configured user the local operator acts for, recorded with the action
    (default: PLANTBUS_USER, else the local operator itself)."""
    return click.option(
        "--user",
        default=None,
        help="The configured user who acts (default: PLANTBUS_USER, else the local operator).",
    )(command)


def _line(a: alerting_pb2.AlarmEvent) -> str:
    when = a.time.ToDatetime(UTC).strftime("%H:%M:%S")
    return f"{when}  {a.priority:<7} {a.state:<24} {a.id:<45} {a.message}" + (
        f"  [{a.note}]" if a.note else ""
    )


@click.group()
def alarms() -> None:
    """Alarms and their ISA-18.2 lifecycle."""


@alarms.command("list")
@click.option("--scope", default="", help="Only alarms under this site/area/line/machine.")
@click.option("--all", "include_normal", is_flag=True, help="Include alarms in normal state.")
@json_option
@hub_options
def list_(scope: str, include_normal: bool, as_json: bool, hub: Hub) -> None:
    """Alarms that are not normal, most urgent first."""
    reply = call(
        hub,
        "alerting",
        "ListAlarms",
        alerting_pb2.ListAlarmsRequest(scope_prefix=scope, include_normal=include_normal),
    )
    if as_json:
        echo_json(reply)
        return
    if not reply.alarms:
        click.echo("no alarms")
    for a in reply.alarms:
        click.echo(_line(a))


def _action(name: str, method: str, request: type[Any], help_text: str) -> click.Command:
    """``plantbus alarms NAME ALARM_ID [-m WHY]``: one lifecycle action on one alarm."""

    @alarms.command(name, help=help_text)
    @click.argument("alarm_id")
    @click.option("-m", "--comment", default="", help="Why (recorded in the audit).")
    @user_option
    @hub_options
    def command(alarm_id: str, comment: str, user: str | None, hub: Hub) -> None:
        reply = call(hub, "alerting", method, request(id=alarm_id, comment=comment), user=user)
        click.echo(_line(reply.alarm))

    return command


ack = _action("ack", "Acknowledge", alerting_pb2.AcknowledgeRequest, "Acknowledge ALARM_ID.")
unshelve = _action("unshelve", "Unshelve", alerting_pb2.UnshelveRequest, "Unshelve ALARM_ID now.")
reset = _action(
    "reset",
    "Reset",
    alerting_pb2.ResetRequest,
    "Reset ALARM_ID, a latched alarm that was acknowledged and whose condition cleared.",
)


@alarms.command()
@click.argument("alarm_id")
@click.option(
    "--for",
    "minutes",
    type=float,
    default=60.0,
    show_default=True,
    help="Minutes until the alarm unshelves itself.",
)
@click.option(
    "--one-shot",
    is_flag=True,
    help="Release the shelving as soon as the condition clears (--for still bounds it).",
)
@click.option("-m", "--comment", required=True, help="Why (required, recorded in the audit).")
@user_option
@hub_options
def shelve(
    alarm_id: str, minutes: float, one_shot: bool, comment: str, user: str | None, hub: Hub
) -> None:
    """Shelve ALARM_ID for a while."""
    request = alerting_pb2.ShelveRequest(
        id=alarm_id, duration_seconds=minutes * 60, comment=comment, one_shot=one_shot
    )
    reply = call(hub, "alerting", "Shelve", request, user=user)
    click.echo(_line(reply.alarm))


@alarms.command()
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--scope", default="")
@json_option
@hub_options
def history(limit: int, scope: str, as_json: bool, hub: Hub) -> None:
    """Recent alarm state changes, newest first."""
    reply = call(
        hub, "alerting", "History", alerting_pb2.HistoryRequest(limit=limit, scope_prefix=scope)
    )
    if as_json:
        echo_json(reply)
        return
    for a in reply.events:
        click.echo(_line(a))


@alarms.command("metrics")
@json_option
@hub_options
def metrics_(as_json: bool, hub: Hub) -> None:
    """ISA-18.2 performance metrics: rates, standing, stale, chattering, most frequent."""
    m = call(hub, "alerting", "GetAlarmMetrics", alerting_pb2.GetAlarmMetricsRequest())
    if as_json:
        echo_json(m)
        return
    for area, count in sorted(m.alarms_per_hour_by_area.items()):
        click.echo(f"{area}: {count} alarms in the last hour")
    click.echo(f"standing: {', '.join(m.standing) or '-'}")
    click.echo(f"stale (>24 h): {', '.join(m.stale) or '-'}")
    click.echo(f"chattering: {', '.join(m.chattering) or '-'}")
    click.echo(f"flooding: {', '.join(m.flooding) or '-'}")
    for item in m.top_frequent:
        click.echo(f"  {item.activations:>4}  {item.id}")


commands = [alarms]
