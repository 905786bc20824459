"""Devices and their tags (owned by the device service)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from plantbus.config.base import Name, Strict
from plantbus.sdk.driver import ByteOrder, DataType, TagRef

__all__ = ["Device", "Tag"]


class Tag(Strict):
    """One process value of a machine, read through a device."""

    name: Name
    address: str
    data_type: DataType
    unit: str = ""
    scale: float = 1.0
    """Engineering value = raw * scale + offset (numeric types only)."""
    offset: float = 0.0
    deadband: float = 0.0
    """Publish only when the value moved more than this (absolute); 0 publishes every change."""
    access: Literal["read", "read_write"] = "read"
    byte_order: ByteOrder = ByteOrder.BIG
    word_order: ByteOrder = ByteOrder.BIG
    length: int = 0
    min: float | None = None
    """Lowest engineering value a write may set (writes only; readings are never clipped)."""
    max: float | None = None
    """Highest engineering value a write may set."""

    @model_validator(mode="after")
    def _limits_in_order(self) -> Tag:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"tag {self.name!r}: min {self.min} is above max {self.max}")
        return self

    def ref(self) -> TagRef:
        """The driver's view of this tag."""
        return TagRef(
            self.name,
            self.address,
            self.data_type,
            self.byte_order,
            self.word_order,
            self.length,
            self.access == "read_write",
        )


class Device(Strict):
    """A connection to one PLC, CNC or controller, and the machine its tags belong to."""

    name: Name
    driver: str
    endpoint: str
    machine: str
    """Path site/area/line/machine the tags are published under."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Driver settings, validated by the driver plugin's own Settings model."""
    poll_interval_s: float = Field(default=1.0, gt=0)
    mode: Literal["auto", "poll", "subscribe"] = "auto"
    """``auto`` subscribes when the driver can push changes (OPC UA), else polls."""
    refresh_s: float = Field(default=60.0, gt=0)
    """Republish an unchanged tag after this long, so consumers see it is alive."""
    instance: str | None = None
    """Device-service instance that runs this device; None lets instances share devices out."""
    tags: list[Tag] = Field(default_factory=list)
