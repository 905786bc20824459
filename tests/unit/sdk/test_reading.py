"""The vendor API's Reading and TagRef stay what drivers rely on after being slotted: the
same constructor (positional or by keyword, with defaults), attributes, equality and
hashing, immutability, dataclass helpers; and no per-instance ``__dict__``."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from plantbus.sdk.driver import DataType, Quality, Reading, TagRef


def test_reading_keeps_its_api() -> None:
    when = datetime(2026, 12, 1, tzinfo=UTC)
    full = Reading("t", 1.5, Quality.UNCERTAIN, "stale", when)
    assert full == Reading(
        tag="t", value=1.5, quality=Quality.UNCERTAIN, reason="stale", source_time=when
    )
    assert (full.tag, full.value, full.quality, full.reason, full.source_time) == (
        "t",
        1.5,
        Quality.UNCERTAIN,
        "stale",
        when,
    )
    plain = Reading("t", 2)
    assert (plain.quality, plain.reason, plain.source_time) == (Quality.GOOD, "", None)
    assert hash(plain) == hash(Reading("t", 2)) and plain != Reading("t", 3)
    assert dataclasses.replace(plain, value=3) == Reading("t", 3)
    assert [f.name for f in dataclasses.fields(Reading)] == [
        "tag",
        "value",
        "quality",
        "reason",
        "source_time",
    ]
    assert pickle.loads(pickle.dumps(full)) == full
    assert Reading.bad("t", "why") == Reading("t", None, Quality.BAD, "why")
    assert (
        repr(plain)
        == "Reading(tag='t', value=2, quality=<Quality.GOOD: 1>, reason='', source_time=None)"
    )


@pytest.mark.parametrize(
    ("obj", "field"),
    [(Reading("t", 1), "value"), (TagRef("t", "holding:1", DataType.UINT16), "address")],
)
def test_slotted_and_immutable(obj: object, field: str) -> None:
    assert not hasattr(obj, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, "other")
    # CPython 3.11 raises TypeError here for a frozen slotted dataclass: refused either way
    with pytest.raises((AttributeError, TypeError)):
        obj.extra = 1  # type: ignore[attr-defined]
