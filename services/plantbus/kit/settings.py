"""Process settings of a service runner, from the command line and PLANTBUS_* variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from plantbus.kit.bus import NatsSettings
from plantbus.kit.rpc import MAX_MESSAGE_BYTES, GrpcSettings
from plantbus.sdk.errors import ConfigError

__all__ = ["RunnerSettings", "from_env"]


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


def from_env(nats_url: str | None = None) -> tuple[NatsSettings, GrpcSettings]:
    """NATS and gRPC security settings from the PLANTBUS_* environment (see docs/deploy.md)."""
    nats = NatsSettings(
        url=nats_url or os.environ.get("PLANTBUS_NATS_URL", "nats://127.0.0.1:4222"),
        user=os.environ.get("PLANTBUS_NATS_USER") or None,
        password=_secret("PLANTBUS_NATS_PASSWORD"),
        token=_secret("PLANTBUS_NATS_TOKEN"),
        creds_file=_path("PLANTBUS_NATS_CREDS"),
        tls_ca=_path("PLANTBUS_NATS_TLS_CA"),
        tls_cert=_path("PLANTBUS_NATS_TLS_CERT"),
        tls_key=_path("PLANTBUS_NATS_TLS_KEY"),
    )
    grpc = GrpcSettings(
        tls_cert=_path("PLANTBUS_GRPC_TLS_CERT"),
        tls_key=_path("PLANTBUS_GRPC_TLS_KEY"),
        tls_ca=_path("PLANTBUS_GRPC_TLS_CA"),
        max_message_bytes=_int("PLANTBUS_GRPC_MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES),
    )
    return nats, grpc
