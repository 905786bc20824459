"""The uns service's options (``--option uns.KEY=VALUE``), validated once at start."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconfig import MQTT_PORT
from plantbus.sdk.errors import ConfigError

__all__ = ["UnsOptions"]

_SCHEMES = ("mqtt", "mqtts")


class UnsOptions(BaseModel):
    """Where the MQTT listener is and how many messages may wait for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mqtt_url: str | None = None
    """``mqtt://host:port`` or ``mqtts://host:port`` (TLS with the NATS CA); None: the
    NATS server's host on port 1883, with TLS when NATS has it."""
    queue: int = Field(10_000, ge=1, le=1_000_000)
    """Messages kept while the listener is away; older values are worth little, so the
    ones beyond are dropped (and counted in health)."""

    @field_validator("mqtt_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in _SCHEMES or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"{value!r} is not mqtt://HOST:PORT or mqtts://HOST:PORT")
        return value

    @classmethod
    def parse(cls, options: dict[str, Any]) -> UnsOptions:
        """The options, or ConfigError naming each bad one."""
        try:
            return cls.model_validate(options)
        except ValidationError as err:
            problems = "; ".join(
                f"uns.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise ConfigError(f"invalid uns options: {problems}") from None

    def address(self, nats: NatsSettings) -> tuple[str, int, bool]:
        """(host, port, tls) of the MQTT listener."""
        if self.mqtt_url:
            parts = urlsplit(self.mqtt_url)
            return str(parts.hostname), parts.port or MQTT_PORT, parts.scheme == "mqtts"
        parts = urlsplit(nats.url.split(",")[0])
        tls = parts.scheme == "tls" or nats.tls_context() is not None
        return parts.hostname or "127.0.0.1", MQTT_PORT, tls
