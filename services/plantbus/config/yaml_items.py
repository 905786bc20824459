"""Cutting a plant-config document into the items of its top-level lists (a device, a
rule...) by their text, so that a loader which kept what it validated last time reads and
validates again only the items whose text changed (:class:`ItemCache`): governance
applying a plant of 100,000 tags where one tag changed reads one device.

Only a plain block layout is cut: a top-level ``key:`` alone on its line, followed by
``- `` items at one indentation, each item every line up to the next one, until the next
top-level key. An item is read alone as a one-item list (the same lines at the same
columns: block YAML does not look back past the start of a line at the list's
indentation, and an item left open, a quote or a bracket, fails to read alone). Anything
else (a tab, an unusual line break, a line between the two indentations, an item that
does not read alone as exactly one item) is not cut: the caller reads the document whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from plantbus.config.yaml_fast import Scalars, fast_data
from plantbus.config.yaml_reader import Limits

__all__ = ["ItemCache", "ItemKey", "Layout", "NotCut", "cut", "read_items"]

_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:")
_EMPTY_KEY: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):[ ]*(#.*)?")
"""A top-level key with nothing after it but a comment: its value is on the next lines."""
_ODD_BREAKS: Final = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""Line breaks YAML (or str.splitlines) reads where this cutting would not."""


ItemKey = tuple[str, bytes]
"""An item's section and the hash of its text."""


class NotCut(Exception):
    """The document's layout is not one this module cuts: read it whole."""


@dataclass(frozen=True)
class Layout:
    """A document without the items of its top-level lists, and those items' text."""

    skeleton: str
    """The document with every cut list's key left without a value."""
    items: dict[str, list[str]] = field(default_factory=dict)


def _indent(line: str) -> int:
    body = line.lstrip(" ")
    if body.startswith("\t"):
        raise NotCut
    return len(line) - len(body)


def _blank(line: str) -> bool:
    body = line.strip(" ")
    return not body or body.startswith("#")


def cut(text: str) -> Layout:
    """The layout of ``text`` (no byte-order mark); NotCut when it is not a plain one."""
    if _ODD_BREAKS.search(text):
        raise NotCut
    lines = text.split("\n")
    skeleton: list[str] = []
    items: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        key = _EMPTY_KEY.fullmatch(lines[i])
        first = i + 1
        while key and first < len(lines) and _blank(lines[first]):
            first += 1
        if key is None or first == len(lines) or not lines[first].lstrip(" ").startswith("- "):
            skeleton.append(lines[i])
            i += 1
            continue
        if key.group(1) in items:
            raise NotCut  # a key twice: read whole, which reports it
        skeleton.extend(lines[i:first])
        i = _items(lines, first, items.setdefault(key.group(1), []))
    return Layout("\n".join(skeleton), items)


def _items(lines: list[str], start: int, out: list[str]) -> int:
    """Append the text of each item of the list that starts at ``lines[start]``; the
    index of the line after it."""
    indent = _indent(lines[start])
    deeper = " " * (indent + 1)  # most lines: inside an item
    begun = start
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if line.startswith(deeper) or _blank(line):
            i += 1
            continue
        column = _indent(line)
        if column == indent and line[column:].startswith("- "):
            out.append("\n".join(lines[begun:i]) + "\n")
            begun = i
        elif column <= indent:
            if column != 0 or line.startswith("- ") or not _KEY.match(line):
                raise NotCut  # only a top-level key ends a cut list
            break
        i += 1
    out.append("\n".join(lines[begun:i]) + ("\n" if i < len(lines) else ""))
    return i


def read_items(
    layout: Layout, limits: Limits, cache: ItemCache, validate: Callable[[str, Any], Any]
) -> tuple[Any, list[ItemKey]]:
    """The document's data with each list item either the object ``cache`` kept for its
    text or the item read now and passed through ``validate(section, item)`` at once
    (what it read is garbage before the next item is read), and the key of each item
    (:meth:`ItemCache.key`) in order. Raises what :func:`fast_data` and ``validate`` raise (the
    caller then reads the document whole), NotCut when the pieces do not add up."""
    scalars = Scalars(limits)
    data = fast_data(layout.skeleton, limits, scalars)
    inner = replace(limits, max_depth=limits.max_depth - 1)  # an item sits in the top mapping
    keys: list[ItemKey] = []
    for section, texts in layout.items.items():
        if not isinstance(data, dict) or data.get(section, False) is not None:
            raise NotCut
        values: list[Any] = []
        for text in texts:
            key = ItemCache.key(section, text)
            kept = cache.get(key)
            if kept is None:
                read = fast_data(text, inner, scalars)
                if not isinstance(read, list) or len(read) != 1:
                    raise NotCut
                kept = validate(section, read[0])
            values.append(kept)
            keys.append(key)
        data[section] = values
    return data, keys


class ItemCache:
    """The validated list items of the last config loaded with it, by the hash of their
    text (the texts of a 100,000-tag plant are 6 MB)."""

    def __init__(self) -> None:
        self._items: dict[ItemKey, Any] = {}

    @staticmethod
    def key(section: str, text: str) -> ItemKey:
        """The key of the item of ``section`` written ``text``."""
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20)
        return section, digest.digest()

    def get(self, key: ItemKey) -> Any:
        """The validated item kept for ``key``, or None."""
        return self._items.get(key)

    def section(self, section: str) -> list[Any]:
        """The validated items kept of ``section``."""
        return [item for (kept, _), item in self._items.items() if kept == section]

    def keep(self, items: dict[ItemKey, Any]) -> None:
        """Keep these items (key -> validated object), and only these. The keys kept
        before stay the very objects they were: a load makes every key anew, and
        thousands of small new objects that live on, scattered among what the load
        freed, would hold that memory."""
        for key in self._items.keys() - items.keys():
            del self._items[key]
        self._items.update(items)
