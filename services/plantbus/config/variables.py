"""``${VAR}`` in config files: expanded from an environment in string values only, where
the files are read (the CLI from the caller's environment, governance from its own for
the bootstrap config), and refused in config received from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from plantbus.config.issues import ConfigInvalid, ConfigIssue
from plantbus.config.yaml_reader import (
    BOM,
    VARIABLE,
    Document,
    Limits,
    StringValue,
    dotted,
    read_yaml,
)

__all__ = ["Source", "VariablesNotExpanded", "expand", "expand_variables", "unexpanded"]


@dataclass(frozen=True)
class Source:
    """One YAML document and the name errors refer to it by."""

    name: str
    text: str


class VariablesNotExpanded(ConfigInvalid):
    """Config received from elsewhere still holds ``${VAR}`` references (never expanded here)."""


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


def expand(
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
    expanded = expand(source, environ, limits or Limits(), issues)
    if expanded is None or issues:
        raise ConfigInvalid(issues)
    return expanded


def unexpanded(name: str, doc: Document) -> list[ConfigIssue]:
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
