"""Notification dispatch: an alarm that becomes unacknowledged is handed to every
configured notifier, once across replicas.

Which replica hands a transition to a notifier is decided in KV ``plantbus_notified``:
the one that first creates the entry ``<notifier>.<transition>``. Each delivery (its
priority filter, rate limit and retries: :mod:`plantbus.alerting.delivery`) runs in the
service's task set.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import nats.errors
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from plantbus.alerting.convert import notification_of
from plantbus.alerting.delivery import Delivery
from plantbus.alerting.lifecycle import Alarm
from plantbus.config.alerting import NotifierConfig
from plantbus.kit import streams
from plantbus.kit.bus import Bus, kv_key
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.supervisor import TaskSet
from plantbus.plugins import NOTIFIERS, PluginRegistry, discover
from plantbus.sdk.errors import PlantbusError
from plantbus.sdk.notifier import Notifier

__all__ = ["Notices"]


class Notices:
    """The configured notifiers and the replica-wide record of what each was given."""

    def __init__(self, tasks: TaskSet, log: logging.Logger) -> None:
        self.tasks = tasks
        self.log = log
        self.plugins: PluginRegistry[Notifier[Any]] = discover(NOTIFIERS, lazy=True)
        self.deliveries: list[Delivery] = []
        self._notified: KeyValue | None = None

    async def open(self, bus: Bus) -> None:
        """Open (or create) the bucket of notifications given."""
        self._notified = await streams.open_bucket(bus, streams.NOTIFIED)

    def configure(self, notifiers: list[NotifierConfig]) -> None:
        """One delivery per configured notifier; one that cannot run is logged and left
        out."""
        out = []
        for cfg in notifiers:
            try:
                cls = self.plugins.get(cfg.plugin)
                out.append(Delivery(cfg, cls(plugin_settings(cls, cfg.settings))))
            except (PlantbusError, ValueError) as err:
                self.log.error("notifier %s cannot run: %s", cfg.name, err)
        self.deliveries = out

    async def notify(self, alarm: Alarm, transition: str, at: datetime) -> None:
        """Hand ``alarm``'s change ``transition`` to every notifier not given it yet."""
        note = notification_of(alarm, at)
        for delivery in self.deliveries:
            if await self._first_notice(delivery.config.name, transition):
                delivery.offer(note, self.tasks)

    async def _first_notice(self, notifier: str, transition: str) -> bool:
        """Whether this replica is the first to give ``transition`` to ``notifier`` (its
        entry created here); True too when NATS does not answer (rather a notification
        twice than none)."""
        if self._notified is None:
            return True
        try:
            await self._notified.create(kv_key(f"{notifier}.{transition.replace('@', '=')}"), b"")
        except KeyWrongLastSequenceError:
            return False
        except (nats.errors.Error, OSError) as err:  # NATS away: deliver anyway
            self.log.warning("notification of %s not deduplicated: %s", transition, err)
        return True

    async def close(self) -> None:
        """Close every notifier."""
        for delivery in self.deliveries:
            try:
                await delivery.notifier.close()
            except Exception as err:  # noqa: BLE001 - the plugin boundary: closing is best effort
                self.log.warning("notifier %s did not close: %s", delivery.config.name, err)
