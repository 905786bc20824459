"""Load plant config from YAML (one file or a directory of files) with line numbers.

Every pydantic error is mapped back to the file and line of the offending value, and
all problems are reported together. ``${VAR}`` and ``${VAR:-default}`` in the YAML are
replaced from the environment first (Kubernetes and ``plantbus up`` use this for ports
and hosts).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from plantbus.config.issues import ConfigInvalid, ConfigIssue
from plantbus.config.model import PlantConfig

__all__ = ["Source", "load_path", "load_sources", "read_sources"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    """One YAML document and the name errors refer to it by."""

    name: str
    text: str


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
    """Load and validate the config at ``path``; raises ConfigInvalid listing every problem."""
    return load_sources(read_sources(path))


def _expand_env(source: Source, issues: list[ConfigIssue]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default)
        if value is None:
            line = source.text.count("\n", 0, match.start()) + 1
            issues.append(
                ConfigIssue(
                    source.name,
                    line,
                    "",
                    f"environment variable {name} is not set and has no default",
                )
            )
            return ""
        return value

    return _ENV.sub(replace, source.text)


def _walk(node: yaml.Node, loc: Loc, name: str, out: _Located) -> None:
    # a value keeps the line of its key ("tags:" rather than the first item below it)
    out.lines.setdefault(loc, (name, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out.lines[(*loc, str(key.value))] = (name, key.start_mark.line + 1)
            _walk(value, (*loc, str(key.value)), name, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), name, out)


def _parse(sources: Sequence[Source], issues: list[ConfigIssue]) -> _Located:
    merged = _Located()
    owner: dict[str, str] = {}
    for source in sources:
        text = _expand_env(source, issues)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as err:
            mark = err.context_mark or err.problem_mark
            line = mark.line + 1 if mark else 0
            context = f" ({err.context})" if err.context else ""
            issues.append(
                ConfigIssue(source.name, line, "", f"malformed YAML: {err.problem}{context}")
            )
            continue
        except yaml.YAMLError as err:  # e.g. a control character the reader refuses
            line = text.count("\n", 0, getattr(err, "position", 0)) + 1
            issues.append(ConfigIssue(source.name, line, "", f"malformed YAML: {err}"))
            continue
        if data is None:
            continue
        if not isinstance(data, dict) or node is None:
            issues.append(
                ConfigIssue(source.name, 1, "", "expected a mapping of sections at the top")
            )
            continue
        located = _Located()
        _walk(node, (), source.name, located)
        for key, value in data.items():
            if key in owner:
                line = located.lines.get((key,), (source.name, 0))[1]
                issues.append(
                    ConfigIssue(
                        source.name, line, str(key), f"section already defined in {owner[key]}"
                    )
                )
                continue
            owner[key] = source.name
            merged.data[key] = value
        merged.lines.update(located.lines)
    return merged


def line_of(located: dict[Loc, tuple[str, int]], loc: Loc, default: str) -> tuple[str, int]:
    """The file and line of ``loc``, or of its nearest located parent."""
    for end in range(len(loc), -1, -1):
        hit = located.get(loc[:end])
        if hit:
            return hit
    return default, 0


def _dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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


def load_sources(sources: Sequence[Source]) -> PlantConfig:
    """Validate in-memory YAML sources (what governance receives over gRPC)."""
    from plantbus.config.validate import cross_check

    issues: list[ConfigIssue] = []
    merged = _parse(sources, issues)
    default_name = sources[0].name if sources else "<config>"
    try:
        config = PlantConfig.model_validate(merged.data)
    except ValidationError as err:
        for e in err.errors():
            file, line = line_of(merged.lines, tuple(e["loc"]), default_name)
            issues.append(ConfigIssue(file, line, _dotted(e["loc"]), _message(e)))
        raise ConfigInvalid(issues) from None
    for loc, message in cross_check(config):
        file, line = line_of(merged.lines, loc, default_name)
        issues.append(ConfigIssue(file, line, _dotted(loc), message))
    if issues:
        raise ConfigInvalid(issues)
    return config
