"""Suppression by design from the conditions the config states (pure): a machine state, a
tag's value, another alarm being active. Each input says whether some condition flipped;
:meth:`DesignSuppression.by` names the suppression that holds an alarm, if any."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from plantbus.config.alarms import Suppression, TagCondition
from plantbus.config.rules.base import number

__all__ = ["DesignSuppression"]


def _passes(test: TagCondition, value: object) -> bool:
    """Every test given holds: one of ``equals``, above ``above``, below ``below``."""
    x = number(value)
    if test.equals and not any(
        (x is not None and number(e) == x) or e == value for e in test.equals
    ):
        return False
    if test.above is not None and (x is None or x <= test.above):
        return False
    return test.below is None or (x is not None and x < test.below)


@dataclass
class DesignSuppression:
    """The configured suppressions and which of them hold now."""

    rules: Sequence[Suppression] = ()
    holding: dict[str, bool] = field(default_factory=dict)
    """Suppression name -> its condition holds."""
    targets: dict[str, frozenset[str]] = field(default_factory=dict)
    """Suppression name -> the alarm ids its patterns match."""
    tags: frozenset[str] = frozenset()
    """The tag paths a condition looks at."""

    def configure(self, rules: Sequence[Suppression], alarm_ids: Iterable[str]) -> None:
        """Take the suppressions of a config; conditions start false until an input says."""
        ids = list(alarm_ids)
        self.rules = rules
        self.holding = {r.name: self.holding.get(r.name, False) for r in rules}
        self.targets = {
            r.name: frozenset(i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in r.alarms))
            for r in rules
        }
        self.tags = frozenset(r.when.tag for r in rules if r.when.kind == "tag")

    def _flip(self, name: str, holds: bool) -> bool:
        changed = self.holding.get(name) != holds
        self.holding[name] = holds
        return changed

    def machine_state(self, machine: str, state: str) -> bool:
        """A machine's state; True when a condition flipped."""
        return any(
            [
                self._flip(r.name, state in r.when.states)
                for r in self.rules
                if r.when.kind == "machine_state" and r.when.machine == machine
            ]
        )

    def tag(self, path: str, value: object) -> bool:
        """A good sample of a tag; True when a condition flipped."""
        return any(
            [
                self._flip(r.name, _passes(r.when, value))
                for r in self.rules
                if r.when.kind == "tag" and r.when.tag == path
            ]
        )

    def alarm(self, alarm_id: str, active: bool) -> bool:
        """An alarm's condition; True when a condition flipped."""
        return any(
            [
                self._flip(r.name, active)
                for r in self.rules
                if r.when.kind == "alarm_active" and r.when.alarm == alarm_id
            ]
        )

    def by(self, alarm_id: str) -> str | None:
        """The first suppression that holds ``alarm_id`` now."""
        return next(
            (
                r.name
                for r in self.rules
                if self.holding[r.name] and alarm_id in self.targets[r.name]
            ),
            None,
        )
