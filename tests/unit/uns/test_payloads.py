"""The namespace's JSON: the UMH/Kepware sample shape, plain numbers, named enums and
millisecond timestamps for the events, and no NaN anywhere."""

from __future__ import annotations

import json

import pytest

from plantbus.kit.codec import timestamp
from plantbus.uns import payloads
from plantbus.v1 import oee_pb2, telemetry_pb2


def tag(value: telemetry_pb2.TagValue, **fields: object) -> telemetry_pb2.TagSample:
    return telemetry_pb2.TagSample(path="s/a/l/m/t", value=value, unit="kW", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("quality", "name"),
    [
        (telemetry_pb2.QUALITY_GOOD, "good"),
        (telemetry_pb2.QUALITY_UNCERTAIN, "uncertain"),
        (telemetry_pb2.QUALITY_BAD, "bad"),
        (telemetry_pb2.QUALITY_UNSPECIFIED, "bad"),
    ],
)
def test_a_sample_is_timestamp_value_quality_unit(quality: int, name: str) -> None:
    sample = tag(
        telemetry_pb2.TagValue(int_value=-3),
        source_time=timestamp(1.5),
        receive_time=timestamp(9),
        quality=quality,
    )
    assert payloads.sample(sample) == {
        "timestamp_ms": 1500,
        "value": -3,
        "quality": name,
        "unit": "kW",
    }


def test_a_sample_without_source_time_is_stamped_when_received_and_nan_is_null() -> None:
    sample = tag(telemetry_pb2.TagValue(double_value=float("nan")), receive_time=timestamp(2))
    out = payloads.sample(sample)
    assert (out["timestamp_ms"], out["value"]) == (2000, None)
    assert json.loads(payloads.encode(out))["value"] is None
    empty = payloads.sample(tag(telemetry_pb2.TagValue(), receive_time=timestamp(2)))
    assert empty["value"] is None


def test_events_keep_field_names_with_numbers_enum_names_and_milliseconds() -> None:
    snapshot = oee_pb2.OeeSnapshot(
        scope="s/a/l", time=timestamp(3), total_count=2**40, downtime_by_reason={"jam": 1.5}
    )
    out = payloads.plain(snapshot)
    assert out["total_count"] == 2**40  # a number, not protobuf JSON's string
    assert out["time_ms"] == 3000 and "time" not in out
    assert "availability" not in out  # unset optional: not there rather than 0
    assert out["downtime_by_reason"] == {"jam": 1.5}
    stop = payloads.plain(
        oee_pb2.DowntimeEvent(
            machine="s/a/l/m", kind=oee_pb2.DOWNTIME_KIND_ENDED, start=timestamp(1)
        )
    )
    assert stop["kind"] == "ended" and stop["start_ms"] == 1000 and "end_ms" not in stop


def test_topics_cannot_collide_with_plant_names() -> None:
    assert payloads.tag_topic("uns", "s/a/l/m/t") == "uns/s/a/l/m/t"
    assert payloads.oee_topic("uns/x", "s/a/l") == "uns/x/s/a/l/_oee"
    assert payloads.alarm_topic("uns", "s/a/l/m", "hot") == "uns/s/a/l/m/_alarms/hot"
    assert payloads.downtime_topic("uns", "s/a/l/m") == "uns/s/a/l/m/_downtime"
