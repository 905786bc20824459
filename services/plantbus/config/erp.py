"""ERP connections (owned by the ERP sync service)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["ErpConnection"]


class ErpConnection(Strict):
    """One ERP connector instance and the line its work orders run on."""

    name: Name
    connector: str
    settings: dict[str, Any] = Field(default_factory=dict)
    """Connector settings, validated by the connector plugin's own Settings model."""
    site: Name
    line: Name
    poll_interval_s: float = Field(default=10.0, gt=0)
    confirm_interval_s: float = Field(default=60.0, gt=0)
    """How often a running order's progress is confirmed to the ERP."""
    redelivery_s: float = Field(default=30.0, ge=1)
    """A confirmation whose sending was cut off (the service died) is sent again after this."""
