"""POST each maintenance request as JSON, signed as Standard Webhooks.

``webhook-id`` is ``msg_`` and a hash of the request's key: the same on every retry and
after a redelivery, so a receiver that drops ids it has seen files a due point once.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel

from plantbus.sdk import API_VERSION, webhooks
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.sdk.plugin import PluginManifest
from plantbus.sdk.webhooks import WebhookPoster, WebhookSettings

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
        self._poster = WebhookPoster(settings)

    async def send(self, request: MaintenanceRequest) -> str:
        """POST once, signed for this attempt; the receiver's ``Location`` or ''."""
        extra = {"X-Plantbus-Maintenance": request.key}
        answer = await self._poster.post(body(request), message_id(request), extra)
        return answer.get("Location", "")

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        await self._poster.close()
