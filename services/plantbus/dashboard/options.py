"""The dashboard's options (``--option dashboard.KEY=VALUE``), validated once at start."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from plantbus.sdk.errors import ConfigError

__all__ = ["DashboardOptions"]


class DashboardOptions(BaseModel):
    """Where the page listens, who may read it and how long a sign-in lasts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    token: SecretStr | None = None
    """The secret that mints login links (``plantbus dashboard login``); never a session."""
    token_user: str = Field("operator", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")
    """Who a login link signs in (the user the actions are carried out and audited as)."""
    public_read: bool = False
    """Anyone who reaches the page may watch it (a wall screen); actions still need a sign-in."""
    public_url: str | None = None
    """The address browsers use behind a proxy or Ingress (``https://plant.example.com``):
    login links point there and only that origin may act."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    login_link_minutes: float = Field(10, gt=0, le=60)
    session_idle_minutes: float = Field(30, gt=0)
    session_max_hours: float = Field(12, gt=0)

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError(f"{value!r} is not an origin like https://plant.example.com")
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def parse(cls, options: dict[str, Any]) -> DashboardOptions:
        """The options, with the token from PLANTBUS_DASHBOARD_TOKEN when not given."""
        env = os.environ.get("PLANTBUS_DASHBOARD_TOKEN")
        merged = {"token": env, **options} if env else options
        try:
            parsed = cls.model_validate(merged)
        except ValidationError as err:
            problems = "; ".join(
                f"dashboard.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise ConfigError(f"bad dashboard option: {problems}") from None
        if (parsed.tls_cert is None) != (parsed.tls_key is None):
            raise ConfigError("give both dashboard.tls_cert and dashboard.tls_key, or neither")
        return parsed

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context when a certificate is given."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(
                f"dashboard cannot load its certificate {self.tls_cert} and key "
                f"{self.tls_key}: {err} (options dashboard.tls_cert, dashboard.tls_key)"
            ) from err
        return context

    @property
    def secure(self) -> bool:
        """Browsers reach the page over HTTPS (served here, or by a proxy in front)."""
        return self.tls_cert is not None or (self.public_url or "").startswith("https:")
