"""The alarm lifecycle's timers run on the monotonic clock (a wall-clock jump neither ends
a shelve nor re-alarms), what people see stays on the wall clock, a restored alarm keeps
what was left of its shelving, and a non-finite shelving duration is refused."""

from __future__ import annotations

import math

import pytest

from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.sdk.errors import ValidationFailed

WALL, MONO = 1_700_000_000.0, 1000.0
HOUR = 3600.0


def standing(realarm_s: float = 0.0) -> Alarm:
    alarm = Alarm("hot@m", "hot", "s/a/l/m", realarm_s=realarm_s)
    alarm.condition(True, WALL)
    return alarm


@pytest.mark.parametrize("duration", [math.nan, math.inf, -math.inf])
def test_a_non_finite_shelving_duration_is_refused(duration: float) -> None:
    alarm = standing()
    with pytest.raises(ValidationFailed, match="shelving needs a finite duration"):
        alarm.shelve("op", "", WALL + duration, WALL, max_s=HOUR)
    assert alarm.state == AlarmState.UNACK and alarm.shelved_until == 0.0


def test_shelving_expires_by_monotonic_time_and_shows_wall_time() -> None:
    alarm = standing()
    alarm.shelve("op", "", WALL + 600, WALL, mono=MONO)
    assert alarm.shelved_until == WALL + 600, "shown to people on the wall clock"
    assert not alarm.expire(WALL + HOUR, MONO + 1), "the wall clock jumped an hour"
    assert not alarm.expire(WALL - HOUR, MONO + 599)
    assert alarm.expire(WALL - HOUR, MONO + 600) and alarm.state == AlarmState.UNACK
    assert alarm.changed_at == WALL - HOUR, "stamped with the wall clock at expiry"


def test_realarm_counts_monotonic_time_since_the_acknowledge() -> None:
    alarm = standing(realarm_s=600)
    alarm.acknowledge("op", "", WALL, MONO)
    assert not alarm.realarm(WALL + HOUR, MONO + 10)
    assert alarm.realarm(WALL, MONO + 600) and alarm.state == AlarmState.UNACK


def test_a_restored_alarm_keeps_what_was_left_of_its_timers() -> None:
    """Another process saved the state; this one has another monotonic clock."""
    shelved = standing()
    shelved.shelve("op", "", WALL + 600, WALL, mono=MONO)
    acked = standing(realarm_s=600)
    acked.acknowledge("op", "", WALL, MONO)
    later_wall, other_mono = WALL + 100, 5.0
    for alarm in (shelved, acked):
        alarm.rebase(later_wall, other_mono)
    assert not shelved.expire(later_wall, other_mono + 499)
    assert shelved.expire(later_wall, other_mono + 500)
    assert not acked.realarm(later_wall, other_mono + 499)
    assert acked.realarm(later_wall, other_mono + 500)
