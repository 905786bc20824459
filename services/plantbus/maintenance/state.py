"""What the maintenance service keeps in KV ``plantbus_maintenance`` across restarts:
usage counters per component and anomaly baselines per monitored tag and state.

Read once at start; each document goes back into the engine once, when a config that has
its component or monitor is applied (a config without it leaves it waiting). Saved on
every tick and at stop, each document only when it differs from the one this process
wrote last (at plant scale most machines' counters do not move in a tick: a thousand
unchanged writes every tick were half the service's CPU at 5,000 samples/s); a failed
save is kept for health, not raised.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nats.js.kv import KeyValue

from plantbus.kit import kv_keys, streams
from plantbus.kit.bus import kv_key
from plantbus.kit.store_health import StoreHealth
from plantbus.maintenance.engine import Engine, ModelFactory
from plantbus.maintenance.usage import Usage

__all__ = ["SavedState", "baseline_key", "documents", "usage_key"]


async def documents(kv: KeyValue, *prefixes: str) -> dict[str, Any]:
    """Key -> JSON document of every key of ``kv`` with one of ``prefixes``."""
    out: dict[str, Any] = {}
    for key in await kv_keys.keys(kv):
        if key.startswith(prefixes):
            entry = await kv.get(key)
            if entry.value:
                out[key] = json.loads(entry.value)
    return out


def usage_key(machine: str, component: str) -> str:
    """The KV key of a component's counters."""
    return "usage." + kv_key(f"{machine}/{component}".replace("/", "."))


def baseline_key(tag: str, state: str) -> str:
    """The KV key of a monitored tag's baseline in one machine state."""
    return "baseline." + kv_key(f"{tag}/{state}".replace("/", "."))


class SavedState:
    """Counters and baselines in the maintenance bucket."""

    def __init__(self, kv: KeyValue, log: logging.Logger) -> None:
        self.kv = kv
        self.saves = StoreHealth(f"maintenance state in KV {streams.MAINTENANCE_STATE.name}", log)
        self._restored: dict[str, Any] = {}
        self._written: dict[str, bytes] = {}
        """Key -> the document last written to it."""

    async def load(self) -> None:
        """Read every counter and baseline document."""
        self._restored = await documents(self.kv, "usage.", "baseline.")

    def restore(self, engine: Engine, model: ModelFactory) -> None:
        """Counters and baselines kept in KV for what the config has (once each)."""
        for machine, component in list(engine.usage):
            doc = self._restored.pop(usage_key(machine, component), None)
            if doc:
                engine.usage[(machine, component)] = Usage.from_json(doc)
        for tag, mon in engine.monitored.items():
            for state in mon.monitor.states:
                doc = self._restored.pop(baseline_key(tag, state), None)
                if doc:
                    restored = mon.models[state] = model(mon.monitor)
                    restored.restore(doc)

    async def save(self, engine: Engine) -> None:
        """Counters and baselines that changed into KV; stops at the first failed write."""
        for (machine, component), usage in list(engine.usage.items()):
            doc = json.dumps(usage.to_json()).encode()
            if not await self._put(usage_key(machine, component), doc):
                return
        for tag, mon in list(engine.monitored.items()):
            for state, model in list(mon.models.items()):
                doc = json.dumps(dict(model.state())).encode()
                if not await self._put(baseline_key(tag, state), doc):
                    return

    async def _put(self, key: str, doc: bytes) -> bool:
        """Write ``doc`` unless it is what ``key`` got last; False when the write failed."""
        if self._written.get(key) == doc:
            return True
        if not await self.saves.put(self.kv, key, doc):
            return False
        self._written[key] = doc
        return True
