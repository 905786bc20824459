"""Reading a plant-config YAML document the fast way: its data without the line of every
value (about twice as fast as :mod:`plantbus.config.yaml_reader`'s reader, which notes a
line per location). It reads plain scalars, lists and mappings only and gives up, with
:class:`Unusual`, at anything that reader reports or must locate; the caller then reads
the document again with it."""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Final

import yaml

from plantbus.config.yaml_lines import _TYPED_FIRST, NotPlain, PlainScalars, line_data
from plantbus.config.yaml_reader import _LOADER, _MERGE, _NO_KEY, _STR, Limits, _Reader, _Refused

__all__ = ["Scalars", "Unusual", "fast_data"]

_SCALAR = yaml.ScalarEvent
_MAPPING = yaml.MappingStartEvent
_SEQUENCE = yaml.SequenceStartEvent
_MAPPING_END = yaml.MappingEndEvent
_SEQUENCE_END = yaml.SequenceEndEvent


_ANY_FIRST: Final = None in _LOADER.yaml_implicit_resolvers or bool(_LOADER.yaml_path_resolvers)


class Unusual(Exception):
    """Something the fast reader leaves to the one that tracks lines (which reports it)."""


class Scalars:
    """What scalars resolve to, kept across the documents read with it (a plant's items
    repeat their keys and values: ``t0``..``t999`` in every device)."""

    def __init__(self, limits: Limits) -> None:
        self.reader = _Reader("", limits, [])
        self.plain: dict[str, str] = {}
        """The tag of a plain scalar, by its text."""
        self.lines = PlainScalars()
        """The line reader's, for the texts in its subset."""

    def tag(self, event: Any) -> str:
        """The tag of a plain scalar ``event``."""
        raw: str = event.value
        if raw and raw[0] not in _TYPED_FIRST and not _ANY_FIRST:
            return _STR
        tag = self.plain.get(raw)
        if tag is None:
            tag = self.plain[raw] = self.reader._resolve(event)
        return tag


def fast_data(text: str, limits: Limits, scalars: Scalars | None = None) -> Any:
    """The data of ``text`` without lines: plain scalars, lists and mappings only. Raises
    Unusual at anything that :class:`_Reader` would report or must locate (an alias, a
    tag, a duplicate key, a ``${VAR}``, a second document, too deep), or yaml.YAMLError.
    A text in the plain subset of :mod:`plantbus.config.yaml_lines` is read line by line,
    without the parser (four times faster)."""
    scalars = scalars or Scalars(limits)
    with suppress(NotPlain):
        return line_data(text, limits, scalars.lines)
    reader, plain_tag = scalars.reader, scalars.tag
    loader = reader.loader = _LOADER(text)
    check, get = loader.check_event, loader.get_event
    stack: list[tuple[Any, bool, Any]] = []  # (container, is a mapping, its key) above top
    top: Any = None  # the open container, its kind and its pending key: locals, per event
    mapping, key = False, _NO_KEY
    root: Any = _NO_KEY
    documents = 0
    try:
        while check():
            event = get()  # type: ignore[no-untyped-call]
            kind = type(event)
            if kind is _SCALAR:
                raw = event.value
                if event.anchor is not None or event.tag is not None or "${" in raw:
                    raise Unusual
                tag = plain_tag(event) if event.implicit[0] else _STR  # quoted: text
                value: Any = raw if tag == _STR else reader._scalar(event, ())
                if mapping and key is _NO_KEY:
                    if tag == _MERGE or value in top:
                        raise Unusual
                    key = value
                    continue
            elif kind is _MAPPING or kind is _SEQUENCE:
                if event.anchor is not None or event.tag is not None:
                    raise Unusual
                if mapping and key is _NO_KEY:
                    raise Unusual  # a list or mapping as a key
                value = {} if kind is _MAPPING else []
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                top, mapping, key = stack.pop()
                continue
            elif kind is yaml.AliasEvent or (kind is yaml.DocumentStartEvent and documents):
                raise Unusual  # an alias, or a second document
            else:
                documents += kind is yaml.DocumentStartEvent
                continue  # stream and document start and end
            if top is None:
                root = value
            elif mapping:
                top[key] = value
                key = _NO_KEY
            else:
                top.append(value)
            if kind is not _SCALAR:
                if len(stack) >= limits.max_depth:
                    raise Unusual
                stack.append((top, mapping, key))
                top, mapping, key = value, kind is _MAPPING, _NO_KEY
    except _Refused:  # a scalar that cannot be read as its type
        raise Unusual from None
    finally:
        loader.dispose()
    return None if root is _NO_KEY else root
