"""POST each alarm as JSON, signed as Standard Webhooks (v1, symmetric) specifies.

Headers of every attempt:

- ``webhook-id``: ``msg_<hex>``, derived from the alarm, its state and the time of the
  change, so it is the same on every retry of one delivery and a receiver drops duplicates;
- ``webhook-timestamp``: this attempt's Unix time in seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed
  with the secret's bytes (the base64 after its ``whsec_`` prefix).

A receiver that checks the signature, refuses timestamps outside its tolerance and ids it
has seen cannot be fooled by a tampered body or a replayed call (docs/alerting.md shows
how); ``X-Plantbus-Alarm`` carries the alarm id for routing.
"""

from __future__ import annotations

import json

from plantbus.sdk import API_VERSION, webhooks
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import PluginManifest
from plantbus.sdk.webhooks import SECRET_PREFIX, WebhookPoster, WebhookSettings, sign, signing_key

__all__ = ["SECRET_PREFIX", "WebhookNotifier", "WebhookSettings", "sign", "signing_key"]


def message_id(note: AlarmNotification) -> str:
    """The same for every attempt of one alarm state change."""
    return webhooks.message_id(f"{note.alarm_id}\n{note.state}\n{note.time.isoformat()}")


def _body(note: AlarmNotification) -> bytes:
    return json.dumps(
        {
            "alarm_id": note.alarm_id,
            "rule": note.rule,
            "machine": note.machine,
            "state": note.state,
            "priority": note.priority,
            "message": note.message,
            "value": note.value,
            "time": note.time.isoformat(),
        },
        separators=(",", ":"),
    ).encode()


class WebhookNotifier(Notifier[WebhookSettings]):
    """HTTP POST with a Standard Webhooks signature; one HTTP session, reused."""

    manifest = PluginManifest("webhook", "0.2.0", API_VERSION, "Standard Webhooks signed POST")
    Settings = WebhookSettings

    def __init__(self, settings: WebhookSettings) -> None:
        super().__init__(settings)
        self._poster = WebhookPoster(settings)

    async def send(self, notification: AlarmNotification) -> None:
        """POST once, signed for this attempt; NotifierUnavailable or NotifierRejected."""
        extra = {"X-Plantbus-Alarm": notification.alarm_id}
        await self._poster.post(_body(notification), message_id(notification), extra)

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        await self._poster.close()
