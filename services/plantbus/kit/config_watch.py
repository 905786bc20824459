"""Following the governance config: a KV watch on ``plantbus_config/current``.

Each new version's signature is checked against governance's public key
(:mod:`plantbus.kit.signing`), then the version is validated against the model and
handed to every hosted service that follows config. A version that is unsigned or
badly signed (written by anyone but governance) is refused: logged as an error, shown
in the health detail, reported to ``on_refused``, never applied. One that does not
validate here (an older service, say) is logged and skipped. Either way the service
keeps the version it runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.kv import KeyValue
from pydantic import ValidationError

from plantbus.config import PlantConfig
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.signing import SignatureInvalid, Verifier
from plantbus.kit.tasks import cancel

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


_UNCHECKED = (
    "config signatures are NOT checked: no governance public key is configured "
    "(PLANTBUS_CONFIG_PUBKEY; plantbus up sets it). Anyone who can write the config "
    "bucket can change what this service runs"
)


class ConfigWatch:
    """Calls ``on_config(config, version)`` for the current version and every later one
    that ``verifier`` accepts (every one, with a loud warning, when it is None)."""

    def __init__(
        self,
        bus: Bus,
        on_config: Callable[[PlantConfig, int], Awaitable[None]],
        verifier: Verifier | None,
        on_refused: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        self.bus = bus
        self.on_config = on_config
        self.verifier = verifier
        self.on_refused = on_refused
        self.version = 0
        self.refused = ""
        """Why the latest version in KV was refused ('' when it was not)."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin watching in the background."""
        if self.verifier is None:
            log.warning(_UNCHECKED)
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
        if not await self._trusted(raw):
            return
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

    async def _trusted(self, raw: bytes) -> bool:
        """True when the document is governance's (or nothing can tell)."""
        try:
            doc = json.loads(raw)
            version = int(doc.get("version", 0))
        except (ValueError, AttributeError, TypeError):
            doc, version = None, 0
        if self.verifier is None:
            log.warning("config version %d: %s", version, _UNCHECKED)
            return True
        try:
            if not isinstance(doc, dict):
                raise SignatureInvalid("it is not a config document")
            self.verifier.verify(doc)
        except SignatureInvalid as err:
            self.refused = (
                f"config version {version} refused: {err} (not written by governance); "
                f"running version {self.version}"
            )
            log.error(
                "config in KV %s/%s refused: %s",
                streams.CONFIG.name,
                CURRENT_KEY,
                self.refused,
            )
            if self.on_refused:
                await self.on_refused(version, str(err))
            return False
        self.refused = ""
        return True

    async def stop(self) -> None:
        """Stop watching; safe to call twice."""
        if self._task:
            await cancel(self._task)
            self._task = None
