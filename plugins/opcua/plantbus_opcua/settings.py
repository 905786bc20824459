"""The OPC UA driver's settings and the security policies it speaks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from asyncua.crypto.security_policies import (
    SecurityPolicy,
    SecurityPolicyAes256Sha256RsaPss,
    SecurityPolicyBasic256Sha256,
    SecurityPolicyNone,
)
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

__all__ = ["POLICY_URIS", "SECURE_POLICIES", "OpcUaSettings"]

SECURE_POLICIES: dict[str, type[SecurityPolicy]] = {
    "Aes256_Sha256_RsaPss": SecurityPolicyAes256Sha256RsaPss,
    "Basic256Sha256": SecurityPolicyBasic256Sha256,
}
"""The policies the driver speaks, strongest first (``security: auto`` takes the first the
server offers)."""
_NAMES = ("auto", "None", *SECURE_POLICIES)
POLICY_URIS = {"None": SecurityPolicyNone.URI, **{n: p.URI for n, p in SECURE_POLICIES.items()}}


def _canonical(value: object) -> object:
    """``none``, ``NONE`` and ``basic256sha256`` mean what they say."""
    if isinstance(value, str):
        return next((n for n in _NAMES if n.lower() == value.lower()), value)
    return value


class OpcUaSettings(BaseModel):
    """Connection and security settings of one OPC UA server."""

    model_config = ConfigDict(extra="forbid")
    security: Annotated[
        Literal["auto", "None", "Aes256_Sha256_RsaPss", "Basic256Sha256"],
        BeforeValidator(_canonical),
    ] = "auto"
    """``auto``: the strongest policy of SECURE_POLICIES the server offers; a policy name:
    that one only; ``None``: neither signed nor encrypted, only when said here."""
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    """The client's certificate (DER or PEM), its application URI in the subjectAltName;
    default: the hub's own, made on first use in ``<data_dir>/pki/opcua/own/``."""
    private_key: Path | None = None
    server_certificate: Path | None = None
    """Pin the server's certificate (DER or PEM) instead of trusting the trust list."""
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _key_with_certificate(self) -> OpcUaSettings:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together: set both or neither")
        return self
