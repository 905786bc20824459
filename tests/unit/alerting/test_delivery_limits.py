"""Which alarms reach a notifier: priority filter, dedup and the per-rule hourly limit."""

from __future__ import annotations

from datetime import UTC, datetime

from plantbus.alerting.delivery import Delivery
from plantbus.config.alerting import NotifierConfig
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import EmptySettings


class Silent(Notifier):
    """A notifier that is never called in these tests."""

    async def send(self, notification: AlarmNotification) -> None:
        raise AssertionError("wants() must not send")


def delivery(**config: object) -> Delivery:
    cfg = NotifierConfig.model_validate({"name": "n", "plugin": "silent", **config})
    return Delivery(cfg, Silent(EmptySettings()))


def note(
    alarm_id: str = "hot@s/a/l/m1", priority: str = "high", state: str = "x"
) -> AlarmNotification:
    rule, _, scope = alarm_id.partition("@")
    return AlarmNotification(alarm_id, rule, scope, state, priority, "msg", 1.0, datetime.now(UTC))


def test_only_alarms_at_or_above_the_minimum_priority_pass() -> None:
    d = delivery(min_priority="high")
    assert not d.wants(note(priority="medium"), 0.0)
    assert d.wants(note(priority="high"), 0.0)
    assert d.wants(note("cold@s/a/l/m1", priority="urgent"), 0.0)
    assert d.suppressed == 0  # filtered by priority is not counted as suppressed


def test_the_same_alarm_and_state_is_sent_once_a_minute() -> None:
    d = delivery(max_per_rule_per_hour=100)
    assert d.wants(note(), 0.0)
    assert not d.wants(note(), 59.0)
    assert d.wants(note(state="other"), 59.0)  # another state is news
    assert d.wants(note(), 60.0)
    assert d.suppressed == 1


def test_a_chattering_rule_is_capped_per_hour() -> None:
    d = delivery(max_per_rule_per_hour=3)
    sent = [d.wants(note(), t * 61.0) for t in range(10)]
    assert sent == [True] * 3 + [False] * 7 and d.suppressed == 7
    assert d.wants(note(), 3600.0)  # the first send left the hour window
