"""POST each maintenance request as JSON, signed as Standard Webhooks.

``webhook-id`` is ``msg_`` and a hash of the request's key: the same on every retry and
after a redelivery, so a receiver that drops ids it has seen files a due point once.
"""

from __future__ import annotations

import json
import time
from typing import ClassVar
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel

from plantbus.sdk import API_VERSION, webhooks
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable, describe
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.sdk.plugin import PluginManifest
from plantbus.sdk.webhooks import WebhookSettings, headers, signing_key

__all__ = ["WebhookRequests", "WebhookSettings", "body", "message_id"]


def message_id(request: MaintenanceRequest) -> str:
    """The same for every attempt of one request."""
    return webhooks.message_id(request.key)


def body(request: MaintenanceRequest) -> bytes:
    """The JSON that is POSTed."""
    return json.dumps(
        {
            "key": request.key,
            "plan": request.plan,
            "machine": request.machine,
            "component": request.component,
            "reason": request.reason,
            "message": request.message,
            "time": request.time.isoformat(),
            "due": request.due.isoformat() if request.due else None,
            "usage": dict(request.usage),
        },
        separators=(",", ":"),
    ).encode()


class WebhookRequests(MaintenanceConnector[WebhookSettings]):
    """HTTP POST with a Standard Webhooks signature; one HTTP session, reused."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "webhook", "0.1.0", API_VERSION, "Maintenance requests as Standard Webhooks signed POST"
    )
    Settings: ClassVar[type[BaseModel]] = WebhookSettings

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

    async def send(self, request: MaintenanceRequest) -> str:
        """POST once, signed for this attempt; the receiver's ``Location`` or ''."""
        data, msg_id = body(request), message_id(request)
        signed = headers(self._key, msg_id, int(time.time()), data)
        signed["X-Plantbus-Maintenance"] = request.key
        try:
            async with self._client().post(
                self.settings.url, data=data, headers=signed, allow_redirects=False
            ) as reply:
                status, location = reply.status, reply.headers.get("Location", "")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise NotifierUnavailable(f"webhook {self._where}: {describe(err)}") from err
        if 200 <= status < 300:
            return location
        if status >= 500 or status in webhooks.RETRYABLE:
            raise NotifierUnavailable(f"webhook {self._where} answered HTTP {status}; retrying")
        raise NotifierRejected(f"webhook {self._where} refused the request with HTTP {status}")

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._session is not None:
            await self._session.close()
            self._session = None
