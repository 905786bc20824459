"""What the ERP connector and notifier conformance kits share: a plugin class under test,
a time limit on each of its calls, and the check of what every plugin declares."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from plantbus.sdk.plugin import Plugin

__all__ = ["PluginConformance"]

T = TypeVar("T")


class PluginConformance:
    """Base of the connector and notifier kits (not of a vendor's test class)."""

    call_timeout_s: ClassVar[float] = 20.0
    """How long one plugin call may take before the kit calls it hung."""

    def plugin_class(self) -> type[Plugin[Any]]:
        """The plugin under test (the kit's ``connector_class``, ``notifier_class``)."""
        raise NotImplementedError

    def settings_of(self, raw: Mapping[str, Any]) -> BaseModel:
        """``raw`` validated by the plugin's Settings, as its service does before making it."""
        return self.plugin_class().Settings.model_validate(raw)

    async def _call(self, coro: Awaitable[T]) -> T:
        return await asyncio.wait_for(coro, self.call_timeout_s)

    def test_declares_manifest_and_settings(self) -> None:
        """The plugin loader and ``plantbus plugins`` need these."""
        cls = self.plugin_class()
        assert cls.manifest.name and cls.manifest.version and cls.manifest.api_version
        assert cls.Settings is not None
