"""Deadband, scaling, refresh and quality changes."""

from __future__ import annotations

from plantbus.config.devices import Tag
from plantbus.device.samples import SampleFilter
from plantbus.sdk.driver import Quality, Reading
from plantbus.v1 import telemetry_pb2

TEMP = Tag(name="temp", address="t", data_type="float32", unit="degC", deadband=0.5)
RAW = Tag(name="raw", address="r", data_type="uint16", scale=0.1, offset=-10)


def test_deadband_holds_small_moves_and_refresh_republishes() -> None:
    f = SampleFilter("s/a/l/m", [TEMP], refresh_s=60)
    first = f.accept(Reading("temp", 20.0), now=0)
    assert first is not None and first.path == "s/a/l/m/temp" and first.sequence == 1
    assert f.accept(Reading("temp", 20.4), now=1) is None
    moved = f.accept(Reading("temp", 20.6), now=2)
    assert moved is not None and moved.value.double_value == 20.6 and moved.sequence == 2
    assert f.accept(Reading("temp", 20.6), now=61) is None
    refreshed = f.accept(Reading("temp", 20.6), now=62.1)
    assert refreshed is not None and refreshed.sequence == 3


def test_quality_change_is_always_published_with_reason() -> None:
    f = SampleFilter("s/a/l/m", [TEMP])
    f.accept(Reading("temp", 20.0), now=0)
    bad = f.accept(Reading.bad("temp", "connection refused"), now=1)
    assert bad is not None
    assert bad.quality == telemetry_pb2.QUALITY_BAD and bad.quality_reason == "connection refused"
    assert bad.value.WhichOneof("kind") is None
    assert f.accept(Reading.bad("temp", "connection refused"), now=2) is None
    good = f.accept(Reading("temp", 20.0, Quality.GOOD), now=3)
    assert good is not None and good.quality == telemetry_pb2.QUALITY_GOOD


def test_scaling_gives_engineering_units() -> None:
    f = SampleFilter("s/a/l/m", [RAW])
    sample = f.accept(Reading("raw", 1234), now=0)
    assert sample is not None and abs(sample.value.double_value - 113.4) < 1e-9
