"""Load plant config from YAML (one file or a directory of files) with line numbers.

Every pydantic error is mapped back to the file and line of the offending value, and
all problems are reported together. The YAML is read by :mod:`plantbus.config.yaml_reader`
(bounded: no aliases, a depth and a size limit, duplicate keys reported).

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from an environment by
:func:`expand_variables`, a step of its own, only where the files are read: the CLI expands
from the caller's environment before it sends them, governance from its own for the
bootstrap config. Text received over gRPC is never expanded: a ``${VAR}`` in it is refused.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from plantbus.config.issues import ConfigInvalid, ConfigIssue
from plantbus.config.model import PlantConfig
from plantbus.config.yaml_reader import (
    BOM,
    VARIABLE,
    Document,
    Limits,
    Loc,
    StringValue,
    dotted,
    read_yaml,
)

__all__ = [
    "Limits",
    "Source",
    "VariablesNotExpanded",
    "expand_variables",
    "load_path",
    "load_sources",
    "read_sources",
]


@dataclass(frozen=True)
class Source:
    """One YAML document and the name errors refer to it by."""

    name: str
    text: str


class VariablesNotExpanded(ConfigInvalid):
    """Config received from elsewhere still holds ``${VAR}`` references (never expanded here)."""


@dataclass
class _Located:
    """Parsed data plus the source position of every node, keyed by location."""

    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[Loc, tuple[str, int]] = field(default_factory=dict)


def read_sources(path: Path) -> list[Source]:
    """The YAML files at ``path`` (a file, or every *.yaml/*.yml in a directory, sorted)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
        if not files:
            raise ConfigInvalid([ConfigIssue(str(path), 0, "", "no *.yaml files in directory")])
    elif path.is_file():
        files = [path]
    else:
        raise ConfigInvalid([ConfigIssue(str(path), 0, "", "no such file or directory")])
    return [Source(str(p), p.read_text(encoding="utf-8")) for p in files]


def load_path(path: Path) -> PlantConfig:
    """Load and validate the config at ``path``, expanding ``${VAR}`` from this process's
    environment; raises ConfigInvalid listing every problem."""
    return load_sources(read_sources(path), environ=os.environ)


def _quoted(value: str) -> str:
    """``value`` as a one-line double-quoted YAML scalar: nothing in it can end the scalar
    or start a line, a comment or a structure."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _substitute(
    name: str,
    value: StringValue,
    environ: Mapping[str, str],
    issues: list[ConfigIssue],
) -> str:
    def replace(match: re.Match[str]) -> str:
        variable, default = match.group(1), match.group(2)
        found = environ.get(variable, default)
        if found is None:
            issues.append(
                ConfigIssue(
                    name,
                    value.line,
                    dotted(value.loc),
                    f"environment variable {variable} is not set and has no default "
                    f"(set it, or write ${{{variable}:-default}})",
                )
            )
            return ""
        return found

    return VARIABLE.sub(replace, value.value)


def _expand(
    source: Source, environ: Mapping[str, str], limits: Limits, issues: list[ConfigIssue]
) -> Source | None:
    if "${" not in source.text:
        return source
    first: list[ConfigIssue] = []
    doc = read_yaml(source.name, source.text, limits, first)
    if doc is None:
        issues.extend(first)  # the rest (duplicate keys) is found again when it is loaded
        return None
    text = source.text.removeprefix(BOM)
    parts, end = [], 0
    for value in doc.variables:
        parts.append(text[end : value.start])
        parts.append(_quoted(_substitute(source.name, value, environ, issues)))
        if value.breaks:  # keep every later line (and column) where it was
            parts.append("\n" * value.breaks + " " * value.end_column)
        end = value.end
    parts.append(text[end:])
    return Source(source.name, "".join(parts))


def expand_variables(
    source: Source, environ: Mapping[str, str], limits: Limits | None = None
) -> Source:
    """``source`` with ``${VAR}`` and ``${VAR:-default}`` in its string values replaced from
    ``environ``, each value re-quoted so that what a variable holds (``: ``, ``#``, a line
    break) stays part of the value; keys and structure are never expanded, and every line
    stays where it was, so later errors still name the right line. Raises ConfigInvalid
    naming file:line of an unset variable (or of YAML that cannot be read)."""
    issues: list[ConfigIssue] = []
    expanded = _expand(source, environ, limits or Limits(), issues)
    if expanded is None or issues:
        raise ConfigInvalid(issues)
    return expanded


def _unexpanded(name: str, doc: Document) -> list[ConfigIssue]:
    return [
        ConfigIssue(
            name,
            value.line,
            dotted(value.loc),
            f"{', '.join(m.group(0) for m in VARIABLE.finditer(value.value))} is not expanded: "
            "governance never expands variables in config it receives; "
            "expand variables on the client: plantbus config apply does this",
        )
        for value in doc.variables
    ]


def _parse(
    sources: Sequence[Source],
    environ: Mapping[str, str] | None,
    limits: Limits,
    issues: list[ConfigIssue],
) -> _Located:
    merged = _Located()
    owner: dict[str, str] = {}
    unexpanded: list[ConfigIssue] = []
    for given in sources:
        source = _expand(given, environ, limits, issues) if environ is not None else given
        doc = read_yaml(source.name, source.text, limits, issues) if source else None
        if source is None or doc is None or doc.data is None:
            continue
        if environ is None:
            unexpanded += _unexpanded(source.name, doc)
        if not isinstance(doc.data, dict):
            issues.append(
                ConfigIssue(source.name, 1, "", "expected a mapping of sections at the top")
            )
            continue
        for key, value in doc.data.items():
            if key in owner:
                line = doc.lines.get((str(key),), 0)
                issues.append(
                    ConfigIssue(
                        source.name, line, str(key), f"section already defined in {owner[key]}"
                    )
                )
                continue
            owner[key] = source.name
            merged.data[key] = value
        merged.lines.update({loc: (source.name, line) for loc, line in doc.lines.items()})
    if unexpanded:
        raise VariablesNotExpanded(unexpanded)
    return merged


def line_of(located: dict[Loc, tuple[str, int]], loc: Loc, default: str) -> tuple[str, int]:
    """The file and line of ``loc``, or of its nearest located parent."""
    for end in range(len(loc), -1, -1):
        hit = located.get(loc[:end])
        if hit:
            return hit
    return default, 0


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that owns the last key of ``loc`` (for typo suggestions)."""
    model: Any = PlantConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        info = fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        model = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _message(err: Any) -> str:
    kind, loc, found = err["type"], err["loc"], err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else (f"; expected one of: {', '.join(known)}" if known else "")
        )
        return f"unknown key {loc[-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    shown = repr(found)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"found {shown}, expected: {err['msg'].removeprefix('Value error, ')}"


def load_sources(
    sources: Sequence[Source],
    *,
    environ: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> PlantConfig:
    """Validate in-memory YAML sources; raises ConfigInvalid listing every problem.

    With ``environ``, ``${VAR}`` in string values is expanded from it first (files read
    here). Without (what governance receives over gRPC), a ``${VAR}`` is refused with
    VariablesNotExpanded, before anything else is checked.
    """
    from plantbus.config.validate import cross_check

    issues: list[ConfigIssue] = []
    merged = _parse(sources, environ, limits or Limits(), issues)
    default_name = sources[0].name if sources else "<config>"
    try:
        config = PlantConfig.model_validate(merged.data)
    except ValidationError as err:
        for e in err.errors():
            file, line = line_of(merged.lines, tuple(e["loc"]), default_name)
            issues.append(ConfigIssue(file, line, dotted(e["loc"]), _message(e)))
        raise ConfigInvalid(issues) from None
    for loc, message in cross_check(config):
        file, line = line_of(merged.lines, loc, default_name)
        issues.append(ConfigIssue(file, line, dotted(loc), message))
    if issues:
        raise ConfigInvalid(issues)
    return config
