"""POST each alarm as JSON; the body is signed with HMAC-SHA256 so receivers can trust it.

Header ``X-Plantbus-Signature: sha256=<hex>`` is the HMAC of the exact body bytes with
the shared secret; ``X-Plantbus-Alarm`` carries the alarm id for routing.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk import API_VERSION
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import PluginManifest

__all__ = ["WebhookNotifier", "WebhookSettings", "sign"]


class WebhookSettings(BaseModel):
    """Where to POST and the shared secret."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr
    timeout_s: float = Field(default=5.0, gt=0)


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    """HTTP POST with an HMAC-signed JSON body."""

    manifest = PluginManifest("webhook", "0.1.0", API_VERSION, "HMAC-signed HTTP POST")
    Settings = WebhookSettings

    async def send(self, notification: AlarmNotification) -> None:
        """POST once; raise on a connection error or a non-2xx answer (the service retries)."""
        settings = self.settings
        assert isinstance(settings, WebhookSettings)
        body = json.dumps(
            {
                "alarm_id": notification.alarm_id,
                "rule": notification.rule,
                "machine": notification.machine,
                "state": notification.state,
                "priority": notification.priority,
                "message": notification.message,
                "value": notification.value,
                "time": notification.time.isoformat(),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Plantbus-Signature": sign(settings.secret.get_secret_value(), body),
            "X-Plantbus-Alarm": notification.alarm_id,
        }
        timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(settings.url, data=body, headers=headers) as reply,
        ):
            if reply.status >= 300:
                raise RuntimeError(f"webhook {settings.url} answered HTTP {reply.status}")
