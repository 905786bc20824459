"""What every plugin declares: a manifest and a pydantic settings model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["EmptySettings", "Plugin", "PluginManifest"]


@dataclass(frozen=True)
class PluginManifest:
    """Identity of a plugin; ``name`` must equal its entry-point name."""

    name: str
    version: str
    api_version: str
    description: str = ""


class EmptySettings(BaseModel):
    """Settings model for a plugin that takes none; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Plugin:
    """Base of every plugin class (drivers, ERP connectors, notifiers).

    Subclasses set ``manifest`` and ``Settings``. Governance validates a device's,
    connection's or notifier's settings with ``Settings`` before anything runs.
    """

    manifest: ClassVar[PluginManifest]
    Settings: ClassVar[type[BaseModel]] = EmptySettings
