"""A config as governance stores it: its JSON and the pieces that JSON is cut in
(:mod:`plantbus.kit.config_pieces`), made once per apply and shared by the diff, the
store and the reader that reads the version back."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from plantbus.config import PlantConfig
from plantbus.governance.diff import dump
from plantbus.kit import config_pieces

__all__ = ["Cut", "Pieces"]

Pieces = dict[str, list[tuple[str, bytes]]]
"""A config's pieces: section -> [(piece id, bytes)] (config_pieces.split)."""


@dataclass(frozen=True)
class Cut:
    """A config as it is stored: its JSON without defaults, and that cut in pieces."""

    data: dict[str, Any]
    pieces: Pieces

    @classmethod
    def of(cls, config: PlantConfig) -> Cut:
        data = dump(config)
        return cls(data, config_pieces.split(data))

    @property
    def ids(self) -> dict[str, list[str]]:
        """The manifest's ``pieces``: section -> piece ids."""
        return {section: [p for p, _ in values] for section, values in self.pieces.items()}

    def values(self, section: str) -> dict[str, Any]:
        """The JSON value of each piece of ``section``, taken from ``data`` (decoded from
        the bytes only where a device is cut in parts)."""
        raws = self.pieces.get(section, [])
        value = self.data.get(section)
        if not isinstance(value, list):
            return {p: value for p, _ in raws}
        sizes = config_pieces.counts(section, value)
        if sizes is None:
            return {p: config_pieces.decode(p, raw) for p, raw in raws}
        ends = list(accumulate(sizes))
        return {p: value[end - n : end] for (p, _), n, end in zip(raws, sizes, ends, strict=True)}
