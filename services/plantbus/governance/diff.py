"""A readable diff between two configs, proportional to what changed.

Structural, not a line diff of the whole document: sections that are equal are skipped,
items of a list (devices, tags, rules...) are matched by their name and only the ones
added, removed or changed are shown, each under a ``@@ path @@`` header, as YAML lines
marked ``-`` and ``+``. Governance hands it only the sections whose pieces changed
(:mod:`plantbus.kit.config_pieces`), so changing one tag of 100,000 costs one device.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, Final

import yaml

from plantbus.config import PlantConfig

__all__ = ["config_diff", "dump", "sections_diff", "to_yaml"]

_DUMPER: Final = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_KEYS: Final = ("name", "machine", "path")
"""What identifies an item of a list, the first that every item has."""
_ABSENT: Final = object()
MAX_LINES: Final = 5000
"""A diff is cut here: past it nobody reads, and each line costs governance time."""
_BIG_ITEM: Final = 200
"""An item added or removed with a list longer than this shows its length instead."""


def dump(config: PlantConfig) -> dict[str, Any]:
    """The config's JSON without default values, sections in model order (what is stored)."""
    return config.model_dump(mode="json", exclude_defaults=True)


def _yaml(value: Any) -> list[str]:
    text = yaml.dump(value, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    return text.splitlines()


def _yaml_lines(value: Any) -> Iterator[str]:
    """The lines of :func:`_yaml`, dumped item by item, so that a section shown whole (a
    first apply's 50,000 tags) is never all in YAML at once, and the diff stops dumping at
    its limit. The items of a block list and the keys of a block mapping read the same
    alone as together, and so does a list under its key when that key is written
    ``key:`` (checked per key)."""
    if isinstance(value, list) and value:
        for item in value:
            yield from _yaml([item])
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            if isinstance(item, list) and item and _yaml({key: [0]}) == [f"{key}:", "- 0"]:
                yield f"{key}:"
                yield from _yaml_lines(item)
            else:
                yield from _yaml({key: item})
    else:
        yield from _yaml(value)


def to_yaml(config: PlantConfig | None) -> str:
    """The config as YAML without default values, sections in model order."""
    if config is None:
        return ""
    return yaml.dump(dump(config), Dumper=_DUMPER, sort_keys=False, allow_unicode=True)


def _key(items: list[Any]) -> str | None:
    """The field that names every item of ``items`` uniquely, if one does."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _KEYS:
        names = [i.get(key) for i in items]
        if None not in names and len(set(map(str, names))) == len(names):
            return key
    return None


def _marked(sign: str, lines: Iterable[str]) -> Iterator[str]:
    return (f"{sign}{line}\n" for line in lines)


def _lines(path: str, old: Any, new: Any) -> Iterator[str]:
    """The hunk of one value that cannot be compared item by item."""
    yield f"@@ {path} @@\n"
    if old is _ABSENT or new is _ABSENT:
        yield from _marked("-", [] if old is _ABSENT else _yaml_lines(old))
        yield from _marked("+", [] if new is _ABSENT else _yaml_lines(new))
        return
    body = difflib.unified_diff(_yaml(old), _yaml(new), lineterm="", n=2)
    yield from (f"{line}\n" for line in list(body)[2:] if not line.startswith("@@"))


def _shown(item: Any) -> Any:
    """An added or removed item as it is shown: a long list of it (a device's thousand
    tags) as its length in a comment."""
    if not isinstance(item, dict):
        return item
    out = {k: v for k, v in item.items() if not (isinstance(v, list) and len(v) > _BIG_ITEM)}
    return out, [f"  {k}: [...]  # {len(v):,} items" for k, v in item.items() if k not in out]


def _whole(sign: str, item: Any) -> Iterator[str]:
    shown = _shown(item)
    if isinstance(shown, tuple):
        yield from _marked(sign, [*_yaml([shown[0]]), *shown[1]])
    else:
        yield from _marked(sign, _yaml([shown]))


def _items(path: str, old: list[Any], new: list[Any], key: str) -> Iterator[str]:
    before = {str(i[key]): i for i in old}
    after = {str(i[key]): i for i in new}
    for name, item in after.items():
        if name not in before:
            yield f"@@ {path}: {key} {name} added @@\n"
            yield from _whole("+", item)
        elif before[name] != item:
            yield from _value(f"{path}[{name}]", before[name], item)
    for name, item in before.items():
        if name not in after:
            yield f"@@ {path}: {key} {name} removed @@\n"
            yield from _whole("-", item)


def _list_key(old: list[Any], new: list[Any]) -> str | None:
    """The key both lists' items are matched by, if they can be."""
    key = _key(old or new)
    return key if key and (not old or not new or _key(new) == key) else None


def _nested(old: Any, new: Any) -> bool:
    """True when ``old`` and ``new`` are compared field by field or item by item."""
    if isinstance(old, dict) and isinstance(new, dict):
        return True
    return isinstance(old, list) and isinstance(new, list) and _list_key(old, new) is not None


def _fields(path: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    plain_old: dict[str, Any] = {}
    plain_new: dict[str, Any] = {}
    nested: list[str] = []
    for field in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(field, _ABSENT), new.get(field, _ABSENT)
        if was == now:
            continue
        if _nested(was, now):
            nested.append(field)
            continue
        if was is not _ABSENT:
            plain_old[field] = was
        if now is not _ABSENT:
            plain_new[field] = now
    if plain_old or plain_new:
        yield f"@@ {path} @@\n"
        named = next((k for k in _KEYS if k in new), None)
        if named:  # as the item reads in YAML: its name, then the changed fields
            yield f" - {named}: {new[named]}\n"
        indent = "  " if named else ""
        yield from _marked(f"-{indent}", _yaml(plain_old) if plain_old else [])
        yield from _marked(f"+{indent}", _yaml(plain_new) if plain_new else [])
    for field in nested:
        yield from _value(f"{path}.{field}", old[field], new[field])


def _value(path: str, old: Any, new: Any) -> Iterator[str]:
    if old == new:
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _list_key(old, new)
        if key:
            yield from _items(path, old, new, key)
            return
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _fields(path, old, new)
        return
    yield from _lines(path, old, new)


def sections_diff(
    old: Mapping[str, Any], new: Mapping[str, Any], old_label: str, new_label: str
) -> str:
    """The diff of two configs' JSON (section -> value; a section missing on one side is
    absent there), '' when they are equal."""
    order = [*new, *(s for s in old if s not in new)]
    lines = (
        line
        for section in order
        for line in _value(section, old.get(section, _ABSENT), new.get(section, _ABSENT))
    )
    hunks = list(islice(lines, MAX_LINES + 1))
    if len(hunks) > MAX_LINES:
        hunks[MAX_LINES:] = [f"@@ diff cut at {MAX_LINES:,} lines: see plantbus config show @@\n"]
    return f"--- {old_label}\n+++ {new_label}\n" + "".join(hunks) if hunks else ""


def config_diff(old: PlantConfig | None, new: PlantConfig, old_label: str, new_label: str) -> str:
    """The diff from ``old`` to ``new`` ('' when they are equal)."""
    return sections_diff(dump(old) if old else {}, dump(new), old_label, new_label)
