"""Reading a plant-config YAML document the fast way: its data without the line of every
value (about twice as fast as :mod:`plantbus.config.yaml_reader`'s reader, which notes a
line per location). It reads plain scalars, lists and mappings only and gives up, with
:class:`Unusual`, at anything that reader reports or must locate; the caller then reads
the document again with it."""

from __future__ import annotations

from typing import Any

import yaml

from plantbus.config.yaml_reader import _LOADER, _MERGE, _NO_KEY, _STR, Limits, _Reader, _Refused

__all__ = ["Unusual", "fast_data"]


class Unusual(Exception):
    """Something the fast reader leaves to the one that tracks lines (which reports it)."""


def fast_data(text: str, limits: Limits) -> Any:
    """The data of ``text`` without lines: plain scalars, lists and mappings only. Raises
    Unusual at anything that :class:`_Reader` would report or must locate (an alias, a
    tag, a duplicate key, a ``${VAR}``, a second document, too deep), or yaml.YAMLError."""
    reader = _Reader("", limits, [])
    loader = reader.loader = _LOADER(text)
    tags = reader._tags
    stack: list[Any] = []
    keys: list[Any] = []
    root: Any = _NO_KEY
    documents = 0
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            kind = type(event)
            if kind is yaml.ScalarEvent:
                if event.anchor is not None or event.tag is not None or "${" in event.value:
                    raise Unusual
                tag = tags.get((event.value, event.implicit)) or reader._resolve(event)
                value: Any = event.value if tag == _STR else reader._scalar(event, ())
                if stack and type(stack[-1]) is dict and keys[-1] is _NO_KEY:
                    if tag == _MERGE or value in stack[-1]:
                        raise Unusual
                    keys[-1] = value
                    continue
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if event.anchor is not None or event.tag is not None:
                    raise Unusual
                if stack and type(stack[-1]) is dict and keys[-1] is _NO_KEY:
                    raise Unusual  # a list or mapping as a key
                value = [] if kind is yaml.SequenceStartEvent else {}
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                stack.pop()
                keys.pop()
                continue
            elif kind is yaml.AliasEvent or (kind is yaml.DocumentStartEvent and documents):
                raise Unusual  # an alias, or a second document
            else:
                documents += kind is yaml.DocumentStartEvent
                continue  # stream and document start and end
            if not stack:
                root = value
            elif type(stack[-1]) is list:
                stack[-1].append(value)
            else:
                stack[-1][keys[-1]] = value
                keys[-1] = _NO_KEY
            if type(value) is list or type(value) is dict:
                if len(stack) >= limits.max_depth:
                    raise Unusual
                stack.append(value)
                keys.append(_NO_KEY)
    except _Refused:  # a scalar that cannot be read as its type
        raise Unusual from None
    finally:
        loader.dispose()
    return None if root is _NO_KEY else root
