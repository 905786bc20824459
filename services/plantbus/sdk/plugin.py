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

    Type every secret setting (password, token, key) as pydantic ``SecretStr``. The plant
    config then holds a reference to it (``env:NAME``, ``file:/path`` or
    ``secret:<name>/<key>``, never the value), and the plugin receives its ``Settings``
    with the resolved value in that field: read it with ``get_secret_value()`` where it is
    used, and never log it or put it in an error message.
    """

    manifest: ClassVar[PluginManifest]
    Settings: ClassVar[type[BaseModel]] = EmptySettings
    settings: SettingsT
