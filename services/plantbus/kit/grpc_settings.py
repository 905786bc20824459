"""Where and how a service's gRPC server listens, and the bound on one message."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field

from plantbus.sdk.errors import ConfigError

__all__ = ["MAX_MESSAGE_BYTES", "GrpcSettings", "is_loopback"]

MAX_MESSAGE_BYTES = 32 * 2**20
"""The default bound on one gRPC message, as large as the biggest config document."""


class GrpcSettings(BaseModel):
    """Where and how a service's gRPC server listens.

    Secure by default: the main port takes only callers with a client certificate from
    ``tls_ca`` (mTLS, what services and the local operator use); ``token_port`` serves
    the same services over TLS without client certificates, for bearer-token callers
    (grpcio can require client certificates or not ask for them, not ask and accept
    either). ``insecure`` serves plaintext on the main port alone, on loopback only.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token_port: int = 0
    """0: any free port."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    insecure: bool = False
    grace_s: float = 5.0
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, gt=0)
    """Largest request the server reads (PLANTBUS_GRPC_MAX_MESSAGE_BYTES); the CLI's channel
    sends and receives as much."""

    def check(self) -> None:
        """ConfigError unless the settings are TLS with a CA, or insecure on loopback."""
        if self.insecure:
            if not is_loopback(self.host):
                raise ConfigError(
                    f"--insecure serves gRPC without authentication, so only on loopback, not "
                    f"on {self.host!r}: use --grpc-host 127.0.0.1, or certificates"
                )
            return
        missing = [
            env
            for env, value in (
                ("PLANTBUS_GRPC_TLS_CERT", self.tls_cert),
                ("PLANTBUS_GRPC_TLS_KEY", self.tls_key),
                ("PLANTBUS_GRPC_TLS_CA", self.tls_ca),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"gRPC needs TLS: {', '.join(missing)} not set (plantbus up makes them in "
                "<data-dir>/pki; see docs/security.md), or --insecure for development on "
                "loopback"
            )


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
