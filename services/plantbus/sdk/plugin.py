"""What every plugin declares: a manifest and a pydantic settings model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

__all__ = ["EmptySettings", "Plugin", "PluginManifest", "SettingsT"]


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


SettingsT = TypeVar("SettingsT", bound=BaseModel, default=BaseModel)
"""A plugin's settings model: ``class AcmeDriver(Driver[AcmeSettings])`` gets
``self.settings`` typed as ``AcmeSettings``."""


class Plugin(Generic[SettingsT]):
    """Base of every plugin class (drivers, ERP connectors, notifiers).

    Subclasses set ``manifest`` and ``Settings`` (the class they are parameterized
    with). Governance validates a device's, connection's or notifier's settings with
    ``Settings`` before anything runs; the plugin receives them validated.
    """

    manifest: ClassVar[PluginManifest]
    Settings: ClassVar[type[BaseModel]] = EmptySettings
    settings: SettingsT
