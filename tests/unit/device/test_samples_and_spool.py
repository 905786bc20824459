"""Deadband, scaling, refresh and quality changes; the bounded spool."""

from __future__ import annotations

from pathlib import Path

from plantbus.config.devices import Tag
from plantbus.device.samples import SampleFilter
from plantbus.device.spool import Spool
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


def test_spool_keeps_order_and_drops_oldest_when_full(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=3000, segment_bytes=1000)
    for i in range(60):
        spool.append(f"subj.{i}", b"x" * 90)
    assert spool.dropped > 0 and spool.size <= 3000 + 1000
    replayed = []
    while len(spool):
        replayed += [s for s, _ in spool.oldest_segment()]
        spool.drop_oldest_segment()
    numbers = [int(s.split(".")[1]) for s in replayed]
    assert numbers == sorted(numbers) and numbers[-1] == 59
    assert len(numbers) + spool.dropped == 60


def test_spool_survives_restart_and_ignores_a_torn_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append("a", b"1")
    spool.append("b", b"2")
    segment = next(tmp_path.glob("*.spool"))
    with segment.open("ab") as out:
        out.write(b"\x00\x05ab")  # a crash mid-append
    again = Spool(tmp_path)
    assert len(again) == 2
    assert again.oldest_segment() == [("a", b"1"), ("b", b"2")]


def test_records_appended_during_a_replay_survive_dropping_the_replayed_segment(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    spool.append("a", b"1")
    replaying = spool.oldest_segment()
    spool.append("b", b"2")  # arrives while "a" is being sent
    spool.drop_oldest_segment()
    assert replaying == [("a", b"1")]
    assert len(spool) == 1 and spool.oldest_segment() == [("b", b"2")]
