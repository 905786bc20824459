"""Write config versions straight into the governance KV bucket, for tests of followers,
signed with the test key that :func:`plantbus.testing.harness.hosted` gives its services;
users and roles for tests that act as someone."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from nats.js.errors import KeyNotFoundError

from plantbus.config import PlantConfig
from plantbus.kit.bus import Bus
from plantbus.kit.config_watch import CURRENT_KEY, config_kv
from plantbus.kit.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, Signer

__all__ = ["TEST_SIGNER", "people", "put_config", "put_document", "write_test_keys"]

TEST_SIGNER: Final = Signer(
    Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"plantbus test signing key").digest())
)
"""A fixed key for tests only: never the key of a real hub."""


def people(**users: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``roles`` and ``users`` sections: each keyword a user with a role of the same name
    holding those permissions, e.g. ``{**config, **people(olga=["alarm.acknowledge"])}``."""
    return {
        "roles": [{"name": name, "permissions": perms} for name, perms in users.items()],
        "users": [{"name": name, "roles": [name]} for name in users],
    }


def write_test_keys(directory: Path) -> tuple[Path, Path]:
    """The test key's files in ``directory``: (private, public)."""
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    key = TEST_SIGNER.key
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


async def put_document(bus: Bus, doc: dict[str, Any]) -> None:
    """Write ``doc`` as it is to ``history.<version>`` and ``current`` (forgeries too)."""
    kv = await config_kv(bus)
    raw = json.dumps(doc).encode()
    await kv.put(f"history.{doc['version']}", raw)
    await kv.put(CURRENT_KEY, raw)


async def put_config(
    bus: Bus,
    config: PlantConfig | dict[str, Any],
    message: str = "test",
    signer: Signer | None = TEST_SIGNER,
) -> int:
    """Store ``config`` as the next version (as governance would, signed by ``signer``;
    None leaves it unsigned) and return its number."""
    model = config if isinstance(config, PlantConfig) else PlantConfig.model_validate(config)
    kv = await config_kv(bus)
    try:
        current = await kv.get(CURRENT_KEY)
        version = int(json.loads(current.value or b"{}").get("version", 0)) + 1
    except KeyNotFoundError:
        version = 1
    doc = {
        "version": version,
        "author": "pytest",
        "time": datetime.now(UTC).isoformat(),
        "message": message,
        "config": model.model_dump(mode="json"),
    }
    await put_document(bus, signer.sign(doc) if signer else doc)
    return version
