"""Load plant config from YAML (one file or a directory of files) with line numbers.

Every pydantic error is mapped back to the file and line of the offending value, and
all problems are reported together. The YAML is read by :mod:`plantbus.config.yaml_reader`
(bounded: no aliases, a depth and a size limit, duplicate keys reported).

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from an environment by
:mod:`plantbus.config.variables`, a step of its own, only where the files are read: the CLI expands
from the caller's environment before it sends them, governance from its own for the
bootstrap config. Text received over gRPC is never expanded: a ``${VAR}`` in it is refused.
"""

from __future__ import annotations

import difflib
import functools
import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from plantbus.config.devices import Device, sharing
from plantbus.config.issues import ConfigInvalid, ConfigIssue, oversize
from plantbus.config.model import PlantConfig
from plantbus.config.variables import (
    Source,
    VariablesNotExpanded,
    expand,
    expand_variables,
    unexpanded,
)
from plantbus.config.yaml_fast import Unusual
from plantbus.config.yaml_items import ItemCache, ItemKey, NotCut, cut, read_items
from plantbus.config.yaml_reader import (
    BOM,
    Document,
    Limits,
    Loc,
    dotted,
    read_yaml,
)

__all__ = [
    "ItemCache",
    "Limits",
    "Source",
    "VariablesNotExpanded",
    "expand_variables",
    "gc_paused",
    "load_path",
    "load_sources",
    "read_sources",
]


@dataclass
class _Located:
    """Parsed data plus the source position of every node, keyed by location."""

    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[Loc, tuple[str, int]] = field(default_factory=dict)
    items: list[ItemKey] = field(default_factory=list)
    """The key of every list item read by its text (ItemCache), in order."""


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


@functools.cache
def _item_model(section: str) -> TypeAdapter[Any] | None:
    """The validator of one item of list section ``section`` (None: not a list)."""
    info = PlantConfig.model_fields.get(section)
    if info is None or get_origin(info.annotation) is not list:
        return None
    return TypeAdapter(get_args(info.annotation)[0])


def _validated(section: str, item: Any) -> Any:
    """``item`` validated as an item of ``section`` (as it is within the whole config)."""
    model = _item_model(section)
    return item if model is None else model.validate_python(item)


def _read_items(
    source: Source, limits: Limits, cache: ItemCache, items: list[ItemKey]
) -> Document | None:
    """The document read item by item, reusing what ``cache`` kept and validating each
    new item as it is read (None: read it whole, which reports any problem); a changed
    device shares what it has in common with the one of its name in ``cache``."""
    if oversize(source.name, source.text, limits.max_bytes):
        return None
    devices: dict[str, Device] = {d.name: d for d in cache.section("devices")}

    def validated(section: str, item: Any) -> Any:
        value = _validated(section, item)
        return sharing(value, devices.get(value.name)) if section == "devices" else value

    try:
        layout = cut(source.text.removeprefix(BOM))
        data, keys = read_items(layout, limits, cache, validated)
    except (NotCut, Unusual, yaml.YAMLError, UnicodeEncodeError, ValidationError):
        return None
    items += keys
    return Document(data=data)


def _parse(
    sources: Sequence[Source],
    environ: Mapping[str, str] | None,
    limits: Limits,
    issues: list[ConfigIssue],
    located: bool,
    cache: ItemCache | None = None,
) -> _Located:
    merged = _Located()
    owner: dict[str, str] = {}
    unexpanded_issues: list[ConfigIssue] = []
    for given in sources:
        source = expand(given, environ, limits, issues) if environ is not None else given
        doc = None
        if source and cache is not None and not located:
            doc = _read_items(source, limits, cache, merged.items)
        if source and doc is None:
            doc = read_yaml(source.name, source.text, limits, issues, located)
        if source is None or doc is None or doc.data is None:
            continue
        if environ is None:
            unexpanded_issues += unexpanded(source.name, doc)
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
    if unexpanded_issues:
        raise VariablesNotExpanded(unexpanded_issues)
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


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused (nested: the outermost resumes it): reading,
    dumping or validating a plant allocates millions of objects that all stay, and each
    collection would walk every one of them, a third of the time at 100,000 tags."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_sources(
    sources: Sequence[Source],
    *,
    environ: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    cache: ItemCache | None = None,
) -> PlantConfig:
    """Validate in-memory YAML sources; raises ConfigInvalid listing every problem.

    With ``environ``, ``${VAR}`` in string values is expanded from it first (files read
    here). Without (what governance receives over gRPC), a ``${VAR}`` is refused with
    VariablesNotExpanded, before anything else is checked.

    Read first without the line of every value (the fast way; with ``cache``, item by
    item, reading and validating only the list items whose text the last valid load did
    not have); only when there is a problem to report is it read again, with lines and
    no cache, to say where.
    """
    with gc_paused():
        try:
            return _load(sources, environ, limits or Limits(), located=False, cache=cache)
        except ConfigInvalid:
            pass  # read again below, this time knowing the line of every value
        return _load(sources, environ, limits or Limits(), located=True)


def _load(
    sources: Sequence[Source],
    environ: Mapping[str, str] | None,
    limits: Limits,
    located: bool,
    cache: ItemCache | None = None,
) -> PlantConfig:
    from plantbus.config.validate import cross_check

    issues: list[ConfigIssue] = []
    merged = _parse(sources, environ, limits, issues, located, cache)
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
    if cache is not None:
        seen: dict[str, int] = {}
        cache.keep({key: getattr(config, key[0])[_count(seen, key[0])] for key in merged.items})
    return config


def _count(seen: dict[str, int], section: str) -> int:
    """The index of the next item of ``section`` (items are listed in order)."""
    seen[section] = seen.get(section, -1) + 1
    return seen[section]
