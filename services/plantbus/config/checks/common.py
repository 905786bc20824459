"""What every section's checks share: where a finding is, duplicate names, and plugin
settings checked against the plugin's own model (references, never values, in secret
fields; finite numbers only, as in the rest of the config)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from plantbus.config.secrets import FORMS, is_secret_field, literal_secrets
from plantbus.plugins import PluginRegistry
from plantbus.sdk.errors import PlantbusError

__all__ = ["Finding", "Loc", "duplicates", "installed_plugin", "non_finite", "plugin_settings"]

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]


def duplicates(items: Iterable[Any], loc: Loc, what: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            yield (*loc, index, "name"), f"duplicate {what} name {item.name!r}"
        seen.add(item.name)


def non_finite(value: object, loc: Loc) -> Iterator[Finding]:
    """NaN and infinities anywhere in ``value`` (a plugin's settings)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc, "Input should be a finite number, not NaN or an infinity"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from non_finite(item, (*loc, index))


def plugin_settings(
    cls: type[Any], settings: dict[str, Any], loc: Loc, field: str = "settings"
) -> Iterator[Finding]:
    model: type[BaseModel] = cls.Settings
    for path, problem in literal_secrets(model, settings):
        yield (*loc, field, *path), problem
    validated: BaseModel | None = None
    try:
        validated = model.model_validate(settings)
    except ValidationError as err:
        hidden = model.model_config.get("hide_input_in_errors", False)  # secrets in settings
        for e in err.errors():
            found = e.get("input")
            secret = is_secret_field(model, e["loc"])
            if secret and isinstance(found, str):
                continue  # a reference: the plugin's own checks apply to the value it names
            # never shown: a secret field's input, a mapping or list that may hold one, or
            # anything of a model that hides inputs in errors
            if secret:
                hint = f" (a secret setting: write {FORMS})"
            elif hidden or isinstance(found, dict | list):
                hint = ""
            else:
                hint = f" (found {found!r})"
            yield (*loc, field, *e["loc"]), f"{e['msg']}{hint}"
    # a plugin's own model may take NaN and infinities (YAML .nan and .inf, or "nan")
    checked = validated.model_dump(by_alias=True) if validated is not None else settings
    yield from non_finite(checked, (*loc, field))


def installed_plugin(
    registry: PluginRegistry[Any],
    name: str,
    settings: dict[str, Any],
    at: tuple[Loc, str, str],
    hint: str = "",
) -> Iterator[Finding]:
    """The plugin ``name`` of ``registry`` is installed and loads (else a finding at the field
    that names it, with ``hint``), and accepts ``settings``. ``at`` is the entry's location,
    the field that names the plugin and the field of its settings."""
    loc, field, settings_field = at
    try:
        cls = registry.get(name)
    except PlantbusError as err:
        yield (*loc, field), f"{err}{hint}"
        return
    yield from plugin_settings(cls, settings, loc, settings_field)
