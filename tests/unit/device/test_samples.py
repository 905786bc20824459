"""Deadband, scaling, refresh and quality changes."""

from __future__ import annotations

from plantbus.config.devices import Tag
from plantbus.device.samples import SampleFilter
from plantbus.device.wire import Record, sample_of
from plantbus.sdk.driver import Quality, Reading
from plantbus.v1 import telemetry_pb2

TEMP = Tag(name="temp", address="t", data_type="float32", unit="degC", deadband=0.5)
RAW = Tag(name="raw", address="r", data_type="uint16", scale=0.1, offset=-10)


def sample(record: Record | None) -> telemetry_pb2.TagSample | None:
    """The sample a message accepted by the filter carries."""
    return None if record is None else sample_of(record[1])


def test_deadband_holds_small_moves_and_refresh_republishes() -> None:
    f = SampleFilter("s/a/l/m", [TEMP], refresh_s=60)
    first = sample(f.accept(Reading("temp", 20.0), now=0))
    assert first is not None and first.path == "s/a/l/m/temp" and first.sequence == 1
    assert f.accept(Reading("temp", 20.4), now=1) is None
    moved = sample(f.accept(Reading("temp", 20.6), now=2))
    assert moved is not None and moved.value.double_value == 20.6 and moved.sequence == 2
    assert f.accept(Reading("temp", 20.6), now=61) is None
    refreshed = sample(f.accept(Reading("temp", 20.6), now=62.1))
    assert refreshed is not None and refreshed.sequence == 3


def test_quality_change_is_always_published_with_reason() -> None:
    f = SampleFilter("s/a/l/m", [TEMP])
    f.accept(Reading("temp", 20.0), now=0)
    bad = sample(f.accept(Reading.bad("temp", "connection refused"), now=1))
    assert bad is not None
    assert bad.quality == telemetry_pb2.QUALITY_BAD and bad.quality_reason == "connection refused"
    assert bad.value.WhichOneof("kind") is None
    assert f.accept(Reading.bad("temp", "connection refused"), now=2) is None
    good = sample(f.accept(Reading("temp", 20.0, Quality.GOOD), now=3))
    assert good is not None and good.quality == telemetry_pb2.QUALITY_GOOD


def test_scaling_gives_engineering_units() -> None:
    f = SampleFilter("s/a/l/m", [RAW])
    scaled = sample(f.accept(Reading("raw", 1234), now=0))
    assert scaled is not None and abs(scaled.value.double_value - 113.4) < 1e-9


def test_messages_carry_subject_message_id_and_device() -> None:
    f = SampleFilter("s/a/l/m", [TEMP], device="plc", epoch="e9")
    f.accept(Reading("temp", 20.0), now=0)
    record = f.accept(Reading("temp", 30.0), now=1)
    assert record is not None
    assert record[0] == "plantbus.v1.telemetry.s.a.l.m.temp e9:s/a/l/m/temp:2"
    batch = telemetry_pb2.TagSampleBatch.FromString(record[1])
    assert batch.device == "plc" and batch.samples[0].unit == "degC"
    assert batch.samples[0].receive_time.seconds == 1 == batch.samples[0].source_time.seconds


def test_bad_tags_counts_tags_whose_last_sample_is_bad() -> None:
    other = Tag(name="other", address="o", data_type="float32")
    f = SampleFilter("s/a/l/m", [TEMP, other])
    f.accept(Reading.bad("temp", "gone"), now=0)
    f.accept(Reading.bad("other", "gone"), now=0)
    assert f.bad_tags() == 2
    f.accept(Reading.bad("temp", "still gone"), now=1, force=True)
    assert f.bad_tags() == 2
    f.accept(Reading("temp", 1.0), now=2)
    assert f.bad_tags() == 1
