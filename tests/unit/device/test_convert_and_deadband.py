"""Engineering/raw conversion and publish-worthiness (the protobuf form: test_wire.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from plantbus.config.devices import Tag
from plantbus.device.convert import to_engineering, to_raw
from plantbus.device.deadband import worth_publishing
from plantbus.sdk.driver import Quality, Scalar

SCALED = Tag(name="t", address="a", data_type="int16", scale=0.1, offset=-40)
SCALED_FLOAT = Tag(name="f", address="b", data_type="float32", scale=2.0)
PLAIN = Tag(name="p", address="c", data_type="uint16")


@dataclass
class Last:
    value: Scalar | None
    quality: Quality
    at: float


@pytest.mark.parametrize("raw", [-400, 0, 612, 1234])
def test_raw_engineering_round_trip(raw: int) -> None:
    value = to_engineering(SCALED, raw)
    assert isinstance(value, float)
    assert to_raw(SCALED, value) == raw


def test_conversion_leaves_unscaled_and_non_numeric_values_alone() -> None:
    assert to_engineering(PLAIN, 7) == 7 and to_raw(PLAIN, 7) == 7
    assert to_engineering(SCALED, True) is True and to_engineering(SCALED, None) is None
    assert to_raw(SCALED_FLOAT, 5.0) == 2.5  # float tags keep the fraction


def test_worth_publishing() -> None:
    tag = Tag(name="t", address="a", data_type="float64", deadband=1.0)
    last = Last(10.0, Quality.GOOD, at=0.0)
    assert worth_publishing(tag, None, 10.0, Quality.GOOD, 0.0, 60)
    assert not worth_publishing(tag, last, 10.9, Quality.GOOD, 1.0, 60)
    assert worth_publishing(tag, last, 11.1, Quality.GOOD, 1.0, 60)
    assert worth_publishing(tag, last, 10.0, Quality.UNCERTAIN, 1.0, 60)
    assert worth_publishing(tag, last, 10.0, Quality.GOOD, 60.0, 60)
    flag = Tag(name="b", address="b", data_type="bool", deadband=1.0)
    assert worth_publishing(flag, Last(False, Quality.GOOD, 0), True, Quality.GOOD, 1, 60)
