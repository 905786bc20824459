"""Heartbeat liveness by when this process saw an entry change, on its own clock."""

from __future__ import annotations

from plantbus.kit.heartbeat import Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_live_until_it_misses_three_intervals() -> None:
    clock = Clock()
    seen = Liveness(clock)
    assert seen.live("device.a", 7, 2.0), "seen for the first time"
    clock.now += 6.0
    assert seen.live("device.a", 7, 2.0), "three intervals without a change"
    clock.now += 0.1
    assert not seen.live("device.a", 7, 2.0)
    assert seen.live("device.a", 9, 2.0), "a new revision: it beat again"


def test_short_intervals_count_as_one_second_and_gone_keys_are_forgotten() -> None:
    clock = Clock()
    seen = Liveness(clock)
    seen.live("device.a", 1, 0.1)
    clock.now += 2.9
    assert seen.live("device.a", 1, 0.1)
    clock.now += 0.2
    assert not seen.live("device.a", 1, 0.1)
    seen.keep([])
    assert seen.live("device.a", 1, 0.1), "forgotten, then seen anew"
