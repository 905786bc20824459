"""Alarm states in KV ``plantbus_alarms``: saved on every change, restored when a replica
takes an area over.

An alarm's entry holds its wall-clock state and its transition count (the ``<n>`` of the
message id ``<alarm>#<n>`` of each published change), so the replica that takes an area
over goes on numbering where the last holder stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import nats.errors
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.alerting.lifecycle import PROCESS_LOCAL, Alarm, AlarmState
from plantbus.alerting.metrics import area_of
from plantbus.kit import kv_keys, streams
from plantbus.kit.bus import Bus, kv_key
from plantbus.kit.store_health import StoreHealth

__all__ = ["AlarmStore"]

_COUNT = "transitions"


def _key(alarm_id: str) -> str:
    return kv_key(alarm_id.replace("@", "="))


def _stored(alarm: Alarm, transitions: int) -> bytes:
    """An alarm's state as kept in KV (wall-clock times only), with its transition count."""
    doc = dataclasses.asdict(alarm)
    doc["state"] = str(alarm.state)
    for name in PROCESS_LOCAL:
        del doc[name]
    doc[_COUNT] = transitions
    return json.dumps(doc).encode()


class AlarmStore:
    """The saved alarm states of the areas this replica runs."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.kv: KeyValue | None = None
        self.saves = StoreHealth(f"alarm states in KV {streams.ALARM_STATE.name}", log)
        self.unsaved: dict[str, bytes] = {}
        """Alarm id to the latest state whose save failed, tried again on the next save."""
        self.restored: dict[str, dict[str, Any]] = {}
        """KV key to a saved state not yet taken up by an alarm of the config."""
        self.transitions: dict[str, int] = {}
        """Per alarm, the state changes published so far (its transition ids)."""

    async def open(self, bus: Bus) -> None:
        """Open (or create) the bucket."""
        self.kv = await streams.open_bucket(bus, streams.ALARM_STATE)

    async def load(self, areas: set[str]) -> None:
        """Read the saved states of the alarms of ``areas``, for :meth:`restore`. NATS not
        answering leaves them to start afresh (logged)."""
        if self.kv is None:
            return
        try:
            keys = await kv_keys.keys(self.kv)
        except nats.errors.Error as err:
            self.log.warning("alarm states of %s not restored: %s", sorted(areas), err)
            return
        for key in keys:
            saved = await self._read(key)
            if saved is not None and area_of(saved.get("scope", "")) in areas:
                self.restored[key] = saved

    async def _read(self, key: str) -> dict[str, Any] | None:
        assert self.kv is not None
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None  # deleted since it was listed
        except nats.errors.Error as err:
            self.log.warning("alarm state %s not restored: %s", key, err)
            return None
        if not entry.value:
            return None
        try:
            saved: dict[str, Any] = json.loads(entry.value)
        except ValueError as err:
            self.log.warning("alarm state %s is not JSON, ignored: %s", key, err)
            return None
        return saved

    def restore(self, alarm: Alarm) -> Alarm:
        """``alarm`` as it was saved (by this or another replica), or as given when it was
        not; the saved transition count carries over."""
        saved = self.restored.pop(_key(alarm.id), None)
        if not saved:
            return alarm
        self.transitions[alarm.id] = int(saved.pop(_COUNT, 0))
        saved["state"] = AlarmState(saved["state"])
        restored = Alarm(**saved)
        restored.rebase(time.time(), time.monotonic())
        return restored

    def restore_count(self, alarm_id: str) -> None:
        """Carry the saved transition count over only (the flood alarm, judged afresh)."""
        saved = self.restored.pop(_key(alarm_id), None)
        if saved:
            self.transitions[alarm_id] = int(saved.get(_COUNT, 0))

    def next_transition(self, alarm_id: str) -> str:
        """Count one more state change of ``alarm_id``: its message id ``<alarm>#<n>``."""
        n = self.transitions[alarm_id] = self.transitions.get(alarm_id, 0) + 1
        return f"{alarm_id}#{n}"

    def forget(self, alarm_id: str) -> None:
        """An alarm this replica no longer runs: its failed save is the new holder's."""
        self.unsaved.pop(alarm_id, None)

    async def save(self, alarm: Alarm | None = None) -> None:
        """Store an alarm's state, and every state whose save failed before. A failure (the
        KV store full, NATS away) is kept in ``saves`` for health, not raised."""
        if self.kv is None:
            return
        if alarm is not None:
            self.unsaved[alarm.id] = _stored(alarm, self.transitions.get(alarm.id, 0))
        for alarm_id, doc in list(self.unsaved.items()):
            if not await self.saves.put(self.kv, _key(alarm_id), doc):
                return
            if self.unsaved.get(alarm_id) is doc:  # not changed again meanwhile
                del self.unsaved[alarm_id]
