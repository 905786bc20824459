"""Checks of the maintenance section: components, monitors, plans, request connectors."""

from __future__ import annotations

from collections.abc import Iterator

from plantbus.config.checks.common import Finding, Loc, duplicates, installed_plugin
from plantbus.config.model import PlantConfig
from plantbus.plugins import ANOMALY_MODELS, MAINTENANCE_CONNECTORS, discover

__all__ = ["maintenance"]


def maintenance(config: PlantConfig) -> Iterator[Finding]:
    """Components, monitors, plans and request connectors, each against what it names."""
    yield from _components(config)
    yield from _monitors(config)
    yield from _plans(config)
    yield from _requests(config)


def _components(config: PlantConfig) -> Iterator[Finding]:
    section, machines, tags = config.maintenance, config.machine_paths(), config.tag_paths()
    seen: set[tuple[str, str]] = set()
    for i, comp in enumerate(section.components):
        loc: Loc = ("maintenance", "components", i)
        if comp.machine not in machines:
            yield (*loc, "machine"), f"unknown machine {comp.machine!r} (not in sites)"
        if comp.name == "machine" or (comp.machine, comp.name) in seen:
            yield (*loc, "name"), f"duplicate component {comp.name!r} of {comp.machine!r}"
        seen.add((comp.machine, comp.name))
        if comp.cycles_tag and f"{comp.machine}/{comp.cycles_tag}" not in tags:
            yield (*loc, "cycles_tag"), f"machine {comp.machine!r} has no tag {comp.cycles_tag!r}"


def _monitors(config: PlantConfig) -> Iterator[Finding]:
    tags, stated = config.tag_paths(), {m.machine for m in config.oee}
    models = discover(ANOMALY_MODELS, lazy=True)
    monitored: set[str] = set()
    for i, mon in enumerate(config.maintenance.monitors):
        loc: Loc = ("maintenance", "monitors", i)
        machine = mon.tag.rsplit("/", 1)[0]
        if mon.tag not in tags:
            yield (*loc, "tag"), f"unknown tag {mon.tag!r} (no device has it)"
        elif machine not in stated:
            yield (
                (*loc, "tag"),
                (
                    f"machine {machine!r} has no OEE mapping: its state tag (oee: state_tag) "
                    "says when the monitor's states hold"
                ),
            )
        if mon.tag in monitored:
            yield (*loc, "tag"), f"tag {mon.tag!r} is monitored twice"
        monitored.add(mon.tag)
        if mon.model != "robust":
            at = (loc, "model", "model_settings")
            robust = " (or use the built-in model: robust)"
            yield from installed_plugin(models, mon.model, dict(mon.model_settings), at, robust)


def _plans(config: PlantConfig) -> Iterator[Finding]:
    section, machines = config.maintenance, config.machine_paths()
    components = {(c.machine, c.name) for c in section.components}
    monitored = {m.tag for m in section.monitors}
    yield from duplicates(section.plans, ("maintenance", "plans"), "plan")
    for i, plan in enumerate(section.plans):
        loc: Loc = ("maintenance", "plans", i)
        if plan.machine not in machines:
            yield (*loc, "machine"), f"unknown machine {plan.machine!r} (not in sites)"
        if plan.component != "machine" and (plan.machine, plan.component) not in components:
            yield (
                (*loc, "component"),
                (
                    f"machine {plan.machine!r} has no component {plan.component!r}: add it to "
                    "maintenance.components or use component: machine"
                ),
            )
        if plan.tag and f"{plan.machine}/{plan.tag}" not in monitored:
            yield (
                (*loc, "tag"),
                (f"{plan.machine}/{plan.tag} is not monitored: add it to maintenance.monitors"),
            )
        if plan.propose is not None:
            yield from _proposal(config, plan.propose.path(plan.machine), plan.propose.value, loc)


def _proposal(config: PlantConfig, path: str, value: float, loc: Loc) -> Iterator[Finding]:
    """A proposal's tag exists, is writable and takes its value."""
    tags = {f"{d.machine}/{t.name}": t for d in config.devices for t in d.tags}
    tag = tags.get(path)
    where = (*loc, "propose", "tag")
    if tag is None:
        yield where, f"unknown tag {path!r} (no device has it)"
    elif tag.access != "read_write":
        yield where, f"tag {path!r} is read-only: a proposal writes it (access: read_write)"
    elif (tag.min is not None and value < tag.min) or (tag.max is not None and value > tag.max):
        limits = f"{tag.min}..{tag.max}"
        yield (*loc, "propose", "value"), f"{value:g} is outside the limits of {path!r} ({limits})"


def _requests(config: PlantConfig) -> Iterator[Finding]:
    section = config.maintenance
    connectors = discover(MAINTENANCE_CONNECTORS, lazy=True)
    yield from duplicates(section.requests, ("maintenance", "requests"), "request connector")
    for i, req in enumerate(section.requests):
        at = (("maintenance", "requests", i), "connector", "settings")
        yield from installed_plugin(connectors, req.connector, dict(req.settings), at)
