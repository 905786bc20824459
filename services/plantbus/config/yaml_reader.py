"""Read one plant-config YAML document into plain data, bounded, with the line of every key.

PyYAML's own loaders expand aliases without bound (a 345-byte alias bomb grows to hundreds
of MiB), recurse once per nesting level (RecursionError at a few thousand brackets) and keep
the last of two equal keys without a word. This reader builds the data from the parser's
events instead (libyaml's when it is installed, several times faster than PyYAML's
composer): it refuses anchors, aliases, explicit tags and a second document, stops at a
size and a nesting bound, and reports duplicate keys with both lines. Every problem is a
ConfigIssue naming the file and line.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import yaml

from plantbus.config.issues import ConfigIssue, oversize

__all__ = ["BOM", "VARIABLE", "Document", "Limits", "Loc", "StringValue", "dotted", "read_yaml"]

Loc = tuple[str | int, ...]
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${NAME}`` or ``${NAME:-default}``."""

BOM = "\ufeff"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_NO_KEY = object()
_NO_ALIASES = (
    "anchors and aliases (&name, *name, <<: *name) are not allowed in plant config: "
    "write the repeated part out in full where it is used"
)


@dataclass(frozen=True)
class Limits:
    """Bounds on one config document."""

    max_bytes: int = 32 * 2**20
    """Generous: a 100,000-tag plant is about 6 MiB of YAML (governance option
    ``max_config_bytes``)."""
    max_depth: int = 64
    """Lists and mappings inside each other; a plant config needs about 10."""


@dataclass(frozen=True)
class StringValue:
    """A string value (never a key) that holds a ``${VAR}``, and where its text is."""

    loc: Loc
    value: str
    start: int
    """Character offsets of the scalar, quotes and block indicators included, in the text
    without its byte-order mark (see BOM)."""
    end: int
    line: int
    """1-based line of the scalar's start."""
    breaks: int
    """Line breaks inside the scalar's text."""
    end_column: int


@dataclass
class Document:
    """The data of one document, the 1-based line of every location, its ``${VAR}`` values."""

    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    variables: list[StringValue] = field(default_factory=list)


def dotted(loc: Loc) -> str:
    """``devices[0].tags[2].name`` for ``("devices", 0, "tags", 2, "name")``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


class _Refused(Exception):
    def __init__(self, event: Any, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.line = _line(event)
        self.loc = loc
        self.message = message


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    loc: Loc
    key: Any = _NO_KEY
    seen: dict[Any, int] = field(default_factory=dict)


class _Reader:
    def __init__(self, name: str, limits: Limits, issues: list[ConfigIssue]) -> None:
        self.name = name
        self.limits = limits
        self.issues = issues
        self.doc = Document()
        self.stack: list[_Frame] = []
        self.documents = 0
        self.loader: Any = None  # PyYAML's stubs leave its event API untyped: events are Any
        # a plant repeats its keys and values: resolved tags by (text, implicit), and
        # scalars that are not text (numbers, booleans: immutable) by (tag, text)
        self._tags: dict[tuple[str, Any], str] = {}
        self._values: dict[tuple[str, str], Any] = {}

    def read(self, text: str) -> Document:
        self.loader = _LOADER(text)
        try:
            while self.loader.check_event():
                self._on(self.loader.get_event())
        finally:
            self.loader.dispose()
        return self.doc

    def _resolve(self, event: Any) -> str:
        """The tag of a plain scalar (cached: the resolver tries a regex per type)."""
        key = (event.value, event.implicit)
        if key not in self._tags:
            self._tags[key] = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return self._tags[key]

    def _on(self, event: Any) -> None:
        frame = self.stack[-1] if self.stack else None
        if isinstance(event, yaml.CollectionEndEvent):
            self.stack.pop()
            return
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _Refused(
                    event,
                    (),
                    "a second YAML document ('---'): a config file holds one document; "
                    "put the sections in one document, or in files of their own",
                )
            return
        loc = self._loc(frame)
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event, loc, _NO_ALIASES)
        if not isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            return  # stream start and end, document end
        if event.anchor is not None:
            raise _Refused(event, loc, _NO_ALIASES)
        if event.tag is not None:
            raise _Refused(
                event,
                loc,
                f"explicit YAML tags ({event.tag}) are not allowed in plant config: "
                "write the plain value (quote it to make it text)",
            )
        if frame is not None and isinstance(frame.container, dict) and frame.key is _NO_KEY:
            self._key(frame, event)
            return
        self.doc.lines.setdefault(loc, _line(event))
        value: Any
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event, loc)
            if isinstance(value, str) and "${" in value and VARIABLE.search(value):
                self._variable(event, loc)
        else:
            value = [] if isinstance(event, yaml.SequenceStartEvent) else {}
        if frame is None:
            self.doc.data = value
        elif isinstance(frame.container, list):
            frame.container.append(value)
        else:
            frame.container[frame.key] = value
            frame.key = _NO_KEY
        if isinstance(event, yaml.CollectionStartEvent):
            if len(self.stack) >= self.limits.max_depth:
                raise _Refused(
                    event,
                    loc[:1],  # the section: the full path would be 64 levels long
                    f"nested more than {self.limits.max_depth} levels deep (lists and mappings "
                    "inside each other); a plant config needs about 10: flatten it",
                )
            self.stack.append(_Frame(value, loc))

    @staticmethod
    def _loc(frame: _Frame | None) -> Loc:
        if frame is None:
            return ()
        if isinstance(frame.container, list):
            return (*frame.loc, len(frame.container))
        if frame.key is _NO_KEY:
            return frame.loc
        return (*frame.loc, str(frame.key))

    def _key(self, frame: _Frame, event: Any) -> None:
        if not isinstance(event, yaml.ScalarEvent):
            raise _Refused(event, frame.loc, "a key must be a plain name, not a list or a mapping")
        if self._resolve(event) == _MERGE:
            raise _Refused(event, frame.loc, _NO_ALIASES)
        key = self._scalar(event, frame.loc)
        line = _line(event)
        loc = (*frame.loc, str(key))
        if key in frame.seen:
            self.issues.append(
                ConfigIssue(
                    self.name,
                    line,
                    dotted(loc),
                    f"duplicate key {key!r}: also at line {frame.seen[key]}; keep one of them",
                )
            )
        else:
            frame.seen[key] = line
        self.doc.lines[loc] = line
        frame.key = key

    def _scalar(self, event: Any, loc: Loc) -> Any:
        loader = self.loader
        tag = self._resolve(event)
        if tag == _STR:
            return event.value
        if (tag, event.value) in self._values:
            return self._values[(tag, event.value)]
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        construct = loader.yaml_constructors.get(tag, loader.yaml_constructors[None])
        try:
            value = construct(loader, node)
        except (ValueError, OverflowError, yaml.YAMLError):  # e.g. the date 2024-13-45
            kind = tag.rpartition(":")[2]
            raise _Refused(
                event, loc, f"cannot read {event.value!r} as a {kind}: quote it if it is text"
            ) from None
        self._values[(tag, event.value)] = value
        return value

    def _variable(self, event: Any, loc: Loc) -> None:
        start, end = event.start_mark, event.end_mark
        self.doc.variables.append(
            StringValue(
                loc=loc,
                value=event.value,
                start=start.index,
                end=end.index,
                line=start.line + 1,
                breaks=end.line - start.line,
                end_column=end.column,
            )
        )


def read_yaml(
    name: str, text: str, limits: Limits, issues: list[ConfigIssue], lines: bool = True
) -> Document | None:
    """The document in ``text``, or None with the reason in ``issues`` (duplicate keys are
    reported there too, but do not stop the reading). Without ``lines``, a document with
    nothing to report is read about twice as fast, and its ``lines`` are left empty."""
    too_big = oversize(name, text, limits.max_bytes)
    if too_big:
        issues.append(too_big)
        return None
    if not lines:
        from plantbus.config.yaml_fast import Unusual, fast_data

        with suppress(Unusual, yaml.YAMLError, UnicodeEncodeError):  # else: read with lines
            return Document(data=fast_data(text.removeprefix(BOM), limits))
    reader = _Reader(name, limits, issues)
    try:
        return reader.read(text.removeprefix(BOM))
    except _Refused as err:
        issues.append(ConfigIssue(name, err.line, dotted(err.loc), err.message))
    except yaml.MarkedYAMLError as err:
        mark = err.context_mark or err.problem_mark
        context = f" ({err.context})" if err.context else ""
        issues.append(
            ConfigIssue(
                name, mark.line + 1 if mark else 0, "", f"malformed YAML: {err.problem}{context}"
            )
        )
    except yaml.YAMLError as err:  # e.g. a control character the reader refuses
        line = text.count("\n", 0, getattr(err, "position", 0)) + 1
        issues.append(ConfigIssue(name, line, "", f"malformed YAML: {err}"))
    except UnicodeEncodeError as err:  # a lone surrogate: not text a file or gRPC can carry
        line = text.count("\n", 0, err.start) + 1
        issues.append(ConfigIssue(name, line, "", "malformed YAML: not valid Unicode text"))
    return None
