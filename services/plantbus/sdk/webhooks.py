"""Standard Webhooks signing (v1, symmetric), shared by the plugins that POST signed
JSON: the alarm notifier and the maintenance-request connector.

- ``webhook-id``: the same on every retry of one message, so a receiver drops duplicates;
- ``webhook-timestamp``: the attempt's Unix time in seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed
  with the secret's bytes (the base64 after its ``whsec_`` prefix).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable, describe

__all__ = [
    "RETRYABLE",
    "SECRET_PREFIX",
    "WebhookPoster",
    "WebhookSettings",
    "headers",
    "message_id",
    "sign",
    "signing_key",
]

SECRET_PREFIX: Final = "whsec_"
_MAKE_ONE: Final = (
    "python3 -c \"import base64, secrets; print('whsec_' + "
    'base64.b64encode(secrets.token_bytes(32)).decode())"'
)


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret; ValueError saying how to make one."""
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        key = b""
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ValueError(
            "must be 'whsec_' followed by the base64 of 24 to 64 random bytes "
            f"(Standard Webhooks); make one with: {_MAKE_ONE}"
        )
    return key


class WebhookSettings(BaseModel):
    """Where to POST and the signing secret."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr
    """``whsec_`` and base64 of 24 to 64 random bytes; share it with the receiver only."""
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("secret")
    @classmethod
    def _standard(cls, value: SecretStr) -> SecretStr:
        signing_key(value.get_secret_value())
        return value


RETRYABLE: Final = frozenset({408, 425, 429})
"""4xx answers that mean "later", not "never" (with every 5xx)."""


def message_id(seed: str) -> str:
    """A ``webhook-id`` from what makes a message one message: the same for every attempt of
    it, and never containing a ``.`` (the signature joins the id with dots)."""
    return "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one signed JSON attempt."""
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


class WebhookPoster:
    """POSTs signed JSON to one receiver over one HTTP session, and says what its answer
    means: the reply's headers on 2xx, NotifierUnavailable (unreachable, 5xx, "later")
    or NotifierRejected; redirects are not followed, since the signature is for the URL
    the operator gave."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self._key = signing_key(settings.secret.get_secret_value())
        self.where = urlsplit(settings.url)._replace(query="", fragment="").geturl()
        """The URL for messages: a query string may hold a token, so it is never shown."""
        self._session: aiohttp.ClientSession | None = None

    async def post(self, body: bytes, msg_id: str, extra: Mapping[str, str]) -> Mapping[str, str]:
        """One attempt of message ``msg_id``, signed now, with the ``extra`` headers."""
        signed = headers(self._key, msg_id, int(time.time()), body) | dict(extra)
        try:
            async with self._client().post(
                self.settings.url, data=body, headers=signed, allow_redirects=False
            ) as reply:
                status, answer = reply.status, reply.headers
        except (aiohttp.ClientError, TimeoutError) as err:
            raise NotifierUnavailable(f"webhook {self.where}: {describe(err)}") from err
        if 200 <= status < 300:
            return answer
        if status >= 500 or status in RETRYABLE:
            raise NotifierUnavailable(f"webhook {self.where} answered HTTP {status}; retrying")
        raise NotifierRejected(
            f"webhook {self.where} refused the message with HTTP {status}"
            + (" (it does not follow redirects: set the final URL)" if status < 400 else "")
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._session is not None:
            await self._session.close()
            self._session = None
