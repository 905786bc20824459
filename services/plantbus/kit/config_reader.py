"""Reading stored config versions into validated models, reusing what was read before.

A :class:`VersionReader` keeps the validated sections and pieces of the last version it
read. The next version's manifest names its pieces (:mod:`plantbus.kit.config_pieces`):
only pieces it has not seen are fetched and validated, every other section, device and
tag is the very object of the previous version. It says what changed
(:class:`ConfigChange`): the sections, and the devices added, removed or changed. A
format-1 document (the whole config inline) is validated whole, as before. A reader
given ``sections`` fetches and validates only those; the others are
:class:`~plantbus.kit.config_sections.Withheld` in the configs it returns.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, get_origin

from nats.js.kv import KeyValue
from pydantic import TypeAdapter

from plantbus.config import PlantConfig
from plantbus.config.devices import Device, Tag, sharing
from plantbus.config.loader import gc_paused
from plantbus.kit import config_pieces
from plantbus.kit.config_sections import ALL, Withheld
from plantbus.sdk.errors import ConfigError

__all__ = ["ConfigChange", "VersionReader"]

_SECTIONS = tuple(PlantConfig.model_fields)


def _withheld(sections: frozenset[str]) -> dict[str, Withheld]:
    """A placeholder for every section outside ``sections``."""
    return {s: Withheld(s) for s in ALL - sections}


@dataclass(frozen=True)
class ConfigChange:
    """A version and what differs from the one before it (everything for the first)."""

    version: int
    config: PlantConfig
    sections: frozenset[str]
    """Top-level sections that changed."""
    devices: frozenset[str]
    """Names of the devices added, removed or changed."""


@dataclass(frozen=True)
class _Tail:
    """The continuation of a device cut in parts: more of its tags."""

    device: str
    tags: list[Tag]


@cache
def _adapter(section: str) -> tuple[TypeAdapter[Any], bool]:
    """The validator of one item of a list section (True) or of a whole section (False)."""
    annotation = PlantConfig.model_fields[section].annotation
    if get_origin(annotation) is list:
        return TypeAdapter(get_args(annotation)[0]), True
    return TypeAdapter(annotation), False


def _validate_piece(section: str, value: Any) -> Any:
    adapter, listed = _adapter(section)
    if not listed:
        return adapter.validate_python(value)
    tags = _adapter_tags()
    return [
        _Tail(item["part_of"], [tags.validate_python(t) for t in item["tags"]])
        if isinstance(item, dict) and "part_of" in item
        else adapter.validate_python(item)
        for item in value
    ]


@cache
def _adapter_tags() -> TypeAdapter[Tag]:
    return TypeAdapter(Tag)


def _join(items: list[list[Any]]) -> list[Any]:
    out: list[Any] = []
    for chunk in items:
        for item in chunk:
            if isinstance(item, _Tail):
                head = out[-1]
                out[-1] = head.model_copy(update={"tags": [*head.tags, *item.tags]})
            else:
                out.append(item)
    return out


def _shared(devices: list[Device], before: list[Device]) -> list[Device]:
    """``devices`` holding the very objects of ``before`` that equal theirs (a device, or
    the tags of a changed one): a plant re-applied with a setting of every device changed
    (a poll interval) keeps its tags instead of holding two plants' at once, whose
    objects interleaved in the heap kept the process's memory up after each apply."""
    old = {d.name: d for d in before}
    return [sharing(d, old.get(d.name)) for d in devices]


def _changed_devices(old: list[Device], new: list[Device]) -> frozenset[str]:
    before = {d.name: d for d in old}
    after = {d.name: d for d in new}
    changed = {n for n, d in after.items() if before.get(n) is not d and before.get(n) != d}
    return frozenset(changed | (before.keys() - after.keys()))


class _Pool:
    """Validated pieces shared by the readers of one process and bus (a runner's watch and
    governance's store): one copy of a 100,000-tag plant instead of one per reader. Keeps
    the pieces some live reader holds."""

    def __init__(self) -> None:
        self.pieces: dict[tuple[str, str], Any] = {}
        self.held: weakref.WeakKeyDictionary[VersionReader, set[tuple[str, str]]] = (
            weakref.WeakKeyDictionary()
        )

    def hold(self, reader: VersionReader, keys: set[tuple[str, str]]) -> None:
        self.held[reader] = keys
        live = set().union(*self.held.values())
        self.pieces = {k: v for k, v in self.pieces.items() if k in live}


_POOLS: weakref.WeakKeyDictionary[Any, _Pool] = weakref.WeakKeyDictionary()


class VersionReader:
    """Turns stored documents into :class:`ConfigChange`, one version after another.
    Readers given the same ``share`` (the bus) share the validated pieces; ``sections``:
    the ones to read (default every one)."""

    def __init__(self, kv: KeyValue, share: Any = None, sections: frozenset[str] = ALL) -> None:
        self.kv = kv
        self.sections = sections
        self._read = tuple(s for s in _SECTIONS if s in sections)
        self.config: PlantConfig | None = None
        self._ids: dict[str, tuple[str, ...]] = {}
        self._pool = _Pool() if share is None else _POOLS.setdefault(share, _Pool())

    async def read(self, doc: dict[str, Any]) -> ConfigChange:
        """The version in ``doc`` (signature already checked); ValidationError or
        ConfigError when it cannot be read."""
        with gc_paused():
            if config_pieces.is_manifest(doc):
                config, sections = await self._assemble(doc["pieces"])
            else:
                whole = doc["config"]
                if not isinstance(whole, dict):
                    raise ConfigError("the config document's 'config' is not a mapping")
                read = {k: v for k, v in whole.items() if k in self.sections or k not in ALL}
                config = PlantConfig.model_validate(read).model_copy(
                    update=_withheld(self.sections)
                )
                self._ids = {}
                self._pool.hold(self, set())
                sections = {s for s in self._read if self._differs(config, s)}
        old = self.config.devices if self.config else []
        devices = _changed_devices(old, config.devices) if "devices" in sections else frozenset()
        self.config = config
        return ConfigChange(int(doc["version"]), config, frozenset(sections), devices)

    def remember(
        self, pieces: dict[str, list[str]], config: PlantConfig, data: dict[str, Any]
    ) -> None:
        """Hold ``config``'s own objects as the validated values of its ``pieces`` (cut
        from its JSON ``data``) that the pool lacks: governance validated them already, so
        reading the version back in this process validates nothing again, and keeps one
        copy. Pieces the pool holds keep their objects (what is unchanged stays identical).
        This reader holds them until its next read: another reader of the process that
        reads fewer sections (governance's runner reads only its gate's) would otherwise
        drop them from the pool before this one reads the version back."""
        pool = self._pool.pieces
        kept: set[tuple[str, str]] = set()
        for section, ids in pieces.items():
            value = getattr(config, section)
            if not _adapter(section)[1]:
                pool.setdefault((section, ids[0]), value)
                kept.add((section, ids[0]))
                continue
            sizes = config_pieces.counts(section, data[section])
            if sizes is None:
                continue  # a device cut in parts: read back as stored
            start = 0
            for piece, size in zip(ids, sizes, strict=True):
                pool.setdefault((section, piece), value[start : start + size])
                kept.add((section, piece))
                start += size
        self._pool.hold(self, self._pool.held.get(self, set()) | kept)

    def _differs(self, config: PlantConfig, section: str) -> bool:
        return self.config is None or getattr(self.config, section) != getattr(config, section)

    async def _assemble(self, pieces: dict[str, list[str]]) -> tuple[PlantConfig, set[str]]:
        unknown = sorted(set(pieces) - set(_SECTIONS))
        if unknown:
            raise ConfigError(f"config sections {unknown} are unknown to this service (older?)")
        ids = {s: tuple(pieces.get(s, ())) for s in self._read}
        changed = {s for s in self._read if ids[s] != self._ids.get(s) or self.config is None}
        pool = self._pool.pieces
        missing = [p for s in changed for p in ids[s] if (s, p) not in pool]
        stored = await config_pieces.fetch_raw(self.kv, missing)
        for s in changed:
            for p in ids[s]:
                if (s, p) not in pool:  # one piece's JSON alive at a time
                    pool[(s, p)] = _validate_piece(s, config_pieces.decode(p, stored[p]))
        values: dict[str, Any] = _withheld(self.sections)
        for s in self._read:
            if not ids[s]:
                continue
            if _adapter(s)[1]:
                values[s] = _join([pool[(s, p)] for p in ids[s]])
                if s == "devices" and s in changed and self.config is not None:
                    values[s] = _shared(values[s], self.config.devices)
            else:
                values[s] = pool[(s, ids[s][0])]
        config = PlantConfig.model_construct(**values)
        self._ids = ids
        self._pool.hold(self, {(s, p) for s in self._read for p in ids[s]})
        return config, {s for s in changed if self._differs(config, s)}
