"""The Sparkplug B edge node's section: which broker, which identity on it, which devices,
and the Plantbus user that DCMD writes act as.

Without a ``sparkplug:`` section the bridge service runs idle. The broker password is a
secret reference (:mod:`plantbus.config.secrets`), resolved only by the bridge.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from plantbus.config.base import Name, Strict

__all__ = ["Broker", "SparkplugConfig"]

_SCHEMES = {"mqtt": 1883, "mqtts": 8883}


class Broker(Strict):
    """The MQTT server the edge node connects to, and how it proves itself there."""

    url: str
    """``mqtt://host:port`` (plain) or ``mqtts://host:port`` (TLS; port 1883 or 8883 when
    omitted)."""
    username: str = ""
    password: str = ""
    """A secret reference (``env:NAME``, ``file:/path``, ``secret:<name>/<key>``), never the
    password itself."""
    ca_file: str = ""
    """PEM file of the CA that signed the broker's certificate (mqtts; empty: the
    system's trust store)."""
    cert_file: str = ""
    """PEM client certificate, for brokers that authenticate clients by certificate."""
    key_file: str = ""
    """PEM key of ``cert_file`` (a file readable by the bridge only)."""
    client_id: str = Field(default="", max_length=128)
    """The MQTT client id (empty: ``plantbus-<group_id>-<edge_node_id>``)."""
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError("write mqtt://host:port or mqtts://host:port")
        try:
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            raise ValueError("the port must be a number from 1 to 65535") from None
        if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
            raise ValueError(
                "give only scheme, host and port; credentials go in username and password"
            )
        return url

    @property
    def tls(self) -> bool:
        """True for ``mqtts://``."""
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The broker's port (the scheme's default when the URL has none)."""
        parts = urlsplit(self.url)
        return parts.port or _SCHEMES[parts.scheme]


class SparkplugConfig(Strict):
    """The hub as one Sparkplug B edge node: each device a Sparkplug device, each tag a metric."""

    broker: Broker
    group_id: Name
    """The Sparkplug group (``spBv1.0/<group_id>/...``)."""
    edge_node_id: Name
    """This hub's edge node id within the group."""
    user: Name
    """The Plantbus user DCMD writes act as: its roles and the write policies decide, as
    for a write from the CLI or the dashboard."""
    devices: list[Name] = Field(default_factory=list)
    """Device names to publish (empty: every device)."""
    commands: Literal["write", "ignore"] = "write"
    """``write``: a DCMD writes through the device service; ``ignore``: DCMDs are refused
    (audited) and the hub is read-only for Sparkplug hosts."""
