"""Reading the plain block subset of YAML that plant configs are written in, line by line,
without the parser's events (libyaml's event objects were most of the cost of reading a
100,000-tag plant).

The subset: block mappings of ``key: value`` lines and block lists of ``- value`` items
(a list may sit at its key's indentation), each value a plain scalar, a single- or
double-quoted one on its line, or a one-line flow mapping or list of plain scalars
(``{name: t0, scale: 1.0}``); keys are plain names that read as text; full-line comments
and blank lines. A plain scalar is typed by PyYAML's own resolver and constructors, so a
value reads as ``yaml.safe_load`` reads it. At anything else (a tab, an anchor, a tag, a
block or multi-line scalar, a comment after a value, a duplicate key, ``${VAR}``, a
character the YAML reader refuses, too deep...) it gives up with :class:`NotPlain` and
the caller reads the text with the event reader, which reports what is to be reported.
"""

from __future__ import annotations

import re
from typing import Any, Final

import yaml

from plantbus.config.yaml_reader import _LOADER, _STR, Limits

__all__ = ["NotPlain", "PlainScalars", "line_data"]

_WIDE: Final = "\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
"""Printable characters beyond ASCII, without the line breaks \\x85, \\u2028, \\u2029 and
the byte-order mark."""
_REFUSED: Final = re.compile(f"[^\n\x20-\x7e{_WIDE}]")
"""A tab, a carriage return, an odd line break or a character that YAML refuses."""
_ASCII: Final = bytes([10, *range(0x20, 0x7F)])
"""The ASCII characters not refused."""
_FIRST: Final = rf"(?:[A-Za-z0-9_.~+/();^$\\{_WIDE}]|-(?=[^ ]))"
"""How a plain scalar may start here (not with an indicator: ``- ? : , [ ] { } # & * ! |
> ' " % @ `` or ``<`` ``=``; ``-`` only before a character that is not a space)."""
_BLOCK_PLAIN: Final = re.compile(f"{_FIRST}[ \x21-\x7e{_WIDE}]*")
_FLOW_PLAIN: Final = re.compile(rf"{_FIRST}[- A-Za-z0-9_.~+/();^$\\={_WIDE}]*")
_NAME: Final = r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}"
_KEY: Final = re.compile(rf"({_NAME}):(?: +(.*))?")
_PLAIN_NAME: Final = re.compile(_NAME)
_SINGLE: Final = re.compile(f"'((?:[ \x21-\x26\x28-\x7e{_WIDE}]|'')*)' *")
_DOUBLE: Final = re.compile(
    f'"((?:[ \x21\x23-\x5b\x5d-\x7e{_WIDE}]'
    r'|\\[0abtnvfre "\\N_LP]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})*)" *'
)
_ESCAPE: Final = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))")
_ESCAPES: Final = dict(
    zip('0abtnvfre "\\N_LP', '\0\a\b\t\n\v\f\r\x1b "\\\x85\xa0\u2028\u2029', strict=True)
)
_MISSING: Final = object()
_TYPED_FIRST: Final = frozenset(k for k in _LOADER.yaml_implicit_resolvers if k)
"""First characters of a plain scalar that may read as something else than text (a
number, a boolean, null...): any other one is text without trying the resolver."""


class NotPlain(Exception):
    """The text is not in the subset read here: read it with the event reader."""


class PlainScalars:
    """What the plain scalars and keys of the texts read with it resolve to (a plant's
    items repeat them: ``t0``..``t999``, ``float64`` in every device)."""

    def __init__(self) -> None:
        self._loader = _LOADER("")  # for its resolver and constructors only
        self._block: dict[str, Any] = {}
        self._flow: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        self.pairs: dict[str, tuple[str, Any]] = {}
        """``key: plain`` inside a flow mapping, read: see :meth:`pair`."""

    def key(self, text: str) -> str:
        """A mapping key: a plain name that reads as text."""
        key = self._keys.get(text)
        if key is None:
            if _PLAIN_NAME.fullmatch(text) is None or self._typed(text) is not text:
                raise NotPlain  # 3:, yes:, null: ... keys that are not text
            key = self._keys[text] = text
        return key

    def block(self, text: str) -> Any:
        """A plain scalar in block context, trailing spaces included."""
        value = self._block.get(text, _MISSING)
        if value is _MISSING:
            plain = text.rstrip(" ")
            if not _BLOCK_PLAIN.fullmatch(plain) or " #" in plain or ": " in plain:
                raise NotPlain
            if plain.endswith(":"):
                raise NotPlain
            value = self._block[text] = self._typed(plain)
        return value

    def flow(self, text: str) -> Any:
        """A plain scalar inside a flow collection (no spaces around it)."""
        value = self._flow.get(text, _MISSING)
        if value is _MISSING:
            value = self._flow[text] = self._typed_flow(text)
        return value

    def _typed_flow(self, text: str) -> Any:
        if not _FLOW_PLAIN.fullmatch(text) or text.endswith(" "):
            raise NotPlain
        return self._typed(text)

    def pair(self, text: str) -> tuple[str, Any]:
        """``key: plain`` inside a flow mapping."""
        pair = self.pairs.get(text)
        if pair is None:
            name, colon, value = text.partition(": ")
            if not colon:
                raise NotPlain
            pair = self.pairs[text] = (self.key(name), self._typed_flow(value))
        return pair

    def _typed(self, text: str) -> Any:
        if text[0] not in _TYPED_FIRST:
            return text
        loader = self._loader
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if tag == _STR:
            return text
        construct = loader.yaml_constructors.get(tag)
        if construct is None:
            raise NotPlain  # e.g. the merge key <<, the value key =
        try:
            return construct(loader, yaml.ScalarNode(tag, text))
        except (ValueError, OverflowError, yaml.YAMLError):  # e.g. the date 2024-13-45
            raise NotPlain from None


def _double(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2) or match.group(3)
        if code is None:
            return _ESCAPES[match.group(4)]
        point = int(code, 16)
        if 0xD800 <= point <= 0xDFFF or point > 0x10FFFF:
            raise NotPlain  # the two YAML readers disagree on these
        return chr(point)

    text = _ESCAPE.sub(one, body) if "\\" in body else body
    if "${" in text:
        raise NotPlain
    return text


def _refused(text: str) -> bool:
    """Whether ``text`` holds a character refused here (ASCII: 10 times faster than the
    regular expression)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _ASCII))
    return _REFUSED.search(text) is not None


def line_data(text: str, limits: Limits, scalars: PlainScalars) -> Any:
    """The data of ``text`` (no byte-order mark) if it is in the plain subset, exactly
    as yaml.safe_load reads it; NotPlain if it is not."""
    if "${" in text or _refused(text):
        raise NotPlain
    rows: list[tuple[int, str]] = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        if body and body[0] != "#":
            rows.append((len(line) - len(body), body))
    if not rows:
        return None
    reader = _Rows(rows, scalars, limits.max_depth - 1)
    data, end = reader.block(0, rows[0][0], 1)
    if end != len(rows):
        raise NotPlain
    return data


class _Rows:
    """The content lines of a text as (indentation, the rest), read as block nodes."""

    def __init__(self, rows: list[tuple[int, str]], scalars: PlainScalars, depth: int) -> None:
        self.rows = rows
        self.scalars = scalars
        self.depth = depth
        """How many lists and mappings may be open at once."""

    def block(self, i: int, indent: int, depth: int) -> tuple[Any, int]:
        """The mapping or list whose first line is ``rows[i]``, at ``indent``; the index
        of the line after it."""
        if depth > self.depth:
            raise NotPlain
        body = self.rows[i][1]
        if body.startswith("- "):
            return self.sequence(i, indent, depth)
        return self.mapping(i, indent, depth, None)

    def sequence(self, i: int, indent: int, depth: int) -> tuple[list[Any], int]:
        rows, out, flow, end = self.rows, [], self.flow, len(self.rows)
        while i < end:
            column, body = rows[i]
            if column != indent or body[:2] != "- ":
                if column > indent:
                    raise NotPlain  # a scalar going on, or a line out of place
                break  # the end of the list (one at its key's indentation, too)
            rest = body[2:]
            first = rest[:1]
            if first == "{":  # a plant's tags: one item a line
                out.append(flow(rest, depth + 1))
                i += 1
                continue
            if not first or first == " ":
                raise NotPlain
            entry = None if first in "['\"" else _KEY.fullmatch(rest)
            if entry is None:
                out.append(self.value(rest, depth))
                i += 1
            else:
                value, i = self.mapping(i, indent + 2, depth + 1, entry)
                out.append(value)
        return out, i

    def mapping(
        self, i: int, indent: int, depth: int, entry: re.Match[str] | None
    ) -> tuple[dict[str, Any], int]:
        """A mapping at ``indent``; ``entry`` its first key when it begins on a list
        item's line (``- key: value``)."""
        if depth > self.depth:
            raise NotPlain
        rows, out = self.rows, {}
        while i < len(rows):
            if entry is None:
                column, body = rows[i]
                if column < indent:
                    break
                entry = _KEY.fullmatch(body)
                if column > indent or entry is None:
                    raise NotPlain  # a scalar going on, a list item here, not a key...
            key = self.scalars.key(entry.group(1))
            if key in out:
                raise NotPlain  # the event reader reports it, with both lines
            text, entry = entry.group(2), None
            i += 1
            if text:
                out[key] = self.value(text, depth)
            elif i < len(rows) and (
                rows[i][0] > indent or (rows[i][0] == indent and rows[i][1].startswith("- "))
            ):
                out[key], i = self.block(i, rows[i][0], depth + 1)
            else:
                out[key] = None
        return out, i

    def value(self, text: str, depth: int) -> Any:
        """A value on its line: a scalar or a one-line flow collection."""
        first = text[0]
        if first in "{[":
            return self.flow(text, depth + 1)
        if first == "'":
            match = _SINGLE.fullmatch(text)
            if match is None:
                raise NotPlain
            return match.group(1).replace("''", "'")
        if first == '"':
            match = _DOUBLE.fullmatch(text)
            if match is None:
                raise NotPlain
            return _double(match.group(1))
        return self.scalars.block(text)

    def flow(self, text: str, depth: int) -> Any:
        """``{key: plain, ...}`` or ``[plain, ...]`` on one line, nothing nested."""
        text = text.rstrip(" ")
        if depth > self.depth or text[-1] != ("}" if text[0] == "{" else "]"):
            raise NotPlain
        body = text[1:-1].strip(" ")
        parts = body.split(", ") if body else []
        if text[0] == "[":
            return list(map(self.scalars.flow, parts))
        out = dict(map(self.scalars.pair, parts))
        if len(out) != len(parts):
            raise NotPlain  # a duplicate key
        return out
