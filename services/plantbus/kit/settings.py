"""Process settings of a service runner, from the command line and PLANTBUS_* variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from plantbus.kit.bus import NatsSettings
from plantbus.kit.grpc_settings import MAX_MESSAGE_BYTES, GrpcSettings
from plantbus.sdk.errors import ConfigError

__all__ = ["RunnerSettings", "config_keys_from_env", "from_env"]


class RunnerSettings(BaseModel):
    """Everything a runner needs to host services in one process."""

    services: list[str]
    instance: str = Field(default_factory=socket.gethostname)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    grpc: GrpcSettings = Field(default_factory=GrpcSettings)
    data_dir: Path
    heartbeat_interval_s: float = Field(default=2.0, gt=0)
    metrics_port: int | None = None
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-service options, e.g. ``{"governance": {"bootstrap_config": "examples/plant"}}``."""
    config_pubkey: Path | None = None
    """Governance's public key: config versions it did not sign are refused. Without it
    every version is applied unchecked (and the runner says so loudly)."""
    config_signing_key: Path | None = None
    """Governance's private key, with which it signs every version it stores."""


def _path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _secret(name: str) -> SecretStr | None:
    value = os.environ.get(name)
    return SecretStr(value) if value else None


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a whole number") from None


def _replicas() -> int:
    replicas = _int("PLANTBUS_JS_REPLICAS", 1)
    if not 1 <= replicas <= 5:
        raise ConfigError(
            f"PLANTBUS_JS_REPLICAS={replicas}: expected 1 to 5, at most the number of "
            "JetStream servers in the NATS cluster (3 on a 3-node cluster)"
        )
    return replicas


def _secret_file(name: str) -> SecretStr | None:
    """The secret in the file that variable ``name`` names (the value itself never sits
    in the environment of a process)."""
    path = _path(name)
    if path is None:
        return None
    try:
        return SecretStr(path.read_text().strip())
    except OSError as err:
        raise ConfigError(f"{name}={path}: cannot read it ({err.strerror})") from None


def from_env(nats_url: str | None = None) -> tuple[NatsSettings, GrpcSettings]:
    """NATS and gRPC security settings from the PLANTBUS_* environment (see docs/deploy.md):
    the gRPC server's certificate, key and the CA its clients' certificates must come from
    (``plantbus up`` points these at ``<data-dir>/pki``)."""
    nats = NatsSettings(
        url=nats_url or os.environ.get("PLANTBUS_NATS_URL", "nats://127.0.0.1:4222"),
        user=os.environ.get("PLANTBUS_NATS_USER") or None,
        password=_secret_file("PLANTBUS_NATS_PASSWORD_FILE") or _secret("PLANTBUS_NATS_PASSWORD"),
        token=_secret("PLANTBUS_NATS_TOKEN"),
        creds_file=_path("PLANTBUS_NATS_CREDS"),
        tls_ca=_path("PLANTBUS_NATS_TLS_CA"),
        tls_cert=_path("PLANTBUS_NATS_TLS_CERT"),
        tls_key=_path("PLANTBUS_NATS_TLS_KEY"),
        js_replicas=_replicas(),
    )
    grpc = GrpcSettings(
        tls_cert=_path("PLANTBUS_GRPC_TLS_CERT"),
        tls_key=_path("PLANTBUS_GRPC_TLS_KEY"),
        tls_ca=_path("PLANTBUS_GRPC_TLS_CA"),
        max_message_bytes=_int("PLANTBUS_GRPC_MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES),
    )
    return nats, grpc


def config_keys_from_env() -> tuple[Path | None, Path | None]:
    """(public key, signing key) from PLANTBUS_CONFIG_PUBKEY and PLANTBUS_CONFIG_SIGNING_KEY
    (file paths; see docs/security.md)."""
    return _path("PLANTBUS_CONFIG_PUBKEY"), _path("PLANTBUS_CONFIG_SIGNING_KEY")
