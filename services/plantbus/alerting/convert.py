"""Alarms to their bus and gRPC messages."""

from __future__ import annotations

from plantbus.alerting.lifecycle import Alarm
from plantbus.kit import codec
from plantbus.v1 import alerting_pb2

__all__ = ["event_of"]


def event_of(alarm: Alarm) -> alerting_pb2.AlarmEvent:
    """The bus and gRPC form of an alarm."""
    msg = alerting_pb2.AlarmEvent(
        id=alarm.id,
        rule=alarm.rule,
        scope=alarm.scope,
        state=str(alarm.state),
        active=alarm.active,
        priority=alarm.priority,
        message=alarm.message,
        value="" if alarm.value is None else str(alarm.value),
        time=codec.timestamp(alarm.changed_at),
        note=alarm.note,
    )
    if alarm.shelved_until:
        msg.shelved_until.CopyFrom(codec.timestamp(alarm.shelved_until))
    return msg
