"""Devices and their tags (owned by the device service)."""

from __future__ import annotations

import sys
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from plantbus.config.base import Name, Strict
from plantbus.sdk.driver import ByteOrder, DataType, TagRef

__all__ = ["Device", "Tag", "sharing"]

_FIELD_SETS: dict[frozenset[str], set[str]] = {}
"""One set of given field names per combination, shared by the tags that gave it."""


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
        self._share_repeats()
        return self

    def _share_repeats(self) -> None:
        """Share what tags repeat instead of holding a copy each: the set of the fields
        given (pydantic makes one per model, 216 bytes; its copies copy it before they
        change it), and names and addresses that recur on every machine of a kind (``temp``,
        ``holding:0``). A plant of 50,000 tags held about 880 bytes a tag, 300 of them so."""
        given = self.__pydantic_fields_set__
        object.__setattr__(
            self, "__pydantic_fields_set__", _FIELD_SETS.setdefault(frozenset(given), given)
        )
        values = self.__dict__
        values["name"] = sys.intern(values["name"])
        values["address"] = sys.intern(values["address"])

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


def _same(old: BaseModel, new: BaseModel) -> bool:
    """Equal, and given the same fields (what a dump without defaults shows)."""
    return old.__pydantic_fields_set__ == new.__pydantic_fields_set__ and old == new


def sharing(device: Device, old: Device | None) -> Device:
    """``device`` holding the very tags of ``old`` (the device of its name last time)
    that equal its own, or ``old`` itself when nothing differs. Re-applying a plant with
    a setting of every device changed then keeps every tag instead of making it anew:
    the objects of two plants interleaved in the heap were what grew a process's memory
    on each such apply (pymalloc gives an arena back only once all of it is free)."""
    if old is None:
        return device
    if _same(old, device):
        return old
    tags = device.tags  # its own list, made by this validation
    for i, (was, tag) in enumerate(zip(old.tags, tags, strict=False)):
        if _same(was, tag):
            tags[i] = was
    return device
