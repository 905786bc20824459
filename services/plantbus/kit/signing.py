"""Signed config documents: governance signs every version it stores with its Ed25519 key,
and every service verifies the signature before it applies a version.

The signature covers the canonical JSON of the document without its ``signature`` field
(``json.dumps(doc, sort_keys=True, separators=(",", ":"))``), so any change to the
version, author, message or config breaks it. Keys are PEM files: the private key
(PKCS#8, mode 0600) stays with governance, the public key goes to every service
(``PLANTBUS_CONFIG_PUBKEY``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from plantbus.sdk.errors import ConfigError, PlantbusError

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SIGNATURE_FIELD",
    "SignatureInvalid",
    "Signer",
    "Verifier",
    "canonical",
    "ensure_signing_key",
]

SIGNATURE_FIELD: Final = "signature"
PRIVATE_KEY_FILE: Final = "config-signing.key"
PUBLIC_KEY_FILE: Final = "config-signing.pub"
_ALG: Final = "ed25519"


class SignatureInvalid(PlantbusError):
    """Raised when a config document is unsigned, or its signature does not verify."""

    reason = "SIGNATURE_INVALID"


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the document without its signature, canonical JSON."""
    unsigned = {k: v for k, v in doc.items() if k != SIGNATURE_FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def _key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    """Signs documents with a private key (governance)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.key_id = _key_id(key.public_key())

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """Load a PEM private key; ConfigError names the file and what is wrong."""
        key = serialization.load_pem_private_key(_read(path, "config signing key"), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"config signing key {path} is not an Ed25519 key")
        return cls(key)

    def sign(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with its signature."""
        value = base64.b64encode(self.key.sign(canonical(doc))).decode()
        return {**doc, SIGNATURE_FIELD: {"alg": _ALG, "key_id": self.key_id, "value": value}}

    def verifier(self) -> Verifier:
        """A verifier for this signer's public key."""
        return Verifier(self.key.public_key())


class Verifier:
    """Checks documents against a public key (every service)."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self.key = key
        self.key_id = _key_id(key)

    @classmethod
    def from_file(cls, path: Path) -> Verifier:
        """Load a PEM public key; ConfigError names the file and what is wrong."""
        key = serialization.load_pem_public_key(_read(path, "config public key"))
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"config public key {path} is not an Ed25519 key")
        return cls(key)

    def verify(self, doc: dict[str, Any]) -> None:
        """Raise SignatureInvalid saying why ``doc`` is not governance's."""
        signature = doc.get(SIGNATURE_FIELD)
        if not isinstance(signature, dict) or not signature.get("value"):
            raise SignatureInvalid("it is not signed")
        if signature.get("key_id") != self.key_id:
            raise SignatureInvalid(
                f"it is signed by key {signature.get('key_id')!r}, not by governance's "
                f"key {self.key_id!r}"
            )
        try:
            self.key.verify(base64.b64decode(str(signature["value"])), canonical(doc))
        except (InvalidSignature, ValueError):
            raise SignatureInvalid("its signature does not match its content") from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{what} {path}: cannot read it ({err.strerror})") from None


def ensure_signing_key(directory: Path) -> tuple[Path, Path]:
    """The private and public key files in ``directory``, created on first use (the
    private key 0600 from its first byte). Returns (private, public)."""
    private = directory / PRIVATE_KEY_FILE
    public = directory / PUBLIC_KEY_FILE
    if private.is_file() and public.is_file():
        return private, public
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public
