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
import time
from urllib.parse import urlsplit

import aiohttp

from plantbus.sdk import API_VERSION, webhooks
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable, describe
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import PluginManifest
from plantbus.sdk.webhooks import SECRET_PREFIX, WebhookSettings, headers, sign, signing_key

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
        self._key = signing_key(settings.secret.get_secret_value())
        self._where = urlsplit(settings.url)._replace(query="", fragment="").geturl()
        """The URL for messages: a query string may hold a token, so it is never shown."""
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def send(self, notification: AlarmNotification) -> None:
        """POST once, signed for this attempt; NotifierUnavailable or NotifierRejected."""
        body, msg_id, now = _body(notification), message_id(notification), int(time.time())
        signed = headers(self._key, msg_id, now, body)
        signed["X-Plantbus-Alarm"] = notification.alarm_id
        try:
            async with self._client().post(
                self.settings.url, data=body, headers=signed, allow_redirects=False
            ) as reply:
                status = reply.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise NotifierUnavailable(f"webhook {self._where}: {describe(err)}") from err
        if 200 <= status < 300:
            return
        if status >= 500 or status in webhooks.RETRYABLE:
            raise NotifierUnavailable(f"webhook {self._where} answered HTTP {status}; retrying")
        raise NotifierRejected(
            f"webhook {self._where} refused the call with HTTP {status}"
            + (" (it does not follow redirects: set the final URL)" if status < 400 else "")
        )

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._session is not None:
            await self._session.close()
            self._session = None
