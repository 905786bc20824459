"""Cross-reference checks that a schema cannot express: unique names, references to
machines and tags that exist, drivers and connectors that are installed, and plugin
settings that their own models accept, with references (never values) in secret fields
and finite numbers only, as in the rest of the config."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from plantbus.config.model import PlantConfig
from plantbus.config.oee import OeeMapping, ReasonNode
from plantbus.config.rules import PlantRefs
from plantbus.config.secrets import FORMS, is_secret_field, literal_secrets, parse_reference
from plantbus.config.security import VIEWER
from plantbus.plugins import (
    ANOMALY_MODELS,
    DRIVERS,
    ERP_CONNECTORS,
    HISTORIAN_STORES,
    MAINTENANCE_CONNECTORS,
    NOTIFIERS,
    discover,
)
from plantbus.sdk.driver import Driver
from plantbus.sdk.errors import PlantbusError

__all__ = ["cross_check"]

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]


def _duplicates(items: Iterable[Any], loc: Loc, what: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            yield (*loc, index, "name"), f"duplicate {what} name {item.name!r}"
        seen.add(item.name)


def _plant(config: PlantConfig) -> Iterator[Finding]:
    yield from _duplicates(config.sites, ("sites",), "site")
    for si, site in enumerate(config.sites):
        yield from _duplicates(site.areas, ("sites", si, "areas"), "area")
        for ai, area in enumerate(site.areas):
            yield from _duplicates(area.lines, ("sites", si, "areas", ai, "lines"), "line")
            for li, line in enumerate(area.lines):
                loc = ("sites", si, "areas", ai, "lines", li, "machines")
                yield from _duplicates(line.machines, loc, "machine")


def _non_finite(value: object, loc: Loc) -> Iterator[Finding]:
    """NaN and infinities anywhere in ``value`` (a plugin's settings)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc, "Input should be a finite number, not NaN or an infinity"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*loc, index))


def _plugin_settings(
    cls: type[Any], settings: dict[str, Any], loc: Loc, field: str = "settings"
) -> Iterator[Finding]:
    model: type[BaseModel] = cls.Settings
    for path, problem in literal_secrets(model, settings):
        yield (*loc, field, *path), problem
    validated: BaseModel | None = None
    try:
        validated = model.model_validate(settings)
    except ValidationError as err:
        hidden = model.model_config.get("hide_input_in_errors", False)  # secrets in settings
        for e in err.errors():
            found = e.get("input")
            secret = is_secret_field(model, e["loc"])
            if secret and isinstance(found, str):
                continue  # a reference: the plugin's own checks apply to the value it names
            # never shown: a secret field's input, a mapping or list that may hold one, or
            # anything of a model that hides inputs in errors
            if secret:
                hint = f" (a secret setting: write {FORMS})"
            elif hidden or isinstance(found, dict | list):
                hint = ""
            else:
                hint = f" (found {found!r})"
            yield (*loc, field, *e["loc"]), f"{e['msg']}{hint}"
    # a plugin's own model may take NaN and infinities (YAML .nan and .inf, or "nan")
    checked = validated.model_dump(by_alias=True) if validated is not None else settings
    yield from _non_finite(checked, (*loc, field))


def _devices(config: PlantConfig) -> Iterator[Finding]:
    machines = config.machine_paths()
    yield from _duplicates(config.devices, ("devices",), "device")
    drivers = discover(DRIVERS)
    for di, device in enumerate(config.devices):
        loc: Loc = ("devices", di)
        if device.machine not in machines:
            yield (*loc, "machine"), f"unknown machine {device.machine!r} (not in sites)"
        yield from _duplicates(device.tags, (*loc, "tags"), "tag")
        try:
            driver = drivers.get(device.driver)
        except PlantbusError as err:
            yield (*loc, "driver"), str(err)
            continue
        yield from _plugin_settings(driver, device.settings, loc)
        if not issubclass(driver, Driver):
            continue
        for ti, tag in enumerate(device.tags):
            try:
                driver.validate_tag(tag.ref())
            except PlantbusError as err:
                yield (*loc, "tags", ti, "address"), str(err)


def _oee(config: PlantConfig) -> Iterator[Finding]:
    machines, tags, lines = config.machine_paths(), config.tag_paths(), config.line_paths()
    for i, mapping in enumerate(config.oee):
        if mapping.machine not in machines:
            yield ("oee", i, "machine"), f"unknown machine {mapping.machine!r}"
            continue
        for field in ("state_tag", "total_tag", "reject_tag", "rework_tag", "reason_tag"):
            tag = getattr(mapping, field)
            if tag and f"{mapping.machine}/{tag}" not in tags:
                yield ("oee", i, field), f"machine {mapping.machine!r} has no tag {tag!r}"
        yield from _reasons_in_tree(config, i, mapping)
    for ci, calendar in enumerate(config.shift_calendars):
        for li, line in enumerate(calendar.lines):
            if line not in lines:
                yield ("shift_calendars", ci, "lines", li), f"unknown line {line!r}"


def _reasons_in_tree(config: PlantConfig, i: int, mapping: OeeMapping) -> Iterator[Finding]:
    """With a reason tree configured, every reason a mapping gives is in it."""
    names: set[str] = set()

    def walk(nodes: list[ReasonNode], parent: str) -> None:
        for node in nodes:
            path = f"{parent}/{node.name}" if parent else node.name
            names.update((node.name, path))
            walk(node.children, path)

    walk(config.oee_settings.reasons, "")
    if not names:
        return
    used: list[tuple[Loc, str]] = [
        (("states", si, "reason"), s.reason) for si, s in enumerate(mapping.states)
    ]
    used += [(("reason_codes", code), r) for code, r in mapping.reason_codes.items()]
    for loc, reason in used:
        if reason and reason not in names:
            yield (
                ("oee", i, *loc),
                f"reason {reason!r} is not in oee_settings.reasons: add it to the tree or "
                "use one of its names",
            )


def _alerts(config: PlantConfig) -> Iterator[Finding]:
    refs = PlantRefs(
        frozenset(config.machine_paths()),
        frozenset(config.tag_paths()),
        frozenset(config.line_paths()),
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
    notifiers = discover(NOTIFIERS)
    for i, notifier in enumerate(config.notifiers):
        try:
            cls = notifiers.get(notifier.plugin)
        except PlantbusError as err:
            yield ("notifiers", i, "plugin"), str(err)
            continue
        yield from _plugin_settings(cls, notifier.settings, ("notifiers", i))


def _alarm_management(config: PlantConfig) -> Iterator[Finding]:
    section, loc = config.alarm_management, ("alarm_management",)
    yield from _duplicates(section.positions, (*loc, "positions"), "operator position")
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
    yield from _duplicates(section.suppressions, (*loc, "suppressions"), "suppression")
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


def _erp(config: PlantConfig) -> Iterator[Finding]:
    lines = {p.split("/", 1)[0] + "/" + p.rsplit("/", 1)[1] for p in config.line_paths()}
    yield from _duplicates(config.erp, ("erp",), "ERP connection")
    connectors = discover(ERP_CONNECTORS)
    for i, conn in enumerate(config.erp):
        if f"{conn.site}/{conn.line}" not in lines:
            yield ("erp", i, "line"), f"unknown line {conn.line!r} in site {conn.site!r}"
        try:
            cls = connectors.get(conn.connector)
        except PlantbusError as err:
            yield ("erp", i, "connector"), str(err)
            continue
        yield from _plugin_settings(cls, conn.settings, ("erp", i))


def _historian(config: PlantConfig) -> Iterator[Finding]:
    section = config.historian
    try:
        cls = discover(HISTORIAN_STORES).get(section.store)
    except PlantbusError as err:
        yield ("historian", "store"), str(err)
        return
    yield from _plugin_settings(cls, section.store_settings, ("historian",), "store_settings")


def _sparkplug(config: PlantConfig) -> Iterator[Finding]:
    section = config.sparkplug
    if section is None:
        return
    if section.user not in {u.name for u in config.users}:
        yield ("sparkplug", "user"), f"unknown user {section.user!r} (not in users)"
    devices = {d.name for d in config.devices}
    for i, device in enumerate(section.devices):
        if device not in devices:
            yield ("sparkplug", "devices", i), f"unknown device {device!r}"
    broker = section.broker
    if broker.password:
        try:
            parse_reference(broker.password)
        except ValueError as err:
            yield ("sparkplug", "broker", "password"), str(err)
    if broker.password and not broker.username:
        yield ("sparkplug", "broker", "username"), "a password needs a username"
    if bool(broker.cert_file) != bool(broker.key_file):
        yield ("sparkplug", "broker", "key_file"), "give cert_file and key_file together"
    if not broker.tls and (broker.ca_file or broker.cert_file):
        yield ("sparkplug", "broker", "url"), "certificates need TLS: write mqtts://"


def _components(config: PlantConfig) -> Iterator[Finding]:
    machines, tags = config.machine_paths(), config.tag_paths()
    seen: set[tuple[str, str]] = set()
    for i, comp in enumerate(config.maintenance.components):
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
    models = discover(ANOMALY_MODELS)
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
            try:
                cls = models.get(mon.model)
            except PlantbusError as err:
                yield (*loc, "model"), f"{err} (or use the built-in model: robust)"
                continue
            yield from _plugin_settings(cls, dict(mon.model_settings), loc, "model_settings")


def _plans(config: PlantConfig) -> Iterator[Finding]:
    section, machines = config.maintenance, config.machine_paths()
    components = {(c.machine, c.name) for c in section.components}
    monitored = {m.tag for m in section.monitors}
    yield from _duplicates(section.plans, ("maintenance", "plans"), "plan")
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
    connectors = discover(MAINTENANCE_CONNECTORS)
    yield from _duplicates(section.requests, ("maintenance", "requests"), "request connector")
    for i, req in enumerate(section.requests):
        try:
            connector = connectors.get(req.connector)
        except PlantbusError as err:
            yield ("maintenance", "requests", i, "connector"), str(err)
            continue
        yield from _plugin_settings(connector, dict(req.settings), ("maintenance", "requests", i))


def _security(config: PlantConfig) -> Iterator[Finding]:
    yield from _duplicates(config.users, ("users",), "user")
    yield from _duplicates(config.roles, ("roles",), "role")
    roles = {r.name for r in config.roles} | {VIEWER}
    for i, user in enumerate(config.users):
        for ri, role in enumerate(user.roles):
            if role not in roles:
                yield ("users", i, "roles", ri), f"unknown role {role!r}"
    writable = {
        f"{d.machine}/{t.name}" for d in config.devices for t in d.tags if t.access == "read_write"
    }
    for i, policy in enumerate(config.write_policies):
        for ri, role in enumerate(policy.roles):
            if role not in roles:
                yield ("write_policies", i, "roles", ri), f"unknown role {role!r}"
        for ti, pattern in enumerate(policy.tags):
            if not any(fnmatch.fnmatchcase(path, pattern) for path in writable):
                yield (("write_policies", i, "tags", ti), f"{pattern!r} matches no read_write tag")


def _uns(config: PlantConfig) -> Iterator[Finding]:
    known = config.tag_paths() | config.machine_paths() | config.line_paths()
    known |= {f"{s.name}/{a.name}" for s in config.sites for a in s.areas}
    known |= {s.name for s in config.sites}
    for i, entry in enumerate(config.uns.publish):
        if entry.path not in known:
            yield (
                ("uns", "publish", i, "path"),
                (
                    f"unknown plant path {entry.path!r}: name a site, area, line or machine of "
                    "sites, or a tag of devices"
                ),
            )
    users = {u.name for u in config.users}
    for mqtt_user, user in config.uns.writers.items():
        if user not in users:
            yield ("uns", "writers", mqtt_user), f"unknown user {user!r} (not in users)"


def cross_check(config: PlantConfig) -> list[Finding]:
    """Every cross-reference problem in ``config`` as (location, message)."""
    checks = (
        _plant,
        _devices,
        _oee,
        _alerts,
        _alarm_management,
        _erp,
        _historian,
        _sparkplug,
        _security,
        _uns,
        _components,
        _monitors,
        _plans,
        _requests,
    )
    return [finding for check in checks for finding in check(config)]
