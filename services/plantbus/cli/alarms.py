"""``plantbus alarms``: list, acknowledge, shelve, unshelve, reset, out of service, history,
metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

import click

from plantbus.cli.durations import seconds
from plantbus.cli.history import when
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


def _acting(why: str, required: bool = False) -> Callable[[F], F]:
    """``-m WHY``, ``--user`` and the hub options of a command that acts on an alarm."""

    def apply(command: F) -> F:
        command = user_option(hub_options(command))
        defaults: dict[str, Any] = {"required": True} if required else {"default": ""}
        return click.option("-m", "--comment", help=why, **defaults)(command)

    return apply


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
    @_acting("Why (recorded in the audit).")
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
@_acting("Why (required, recorded in the audit).", required=True)
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


@alarms.command("oos")
@click.argument("alarm_id")
@click.option(
    "--for",
    "duration",
    required=True,
    help="How long until it returns to service by itself: 30m, 8h, 7d.",
)
@_acting("Why: the permit or work order (audited).", required=True)
def out_of_service(alarm_id: str, duration: str, comment: str, user: str | None, hub: Hub) -> None:
    """Remove ALARM_ID from service (maintenance under permit) until an expiry."""
    span = seconds(duration)
    if not span:
        raise click.BadParameter(f"{duration!r}: use 30m, 8h or 7d", param_hint="--for")
    request = alerting_pb2.RemoveFromServiceRequest(
        id=alarm_id, comment=comment, duration_seconds=span
    )
    reply = call(hub, "alerting", "RemoveFromService", request, user=user)
    click.echo(_line(reply.alarm))


back_in_service = _action(
    "return",
    "ReturnToService",
    alerting_pb2.ReturnToServiceRequest,
    "Return ALARM_ID to service before its expiry.",
)


def _percent(x: float) -> str:
    return f"{x:.1f} %"


@alarms.command("metrics")
@click.option(
    "--since", default="1h", show_default=True, help="Start: 30m, 8h, 7d, or an ISO time."
)
@click.option("--until", default="now", show_default=True, help="End: now, 2h, or an ISO time.")
@json_option
@hub_options
def metrics_(since: str, until: str, as_json: bool, hub: Hub) -> None:
    """ISA-18.2 / EEMUA 191 performance over a range: load per operator position, floods,
    priorities, standing, stale, chattering, fleeting and the bad actors."""
    request = alerting_pb2.GetAlarmMetricsRequest()
    request.start.FromDatetime(when(since, "--since"))
    request.end.FromDatetime(when(until, "--until"))
    m = call(hub, "alerting", "GetAlarmMetrics", request)
    if as_json:
        echo_json(m)
        return
    start, end = (t.ToDatetime(UTC).isoformat(timespec="seconds") for t in (m.start, m.end))
    click.echo(f"{start} .. {end} ({m.source}): {m.annunciated} alarms annunciated")
    for p in m.positions:
        click.echo(
            f"  {p.position}: {p.average_per_period:.2f} per period, {p.average_per_hour:.1f}"
            f" per hour, peak {p.peak} in a period, {_percent(p.percent_periods_above)} of"
            f" periods above the limit, {p.floods} floods, {_percent(p.percent_in_flood)} in flood"
        )
    total = max(m.annunciated, 1)
    shares = sorted(m.annunciated_by_priority.items(), key=lambda kv: -kv[1])
    click.echo(
        "priorities: " + (", ".join(f"{k} {100 * n / total:.0f} %" for k, n in shares) or "-")
    )
    click.echo(f"standing: {', '.join(s.id for s in m.standing_alarms) or '-'}")
    click.echo(f"stale (>24 h): {', '.join(m.stale_in_range) or '-'}")
    click.echo(f"chattering: {', '.join(m.chattering_in_range) or '-'}")
    click.echo(f"fleeting: {', '.join(f'{i} ({n})' for i, n in sorted(m.fleeting.items())) or '-'}")
    click.echo(f"hidden: {', '.join(f'{i} ({s})' for i, s in sorted(m.hidden.items())) or '-'}")
    click.echo(f"flooding now: {', '.join(m.flooding) or '-'}")
    click.echo(f"bad actors ({_percent(m.percent_top_load)} of the load):")
    for b in m.bad_actors:
        click.echo(f"  {b.annunciated:>5}  {_percent(b.percent_of_load):>7}  {b.id}")


commands = [alarms]
