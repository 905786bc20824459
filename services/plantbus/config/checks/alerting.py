"""Checks of alert rules, notifiers and alarm management (operator positions,
suppressions)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from plantbus.config.checks.common import Finding, Loc, duplicates, installed_plugin
from plantbus.config.model import PlantConfig
from plantbus.config.rules import PlanRef, PlantRefs
from plantbus.plugins import NOTIFIERS, discover

__all__ = ["alarm_management", "alerts"]


def alerts(config: PlantConfig) -> Iterator[Finding]:
    refs = PlantRefs(
        frozenset(config.machine_paths()),
        frozenset(config.tag_paths()),
        frozenset(config.line_paths()),
        {p.name: PlanRef(p.machine, p.by) for p in config.maintenance.plans},
        frozenset(m.tag for m in config.maintenance.monitors),
    )
    seen: set[tuple[str, str]] = set()
    for i, rule in enumerate(config.alert_rules):
        loc: Loc = ("alert_rules", i)
        key = (rule.name, rule.scope)
        if key in seen:
            yield (*loc, "name"), f"duplicate rule {rule.name!r} on {rule.scope!r}"
        seen.add(key)
        for field, message in rule.check(refs):
            yield (*loc, field), message
    notifiers = discover(NOTIFIERS, lazy=True)
    for i, notifier in enumerate(config.notifiers):
        at = (("notifiers", i), "plugin", "settings")
        yield from installed_plugin(notifiers, notifier.plugin, notifier.settings, at)


def alarm_management(config: PlantConfig) -> Iterator[Finding]:
    section, loc = config.alarm_management, ("alarm_management",)
    yield from duplicates(section.positions, (*loc, "positions"), "operator position")
    known = {p.name for p in section.positions}
    for si, site in enumerate(config.sites):
        for ai, area in enumerate(site.areas):
            at: Loc = ("sites", si, "areas", ai)
            places = [(at, area.operator_position)]
            places += [
                ((*at, "lines", li), ln.operator_position) for li, ln in enumerate(area.lines)
            ]
            for place, position in places:
                if position and position not in known:
                    yield (
                        (*place, "operator_position"),
                        f"unknown operator position {position!r}: add it to "
                        "alarm_management.positions",
                    )
    alarms = {f"{r.name}@{r.scope}" for r in config.alert_rules}
    machines, tags = config.machine_paths(), config.tag_paths()
    yield from duplicates(section.suppressions, (*loc, "suppressions"), "suppression")
    for i, sup in enumerate(section.suppressions):
        at = (*loc, "suppressions", i)
        when = sup.when
        if when.kind == "machine_state" and when.machine not in machines:
            yield (*at, "when", "machine"), f"unknown machine {when.machine!r}"
        elif when.kind == "tag" and when.tag not in tags:
            yield (*at, "when", "tag"), f"unknown tag {when.tag!r} (site/area/line/machine/tag)"
        elif when.kind == "alarm_active" and when.alarm not in alarms:
            yield (*at, "when", "alarm"), f"no alert rule makes the alarm {when.alarm!r}"
        for pi, pattern in enumerate(sup.alarms):
            matched = {a for a in alarms if fnmatch.fnmatchcase(a, pattern)}
            if not matched:
                yield (*at, "alarms", pi), f"{pattern!r} matches no alarm (ids are rule@scope)"
            elif when.kind == "alarm_active" and when.alarm in matched:
                yield (*at, "alarms", pi), f"{pattern!r} would suppress {when.alarm!r} itself"
