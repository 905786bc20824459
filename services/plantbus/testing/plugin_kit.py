"""What the ERP connector and notifier conformance kits share: a plugin class under test,
a time limit on each of its calls, and the check of what every plugin declares."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pytest
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

    def secret_check(
        self, secrets: Sequence[str], caplog: pytest.LogCaptureFixture
    ) -> Callable[[str], None]:
        """A check that neither a text (an error's) nor the log lines (down to DEBUG) of
        the plugin's package or the hub carry one of ``secrets`` (the peer's own logs are
        its business)."""
        caplog.set_level(logging.DEBUG)
        mine = (self.plugin_class().__module__.partition(".")[0], "plantbus")

        def check(text: str) -> None:
            lines = [r.getMessage() for r in caplog.records if r.name.startswith(mine)]
            for secret in secrets:
                for line in (text, *lines):
                    assert secret not in line, f"a secret appears in: {line}"

        return check

    def test_declares_manifest_and_settings(self) -> None:
        """The plugin loader and ``plantbus plugins`` need these."""
        cls = self.plugin_class()
        assert cls.manifest.name and cls.manifest.version and cls.manifest.api_version
        assert cls.Settings is not None
