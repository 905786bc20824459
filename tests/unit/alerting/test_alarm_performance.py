"""Worked examples of the ISA-18.2 / EEMUA 191 alarm-performance figures, each from its
definition (docs/alerting.md, "Alarm performance")."""

from __future__ import annotations

import pytest

from plantbus.alerting.performance import Change, performance
from plantbus.alerting.positions import Positions
from plantbus.config.alarms import AlarmManagement

LIMITS = AlarmManagement()
M1, M2 = "s/a/l1/m1", "s/b/l2/m2"


def up(t: float, rule: str = "hot", scope: str = M1, priority: str = "medium") -> Change:
    return Change(t, f"{rule}@{scope}", scope, "unacknowledged", True, priority)


def down(t: float, rule: str = "hot", scope: str = M1, state: str = "normal") -> Change:
    return Change(t, f"{rule}@{scope}", scope, state, False, "medium")


def run(changes: list[Change], end: float = 3600.0, limits: AlarmManagement = LIMITS):  # type: ignore[no-untyped-def]
    return performance(changes, 0.0, end, Positions().of, limits)


def test_eleven_alarms_in_ten_minutes_is_a_flood_until_fewer_than_five_remain() -> None:
    # 11 alarms at 0, 10, ..., 100 s: the 11th (t = 100) starts the flood; the window
    # (t - 600, t] loses one alarm every 10 s from t = 600 and holds 4 at t = 660
    changes = [up(10.0 * i, rule=f"r{i}") for i in range(11)]
    p = run(changes).positions[0]
    assert (p.position, p.annunciated, p.floods, p.flood_s) == ("s/a", 11, 1, 560.0)
    assert p.share_in_flood == pytest.approx(560 / 3600)
    assert (p.periods, p.periods_above, p.peak, p.peak_start) == (6, 1, 11, 0.0)
    assert p.share_above == pytest.approx(1 / 6)


def test_exactly_ten_alarms_is_neither_a_flood_nor_above_the_limit() -> None:
    p = run([up(10.0 * i, rule=f"r{i}") for i in range(10)]).positions[0]
    assert (p.floods, p.flood_s, p.periods_above, p.peak) == (0, 0.0, 0, 10)


def test_a_flood_still_running_at_the_end_counts_until_the_end() -> None:
    p = run([up(3000.0 + i, rule=f"r{i}") for i in range(12)]).positions[0]
    # the 11th alarm (t = 3010) starts it; nothing leaves before the end (3600)
    assert (p.floods, p.flood_s) == (1, 590.0)


def test_rates_per_period_and_hour_and_the_peak_period() -> None:
    # two hours, 60 alarms: 5 in each of the first 11 periods and 5 in the last
    changes = [up(600.0 * (i // 5) + i % 5, rule=f"r{i % 5}") for i in range(60)]
    p = run(changes, end=7200.0).positions[0]
    assert (p.annunciated, p.periods, p.per_period, p.per_hour) == (60, 12, 5.0, 30.0)
    assert (p.peak, p.peak_start, p.periods_above) == (5, 0.0, 0)


def test_the_threshold_and_period_are_the_sites() -> None:
    limits = AlarmManagement(period_s=300, period_limit=2, flood_start=2, flood_end=1)
    p = run([up(0, rule="a"), up(1, rule="b"), up(2, rule="c")], limits=limits).positions[0]
    # 3 > 2 in one 5-min period; the flood starts at t = 2 and ends at 302 (count 0 < 1)
    assert (p.periods, p.periods_above, p.floods, p.flood_s) == (12, 1, 1, 300.0)


def test_positions_come_from_the_plant_model_and_default_to_the_area() -> None:
    positions = Positions({"s/a/l1": "console-1"})
    changes = [up(0, scope=M1), up(1, scope=M2), up(2, scope="s/a/l1")]
    figures = performance(changes, 0, 600, positions.of, LIMITS).positions
    assert [(p.position, p.annunciated) for p in figures] == [("console-1", 2), ("s/b", 1)]


def test_priority_distribution_bad_actors_and_their_share() -> None:
    changes = (
        [up(i, rule="chatty", priority="low") for i in range(0, 800, 100)]  # 8
        + [up(5, rule="hot", priority="high"), up(6, rule="cold", priority="low")]
    )
    limits = AlarmManagement(top=2)
    p = run(changes, limits=limits)
    assert p.priorities == {"low": 9, "high": 1}
    assert p.bad_actors == [("chatty@s/a/l1/m1", 8), ("cold@s/a/l1/m1", 1)]
    assert p.top_share == pytest.approx(9 / 10)


def test_three_activations_within_a_minute_chatter_and_within_61_seconds_do_not() -> None:
    chatter = [up(0, "a"), down(10, "a"), up(30, "a"), down(40, "a"), up(60, "a")]
    calm = [up(0, "b"), down(10, "b"), up(30, "b"), down(40, "b"), up(61, "b")]
    assert run(chatter + calm).chattering == ["a@s/a/l1/m1"]


def test_an_acknowledgement_is_no_activation() -> None:
    ack = Change(5, "a@s/a/l1/m1", M1, "acknowledged", True, "medium")
    p = run([up(0, "a"), ack, down(20, "a"), up(30, "a"), up(40, "a")])
    assert p.chattering == [] and p.annunciated == 3  # up at 40 repeats an active alarm


def test_fleeting_alarms_clear_sooner_than_fleeting_s() -> None:
    changes = [up(100, "a"), down(101.5, "a"), up(200, "b"), down(202, "b")]
    assert run(changes).fleeting == [("a@s/a/l1/m1", 1)]


def test_standing_and_stale_at_the_end_of_the_range() -> None:
    day = 86400.0
    acked_before = Change(10, "old@s/a/l1/m1", M1, "acknowledged", True, "high")
    changes = [
        acked_before,  # active before the range: at least since its start
        up(day - 100, "recent"),
        up(50, "cleared"),
        down(60, "cleared"),
        up(70, "hidden"),
        Change(80, "hidden@s/a/l1/m1", M1, "shelved", True, "medium"),
    ]
    p = run(changes, end=day + 5)
    assert p.standing == [("old@s/a/l1/m1", 0.0), ("recent@s/a/l1/m1", day - 100)]
    assert p.stale == ["old@s/a/l1/m1"]
    assert p.hidden == {"hidden@s/a/l1/m1": "shelved"}


def test_changes_outside_the_range_and_the_flood_alarm_are_not_counted() -> None:
    flood = Change(5, "alarm_flood@s/a", "s/a", "unacknowledged", True, "high")
    p = run([up(-1, "early"), up(3600, "late"), flood, up(1, "in")])
    assert p.annunciated == 1 and p.bad_actors == [("in@s/a/l1/m1", 1)]
