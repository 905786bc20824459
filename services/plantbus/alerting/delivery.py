"""Handing alarms to notifier plugins: priority filter, dedup, per-rule rate limit, retries."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from plantbus.config.alerting import NotifierConfig
from plantbus.kit.supervisor import TaskSet
from plantbus.sdk.notifier import AlarmNotification, Notifier

__all__ = ["Delivery"]

log = logging.getLogger(__name__)
_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
_DEDUP_S = 60.0


@dataclass
class Delivery:
    """One configured notifier and its limits."""

    config: NotifierConfig
    notifier: Notifier
    attempts: int = 4
    sent: dict[str, list[float]] = field(default_factory=dict)
    last: dict[tuple[str, str], float] = field(default_factory=dict)
    suppressed: int = 0
    failed: int = 0

    def wants(self, note: AlarmNotification, now: float) -> bool:
        """Priority high enough, not a duplicate, within the rule's hourly limit."""
        if _RANK.get(note.priority, 1) < _RANK[self.config.min_priority]:
            return False
        key = (note.alarm_id, note.state)
        if now - self.last.get(key, -_DEDUP_S) < _DEDUP_S:
            self.suppressed += 1
            return False
        window = [t for t in self.sent.get(note.rule, []) if now - t < 3600]
        if len(window) >= self.config.max_per_rule_per_hour:
            self.suppressed += 1
            return False
        self.sent[note.rule] = [*window, now]
        self.last[key] = now
        return True

    async def deliver(self, note: AlarmNotification) -> bool:
        """Send with capped exponential back-off; False after the last attempt failed."""
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                await self.notifier.send(note)
                return True
            except Exception as err:  # noqa: BLE001 - the plugin boundary
                log.warning(
                    "notifier %s attempt %d/%d for %s failed: %s",
                    self.config.name,
                    attempt,
                    self.attempts,
                    note.alarm_id,
                    err,
                )
                if attempt < self.attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
        self.failed += 1
        return False

    def offer(
        self, note: AlarmNotification, tasks: TaskSet | None = None
    ) -> asyncio.Task[bool] | None:
        """Start delivering ``note`` in the background (in ``tasks`` when given) when the
        limits allow it."""
        if not self.wants(note, time.monotonic()):
            return None
        name = f"notify-{self.config.name}"
        if tasks is not None:
            return tasks.spawn(self.deliver(note), name=name)
        return asyncio.create_task(self.deliver(note), name=name)
