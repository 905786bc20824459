"""Checks of the OEE mappings, their reasons and the shift calendars."""

from __future__ import annotations

from collections.abc import Iterator

from plantbus.config.checks.common import Finding, Loc
from plantbus.config.model import PlantConfig
from plantbus.config.oee import OeeMapping, ReasonNode

__all__ = ["oee"]


def oee(config: PlantConfig) -> Iterator[Finding]:
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
