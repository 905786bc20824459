"""Alarms to their bus and gRPC messages."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from plantbus.alerting.lifecycle import Alarm
from plantbus.alerting.performance import Performance
from plantbus.kit import codec
from plantbus.sdk.notifier import AlarmNotification
from plantbus.v1 import alerting_pb2

__all__ = ["event_of", "fill_performance", "notification_of"]


class _Told(TypedDict):
    """What an alarm event and a notification both tell, under the same names."""

    rule: str
    state: str
    priority: str
    message: str


def _told(alarm: Alarm) -> _Told:
    return _Told(
        rule=alarm.rule, state=str(alarm.state), priority=alarm.priority, message=alarm.message
    )


def event_of(alarm: Alarm) -> alerting_pb2.AlarmEvent:
    """The bus and gRPC form of an alarm."""
    msg = alerting_pb2.AlarmEvent(
        id=alarm.id,
        scope=alarm.scope,
        active=alarm.active,
        value="" if alarm.value is None else str(alarm.value),
        time=codec.timestamp(alarm.changed_at),
        note=alarm.note,
        **_told(alarm),
    )
    if alarm.shelved_until:
        msg.shelved_until.CopyFrom(codec.timestamp(alarm.shelved_until))
    if alarm.out_of_service_until:
        msg.out_of_service_until.CopyFrom(codec.timestamp(alarm.out_of_service_until))
    return msg


def notification_of(alarm: Alarm, at: datetime) -> AlarmNotification:
    """What a notifier is told about ``alarm``'s change at ``at``."""
    value = alarm.value if isinstance(alarm.value, float | str) else None
    return AlarmNotification(
        alarm_id=alarm.id, machine=alarm.scope, value=value, time=at, actor="", **_told(alarm)
    )


def fill_performance(perf: Performance, out: alerting_pb2.GetAlarmMetricsResponse) -> None:
    """The range's figures into a GetAlarmMetrics reply (percentages from shares)."""
    out.start.CopyFrom(codec.timestamp(perf.start))
    out.end.CopyFrom(codec.timestamp(perf.end))
    out.annunciated = perf.annunciated
    for p in perf.positions:
        out.positions.add(
            position=p.position,
            annunciated=p.annunciated,
            average_per_period=p.per_period,
            average_per_hour=p.per_hour,
            periods=p.periods,
            periods_above=p.periods_above,
            percent_periods_above=100 * p.share_above,
            peak=p.peak,
            peak_start=codec.timestamp(p.peak_start),
            floods=p.floods,
            flood_seconds=p.flood_s,
            percent_in_flood=100 * p.share_in_flood,
        )
    out.annunciated_by_priority.update(perf.priorities)
    for alarm_id, since in perf.standing:
        out.standing_alarms.add(id=alarm_id, since=codec.timestamp(since))
    out.stale_in_range.extend(perf.stale)
    out.chattering_in_range.extend(perf.chattering)
    out.fleeting.update(dict(perf.fleeting))
    for alarm_id, n in perf.bad_actors:
        out.bad_actors.add(id=alarm_id, annunciated=n, percent_of_load=100 * n / perf.annunciated)
    out.percent_top_load = 100 * perf.top_share
    out.hidden.update(perf.hidden)
