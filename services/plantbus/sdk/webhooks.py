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
from typing import Final

__all__ = ["SECRET_PREFIX", "headers", "sign", "signing_key"]

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
