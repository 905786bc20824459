"""Resolving secret references (see :mod:`plantbus.config.secrets`) where a plugin is built.

Only the service that runs a plugin calls :func:`plugin_settings`, so a secret's value lives
in that process's memory and in the plugin's ``SecretStr`` field, nowhere else: not in the
stored config, heartbeats, logs or audit records. Every error names the reference and what
is missing, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from plantbus.config.secrets import parse_reference, replace_secrets
from plantbus.sdk.errors import ConfigError
from plantbus.sdk.plugin import Plugin

__all__ = ["DEFAULT_SECRETS_DIR", "plugin_settings", "resolve", "secrets_dir"]

DEFAULT_SECRETS_DIR = Path("/var/run/secrets/plantbus")
"""Where Kubernetes Secrets for ``secret:<name>/<key>`` are mounted, one directory each."""


def secrets_dir() -> Path:
    """The base of ``secret:`` references: ``PLANTBUS_SECRETS_DIR`` or the default."""
    return Path(os.environ.get("PLANTBUS_SECRETS_DIR") or DEFAULT_SECRETS_DIR)


def _read(ref: str, path: Path, hint: str) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise ConfigError(f"secret {ref}: no file {path} {hint}") from None
    except IsADirectoryError:
        raise ConfigError(f"secret {ref}: {path} is a directory, not a file") from None
    except PermissionError:
        raise ConfigError(
            f"secret {ref}: {path} is not readable by uid {os.getuid()}: grant read access"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"secret {ref}: {path} is not UTF-8 text") from None


def resolve(ref: str) -> str:
    """The value ``ref`` points at; ConfigError names the reference and what is missing."""
    try:
        parsed = parse_reference(ref)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if parsed.scheme == "env":
        value = os.environ.get(parsed.target)
        if value is None:
            raise ConfigError(
                f"secret {ref}: environment variable {parsed.target} is not set "
                "for this service (set it where the service starts)"
            )
    elif parsed.scheme == "file":
        value = _read(ref, Path(parsed.target), "(create it, or correct the path)")
    else:
        name, key = parsed.target.split("/", 1)
        base = secrets_dir()
        value = _read(
            ref,
            base / name / key,
            f"(mount Kubernetes Secret {name!r} with key {key!r} at {base / name}, "
            "or set PLANTBUS_SECRETS_DIR)",
        )
    if not value:
        raise ConfigError(f"secret {ref} is empty")
    return value


def plugin_settings(plugin: type[Plugin], raw: Mapping[str, Any]) -> BaseModel:
    """``plugin``'s Settings from the config's ``raw`` settings, every ``SecretStr`` field
    holding the resolved value (what the plugin's constructor receives). ConfigError lists
    what the plugin's model refused, never the input (it may be a resolved secret)."""
    model = plugin.Settings
    try:
        return model.model_validate(replace_secrets(model, raw, resolve))
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{plugin.manifest.name} settings refused: {problems}") from None
