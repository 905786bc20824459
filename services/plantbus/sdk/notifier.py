"""The notifier interface (entry-point group ``plantbus.notifiers``).

A notifier delivers one alarm state change to people or systems (webhook, e-mail,
messaging). The alerting service owns deduplication, rate limits and retries.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = ["AlarmNotification", "Notifier"]


@dataclass(frozen=True)
class AlarmNotification:
    """What a notifier is told about one alarm state change."""

    alarm_id: str
    rule: str
    machine: str
    state: str
    priority: str
    message: str
    value: float | str | None
    time: datetime
    actor: str = ""


class Notifier(Plugin[SettingsT], abc.ABC):
    """Base class of notifiers; one instance per configured notifier."""

    def __init__(self, settings: SettingsT) -> None:
        """Store validated settings. Must not perform I/O."""
        self.settings = settings

    @abc.abstractmethod
    async def send(self, notification: AlarmNotification) -> None:
        """Deliver one notification; raise to have the service retry with back-off.

        Raise :class:`~plantbus.sdk.errors.NotifierUnavailable` when the receiver cannot
        be reached or is busy, and :class:`~plantbus.sdk.errors.NotifierRejected` when it
        refused the notification, the login or the certificate (the message says how to
        fix it); never put a secret in the message.
        """

    async def close(self) -> None:
        """Release connections; safe to call twice."""
