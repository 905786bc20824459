"""Following the governance config: a KV watch on ``plantbus_config/current``.

Each new version is validated against the model and handed to every hosted service
that follows config. A version that does not validate here (an older service, say)
is logged and skipped; the service keeps the version it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.kv import KeyValue
from pydantic import ValidationError

from plantbus.config import PlantConfig
from plantbus.kit import streams
from plantbus.kit.bus import Bus

__all__ = ["CURRENT_KEY", "ConfigWatch", "config_kv", "parse_document"]

log = logging.getLogger(__name__)

CURRENT_KEY = "current"


async def config_kv(bus: Bus) -> KeyValue:
    """The config bucket, created when missing (governance and followers agree on its shape)."""
    return await streams.open_bucket(bus, streams.CONFIG)


def parse_document(raw: bytes) -> tuple[int, PlantConfig, dict[str, Any]]:
    """(version, config, whole document) from a stored config document."""
    doc = json.loads(raw)
    return int(doc["version"]), PlantConfig.model_validate(doc["config"]), doc


class ConfigWatch:
    """Calls ``on_config(config, version)`` for the current version and every later one."""

    def __init__(self, bus: Bus, on_config: Callable[[PlantConfig, int], Awaitable[None]]) -> None:
        self.bus = bus
        self.on_config = on_config
        self.version = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin watching in the background."""
        kv = await config_kv(self.bus)
        watcher = await kv.watch(CURRENT_KEY)
        self._task = asyncio.create_task(self._run(watcher), name="config-watch")

    async def _run(self, watcher: Any) -> None:
        try:
            async for entry in watcher:
                if entry is None or not entry.value:
                    continue  # end of initial values, or a delete marker
                await self._apply(entry.value)
        finally:
            await watcher.stop()

    async def _apply(self, raw: bytes) -> None:
        try:
            version, config, _ = parse_document(raw)
        except (ValueError, KeyError, ValidationError) as err:
            log.error(
                "config version in KV %s/%s rejected: %s", streams.CONFIG.name, CURRENT_KEY, err
            )
            return
        if version <= self.version:
            return
        log.info("applying config version %d", version)
        await self.on_config(config, version)
        self.version = version

    async def stop(self) -> None:
        """Stop watching; safe to call twice."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
