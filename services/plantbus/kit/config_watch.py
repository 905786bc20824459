"""Following the governance config: a KV watch on ``plantbus_config/current``.

Each new version's signature is checked against governance's public key
(:mod:`plantbus.kit.signing`), then the version is read by a
:class:`~plantbus.kit.config_reader.VersionReader`: only the pieces that changed are
fetched and validated, the rest is the previous version's objects. The config is handed
to every hosted service that follows config, and :attr:`ConfigWatch.change` says which
sections and devices differ from the version before. A version that is unsigned or
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
from plantbus.kit.config_reader import ConfigChange, VersionReader
from plantbus.kit.config_sections import ALL
from plantbus.kit.signing import SignatureInvalid, Verifier
from plantbus.kit.tasks import cancel
from plantbus.sdk.errors import ConfigError

__all__ = ["CURRENT_KEY", "ConfigWatch", "config_kv"]

log = logging.getLogger(__name__)

CURRENT_KEY = "current"


async def config_kv(bus: Bus) -> KeyValue:
    """The config bucket, created when missing (governance and followers agree on its shape)."""
    return await streams.open_bucket(bus, streams.CONFIG)


_UNCHECKED = (
    "config signatures are NOT checked: no governance public key is configured "
    "(PLANTBUS_CONFIG_PUBKEY; plantbus up sets it). Anyone who can write the config "
    "bucket can change what this service runs"
)


class ConfigWatch:
    """Calls ``on_config(config, version)`` for the current version and every later one
    that ``verifier`` accepts (every one, with a loud warning, when it is None). Without
    ``on_config`` it only checks signatures (``refused``, ``on_refused``) and reads no
    config (governance, which holds its own). ``sections``: the ones read (the others
    are withheld, :mod:`plantbus.kit.config_sections`)."""

    def __init__(
        self,
        bus: Bus,
        on_config: Callable[[PlantConfig, int], Awaitable[None]] | None,
        verifier: Verifier | None,
        on_refused: Callable[[int, str], Awaitable[None]] | None = None,
        sections: frozenset[str] = ALL,
    ) -> None:
        self.bus = bus
        self.sections = sections
        self.on_config = on_config
        self.verifier = verifier
        self.on_refused = on_refused
        self.version = 0
        self.refused = ""
        """Why the latest version in KV was refused ('' when it was not)."""
        self.change: ConfigChange | None = None
        """The version being applied (then running) and what it changed."""
        self._reader: VersionReader | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin watching in the background."""
        if self.verifier is None:
            log.warning(_UNCHECKED)
        kv = await config_kv(self.bus)
        self._reader = VersionReader(kv, share=self.bus, sections=self.sections)
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
            doc: Any = json.loads(raw)
            version = int(doc.get("version", 0))
        except (ValueError, AttributeError, TypeError):
            doc, version = None, 0
        if not await self._trusted(doc, version):
            return
        if (isinstance(doc, dict) and version <= self.version) or self.on_config is None:
            return
        assert self._reader is not None
        try:
            change = await self._reader.read(doc)
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            ValidationError,
            ConfigError,
        ) as err:
            log.error(
                "config version in KV %s/%s rejected: %s", streams.CONFIG.name, CURRENT_KEY, err
            )
            return
        if self.version:
            changed = ", ".join(sorted(change.sections)) or "nothing"
            log.info(
                "applying config version %d (changed: %s; %d devices)",
                version,
                changed,
                len(change.devices),
            )
        else:
            log.info("applying config version %d (%d devices)", version, len(change.devices))
        self.change = change
        await self.on_config(change.config, version)
        self.version = version

    async def _trusted(self, doc: Any, version: int) -> bool:
        """True when the document is governance's (or nothing can tell)."""
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
