"""Which sections of the plant config a process reads.

At 50,000 tags the device list is about 29 MB of validated objects and 10,000 alarm
rules another 14 MB; a service that uses neither held both, for nothing but its RSS
(docs/benchmarks.md, "Every service at 50,000 tags"). So each service names the
sections it uses (:attr:`plantbus.kit.service.Service.config_sections`), the runner
reads the union of its services' and the gate's (:data:`plantbus.kit.identity.GATE_SECTIONS`),
and every other section of the config it hands on is a :class:`Withheld` placeholder.

A placeholder is not an empty section: code that touches one fails loudly, naming the
section and the declaration to fix, instead of acting on a plant with no devices or
no rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from plantbus.config import PlantConfig
from plantbus.sdk.errors import ConfigError

__all__ = ["ALL", "SectionNotRead", "Withheld", "sections_of"]

ALL: frozenset[str] = frozenset(PlantConfig.model_fields)


class SectionNotRead(ConfigError, AttributeError):
    """Code used a config section its service does not declare (an AttributeError too,
    so ``getattr(section, name, default)`` probes still get their default)."""


class Withheld:
    """Stands for a config section this process does not read."""

    __slots__ = ("section",)

    def __init__(self, section: str) -> None:
        self.section = section

    def _refuse(self, *_: Any) -> NoReturn:
        raise SectionNotRead(
            f"the config section {self.section!r} is not read by this process: add it "
            "to the config_sections of the service that uses it"
        )

    __iter__ = __len__ = __bool__ = __contains__ = __getitem__ = _refuse

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._refuse()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Withheld) and other.section == self.section

    def __hash__(self) -> int:
        return hash(("withheld", self.section))

    def __repr__(self) -> str:
        return f"<config section {self.section!r} not read here>"


def sections_of(declared: Iterable[frozenset[str] | None]) -> frozenset[str]:
    """The union of ``declared`` (None: every section)."""
    out: set[str] = set()
    for sections in declared:
        out |= ALL if sections is None else sections
    return frozenset(out)
