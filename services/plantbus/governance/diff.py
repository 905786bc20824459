"""A readable diff between two configs: unified diff of their YAML renderings."""

from __future__ import annotations

import difflib

import yaml

from plantbus.config import PlantConfig

__all__ = ["config_diff", "to_yaml"]


def to_yaml(config: PlantConfig | None) -> str:
    """The config as YAML without default values, sections in model order."""
    if config is None:
        return ""
    data = config.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def config_diff(old: PlantConfig | None, new: PlantConfig, old_label: str, new_label: str) -> str:
    """Unified diff from ``old`` to ``new`` ('' when they are equal)."""
    lines = difflib.unified_diff(
        to_yaml(old).splitlines(keepends=True),
        to_yaml(new).splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
    )
    return "".join(lines)
