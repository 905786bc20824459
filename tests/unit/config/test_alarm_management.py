"""The alarm_management section: operator positions named by areas and lines, and
suppressions by design whose conditions and alarms exist."""

from __future__ import annotations

import textwrap

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Source, load_sources

PLANT = """
sites:
  - name: s
    areas:
      - name: a
        operator_position: {area_position}
        lines:
          - name: l
            operator_position: {line_position}
            machines: [{{name: m1}}]
devices:
  - {{name: plc, driver: memory, endpoint: "memory://x", machine: s/a/l/m1,
     tags: [{{name: temp, address: temp, data_type: float64}},
            {{name: mode, address: mode, data_type: float64}}]}}
alert_rules:
  - {{name: hot, kind: high, machine: s/a/l/m1, tag: temp, limit: 70}}
  - {{name: trip, kind: high, machine: s/a/l/m1, tag: temp, limit: 90}}
alarm_management:
  positions: [{{name: console1}}]
  suppressions:
{suppressions}
"""


def load(suppressions: str = "    []", area: str = "console1", line: str = "null") -> list[str]:
    text = PLANT.format(
        area_position=area, line_position=line, suppressions=textwrap.indent(suppressions, "    ")
    )
    try:
        config = load_sources([Source("plant.yaml", text)])
    except ConfigInvalid as err:
        return [f"{i.path}: {i.message}" for i in err.issues]
    assert config.operator_positions() == {
        "s/a": area,
        **({"s/a/l": line} if line != "null" else {}),
    }
    return []


def test_positions_and_suppressions_that_exist_are_accepted() -> None:
    sups = """\
- {name: cleaning, when: {kind: machine_state, machine: s/a/l/m1, states: [planned_stop]},
   alarms: ["*@s/a/l/*"]}
- {name: manual, when: {kind: tag, tag: s/a/l/m1/mode, equals: [3]}, alarms: [hot@s/a/l/m1]}
- {name: first-out, when: {kind: alarm_active, alarm: trip@s/a/l/m1}, alarms: [hot@*]}
"""
    assert load(sups, line="console1") == []


def test_unknown_position_is_refused_where_it_is_named() -> None:
    assert load(line="console2") == [
        "sites[0].areas[0].lines[0].operator_position: unknown operator position "
        "'console2': add it to alarm_management.positions"
    ]


@pytest.mark.parametrize(
    ("suppression", "expected"),
    [
        (
            "- {name: x, when: {kind: machine_state, machine: s/a/l/m9, states: [stopped]},"
            " alarms: ['*']}",
            "alarm_management.suppressions[0].when.machine: unknown machine 's/a/l/m9'",
        ),
        (
            "- {name: x, when: {kind: tag, tag: s/a/l/m1/nope, above: 1}, alarms: ['*']}",
            "alarm_management.suppressions[0].when.tag: unknown tag 's/a/l/m1/nope' "
            "(site/area/line/machine/tag)",
        ),
        (
            "- {name: x, when: {kind: alarm_active, alarm: trip@s/a/l/m1}, alarms: ['*@s/a/l/m1']}",
            "alarm_management.suppressions[0].alarms[0]: '*@s/a/l/m1' would suppress "
            "'trip@s/a/l/m1' itself",
        ),
        (
            "- {name: x, when: {kind: alarm_active, alarm: trip@s/a/l/m1}, alarms: [cold@*]}",
            "alarm_management.suppressions[0].alarms[0]: 'cold@*' matches no alarm "
            "(ids are rule@scope)",
        ),
    ],
)
def test_suppressions_refer_to_what_exists(suppression: str, expected: str) -> None:
    assert load(suppression) == [expected]


def test_a_tag_condition_needs_a_test_and_floods_need_hysteresis() -> None:
    issues = load("- {name: x, when: {kind: tag, tag: s/a/l/m1/mode}, alarms: ['*']}")
    assert len(issues) == 1 and "needs equals, above or below" in issues[0]
    bad = PLANT.format(area_position="console1", line_position="null", suppressions="    []")
    bad = bad.replace("  positions:", "  flood_start: 3\n  flood_end: 5\n  positions:")
    with pytest.raises(ConfigInvalid, match="flood_end"):
        load_sources([Source("plant.yaml", bad)])
