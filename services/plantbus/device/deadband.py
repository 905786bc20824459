"""When a reading is worth publishing: on change beyond the tag's deadband, on any
quality change, and at least every ``refresh_s`` so consumers see the tag is alive."""

from __future__ import annotations

from typing import Protocol

from plantbus.config.devices import Tag
from plantbus.sdk.driver import Quality, Scalar

__all__ = ["Published", "worth_publishing"]


class Published(Protocol):
    """What was last published for one tag (the tag's state keeps it, updated in place)."""

    value: Scalar | None
    quality: Quality
    at: float


def _moved(tag: Tag, last: Scalar | None, value: Scalar | None) -> bool:
    if (
        tag.deadband > 0
        and isinstance(value, int | float)
        and isinstance(last, int | float)
        and not isinstance(value, bool)
        and not isinstance(last, bool)
    ):
        return abs(value - last) > tag.deadband
    return value != last


def worth_publishing(
    tag: Tag,
    last: Published | None,
    value: Scalar | None,
    quality: Quality,
    now: float,
    refresh_s: float,
) -> bool:
    """True for the first reading, a quality change, a move beyond the deadband, or when
    ``refresh_s`` passed since the last publish."""
    return (
        last is None
        or quality != last.quality
        or now - last.at >= refresh_s
        or _moved(tag, last.value, value)
    )
